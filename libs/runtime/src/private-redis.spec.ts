import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAX_UNIX_SOCKET_PATH, privateSocketPath, socketPathProblem } from './private-redis';

describe('private Redis socket path', () => {
  it('stays in the data dir when it fits a Unix socket', () => {
    expect(privateSocketPath('/srv/davpush/data')).toBe('/srv/davpush/data/redis/redis.sock');
  });

  it('falls back to a private directory under the temp dir for a deep data dir, the same one every time', () => {
    const deep = path.join(os.tmpdir(), 'x'.repeat(120));
    const socket = privateSocketPath(deep);
    expect(Buffer.byteLength(socket)).toBeLessThanOrEqual(MAX_UNIX_SOCKET_PATH);
    expect(path.basename(socket)).toBe('redis.sock');
    expect(fs.statSync(path.dirname(socket)).mode & 0o777).toBe(0o700);
    expect(privateSocketPath(deep)).toBe(socket);
    const other = privateSocketPath(`${deep}-other`);
    expect(other).not.toBe(socket);
    for (const s of [socket, other]) fs.rmSync(path.dirname(s), { recursive: true, force: true });
  });

  it('refuses a fallback directory that is not private to this user', () => {
    const deep = path.join(os.tmpdir(), 'y'.repeat(120));
    const socket = privateSocketPath(deep);
    fs.chmodSync(path.dirname(socket), 0o755);
    expect(() => privateSocketPath(deep)).toThrow(/is not a private directory of this user/);
    fs.rmSync(path.dirname(socket), { recursive: true, force: true });
  });

  it('says how long a socket path is and what fits', () => {
    expect(socketPathProblem('/tmp/redis.sock')).toBeUndefined();
    const long = `/${'z'.repeat(110)}`;
    expect(socketPathProblem(long)).toBe(
      `unix socket path is 111 bytes, too long for a Unix socket (at most 103: sun_path is 108 bytes on Linux, 104 on macOS): ${long}`,
    );
  });
});
