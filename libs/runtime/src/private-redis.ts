import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * The longest unix socket path, in bytes, that works everywhere: `sun_path` holds 108 bytes on
 * Linux and 104 on macOS and the BSDs, the NUL included (unix(7), https://man7.org/linux/man-pages/man7/unix.7.html).
 */
export const MAX_UNIX_SOCKET_PATH = 103;

/** "unix socket path too long" in words an operator can act on, or undefined when the path fits. */
export function socketPathProblem(socketPath: string): string | undefined {
  const bytes = Buffer.byteLength(socketPath);
  if (bytes <= MAX_UNIX_SOCKET_PATH) return undefined;
  return `unix socket path is ${bytes} bytes, too long for a Unix socket (at most ${MAX_UNIX_SOCKET_PATH}: sun_path is 108 bytes on Linux, 104 on macOS): ${socketPath}`;
}

/**
 * Where the private Redis listens: `<dataDir>/redis/redis.sock`, or, when that path is too long
 * for a Unix socket (a deep checkout), a directory of ours under the temp dir named after the data
 * dir, so every process on the same data dir still finds the same server.
 */
export function privateSocketPath(dataDir: string): string {
  const inDataDir = path.join(dataDir, 'redis', 'redis.sock');
  if (!socketPathProblem(inDataDir)) return inDataDir;
  const tag = createHash('sha256').update(path.resolve(dataDir)).digest('hex').slice(0, 16);
  for (const base of [os.tmpdir(), '/tmp']) {
    const dir = path.join(base, `davpush-${process.getuid?.() ?? 0}-${tag}`);
    const socket = path.join(dir, 'redis.sock');
    if (!socketPathProblem(socket)) {
      ownPrivateDir(dir);
      return socket;
    }
  }
  throw new Error(socketPathProblem(inDataDir));
}

/** A directory only we can use: created mode 700, or refused when someone else owns it or it is a symlink. */
function ownPrivateDir(dir: string): void {
  try {
    fs.mkdirSync(dir, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const st = fs.lstatSync(dir);
  const uid = process.getuid?.();
  if (!st.isDirectory() || (uid !== undefined && st.uid !== uid) || (st.mode & 0o077) !== 0) {
    throw new Error(
      `${dir} is not a private directory of this user; remove it, or set DAVPUSH_DATA_DIR to a shorter path`,
    );
  }
}

/**
 * The redis-server `npm start` runs when REDIS_URL is unset: data with AOF under <dataDir>/redis,
 * reachable only through a unix socket with mode 700. A second process started on the same data
 * dir (start:api + start:worker) reuses the running one; only its owner stops it. The owner's pid
 * is in <dataDir>/redis/owner.pid: a server found running whose owner is gone (a crashed or
 * SIGKILLed start) is adopted, and the adopter stops it at its own stop.
 *
 * It runs in a process group of its own, so a Ctrl-C in the terminal (SIGINT to the whole
 * foreground group) reaches davpush only, and davpush stops Redis after its own connections closed.
 */
export class PrivateRedis {
  private constructor(
    readonly url: string,
    private readonly child?: ChildProcess,
    /** The pid of a server left running by an earlier start that is gone, now ours to stop. */
    private readonly adoptedPid?: number,
  ) {}

  static async ensure(dataDir: string): Promise<PrivateRedis> {
    const dir = path.join(dataDir, 'redis');
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const socket = privateSocketPath(dataDir);
    const url = `unix://${socket}`;
    const ownerFile = path.join(dir, 'owner.pid');
    if (await ping(socket)) {
      // It answers on this data dir's private socket (mode 700): it is this data dir's server.
      if (isAlive(readPid(ownerFile))) return new PrivateRedis(url);
      const pid = await serverPid(socket);
      if (pid === undefined) return new PrivateRedis(url);
      fs.writeFileSync(ownerFile, `${process.pid}\n`, { mode: 0o600 });
      return new PrivateRedis(url, undefined, pid);
    }
    // Written before the server answers, so a process started alongside sees an owner at once.
    fs.writeFileSync(ownerFile, `${process.pid}\n`, { mode: 0o600 });
    const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
    if (probe.error) {
      throw new Error(
        'redis-server was not found on PATH. Install it (Debian/Ubuntu: `sudo apt-get install redis-server`, macOS: `brew install redis`) or set REDIS_URL to an existing Redis 6.2+.',
      );
    }
    const child = spawn(
      'redis-server',
      [
        '--port',
        '0',
        '--unixsocket',
        socket,
        '--unixsocketperm',
        '700',
        '--dir',
        '.',
        '--appendonly',
        'yes',
        '--appendfsync',
        'everysec',
        '--save',
        '',
        // BullMQ requires that Redis never evicts its keys.
        '--maxmemory-policy',
        'noeviction',
        '--daemonize',
        'no',
      ],
      { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], detached: true },
    );
    const server = new PrivateRedis(url, child);
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    for (let i = 0; i < 100; i++) {
      if (child.exitCode !== null)
        throw new Error(`redis-server exited at start: ${stderr.trim() || `code ${child.exitCode}`}`);
      if (await ping(socket)) {
        // Our own exit must not wait for the server's stderr pipe.
        child.stderr?.destroy();
        child.unref();
        return server;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    child.kill('SIGKILL');
    throw new Error('redis-server did not answer within 10 s');
  }

  /** Ours to stop: spawned by this process, or adopted from an earlier start that is gone. */
  get spawned(): boolean {
    return !!this.child || this.adoptedPid !== undefined;
  }

  /** Left running by an earlier start that is gone, and adopted by this one. */
  get adopted(): boolean {
    return this.adoptedPid !== undefined;
  }

  /**
   * Stops the server if this process started it: SIGTERM (Redis flushes the AOF and exits), then
   * SIGKILL when it has not exited within `graceMs`.
   */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.adoptedPid !== undefined) return stopPid(this.adoptedPid, graceMs);
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), Math.max(0, graceMs));
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      child.kill('SIGTERM');
    });
  }

  /** Synchronous last resort for `process.on('exit')`: a server we spawned must not outlive us. */
  killNow(): void {
    if (this.adoptedPid !== undefined) return void signalPid(this.adoptedPid, 'SIGKILL');
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
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

function readPid(file: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * kill(2) with signal 0: the owner still runs (EPERM: it exists, as another user's). Our own pid
 * in the file is a stale one reused by us (a container restarted): its owner is gone.
 */
function isAlive(pid: number | undefined): boolean {
  if (pid === undefined || pid === process.pid) return false;
  return signalPid(pid, 0) !== 'ESRCH';
}

function signalPid(pid: number, signal: NodeJS.Signals | 0): 'ok' | 'ESRCH' | 'other' {
  try {
    process.kill(pid, signal);
    return 'ok';
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH' ? 'ESRCH' : 'other';
  }
}

/** SIGTERM (Redis flushes the AOF and exits), SIGKILL after `graceMs`; resolves once it is gone. */
async function stopPid(pid: number, graceMs: number): Promise<void> {
  if (signalPid(pid, 'SIGTERM') !== 'ok') return;
  const killAt = Date.now() + Math.max(0, graceMs);
  while (signalPid(pid, 0) === 'ok') {
    if (Date.now() >= killAt) {
      signalPid(pid, 'SIGKILL');
      await new Promise((r) => setTimeout(r, 100));
      return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The server's own pid, from `INFO server` (`process_id`), asked over the socket. */
function serverPid(socketPath: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const s = net.createConnection({ path: socketPath });
    let text = '';
    const done = (pid: number | undefined) => {
      s.destroy();
      resolve(pid);
    };
    s.setTimeout(1000, () => done(undefined));
    s.on('error', () => done(undefined));
    s.on('connect', () => s.write('INFO server\r\n'));
    s.on('data', (d) => {
      text += d.toString();
      const m = /\r\nprocess_id:(\d+)\r\n/.exec(text);
      if (m) done(Number(m[1]));
      else if (text.length > 65_536) done(undefined);
    });
  });
}
