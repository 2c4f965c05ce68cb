import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';

/**
 * The redis-server `npm start` runs when REDIS_URL is unset (CONTRACT §1): data with AOF under
 * <dataDir>/redis, reachable only through a unix socket with mode 700. A second process started on
 * the same data dir (start:api + start:worker) reuses the running one; only the spawner stops it.
 */
export class PrivateRedis {
  private constructor(
    readonly url: string,
    private readonly child?: ChildProcess,
  ) {}

  static async ensure(dataDir: string): Promise<PrivateRedis> {
    const dir = path.join(dataDir, 'redis');
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const socket = path.join(dir, 'redis.sock');
    const url = `unix://${socket}`;
    if (await ping(socket)) return new PrivateRedis(url);
    const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
    if (probe.error) {
      throw new Error(
        'redis-server was not found on PATH. Install it (Debian/Ubuntu: `sudo apt-get install redis-server`, macOS: `brew install redis`) or set REDIS_URL to an existing Redis 6.2+.',
      );
    }
    const child = spawn(
      'redis-server',
      [
        '--port', '0',
        '--unixsocket', 'redis.sock',
        '--unixsocketperm', '700',
        '--dir', '.',
        '--appendonly', 'yes',
        '--appendfsync', 'everysec',
        '--save', '',
        // BullMQ requires that Redis never evicts its keys.
        '--maxmemory-policy', 'noeviction',
        '--daemonize', 'no',
      ],
      { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    for (let i = 0; i < 100; i++) {
      if (child.exitCode !== null) throw new Error(`redis-server exited at start: ${stderr.trim() || `code ${child.exitCode}`}`);
      if (await ping(socket)) return new PrivateRedis(url, child);
      await new Promise((r) => setTimeout(r, 100));
    }
    child.kill('SIGKILL');
    throw new Error('redis-server did not answer within 10 s');
  }

  get spawned(): boolean {
    return !!this.child;
  }

  /** Stops the server if this process started it (SIGTERM: Redis flushes the AOF and exits). */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      child.kill('SIGTERM');
    });
  }
}

function ping(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    if (!fs.existsSync(socketPath)) return resolve(false);
    const s = net.createConnection({ path: socketPath });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(1000, () => done(false));
    s.on('error', () => done(false));
    s.on('connect', () => s.write('PING\r\n'));
    s.on('data', (d) => done(d.toString().startsWith('+PONG')));
  });
}
