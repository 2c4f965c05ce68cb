import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { onProcessExit } from './process-exit';

/**
 * A private `redis-server` for one test file (README "Tests and benchmarks": real Redis, no Docker, no mocks),
 * reachable only through a unix socket in its own temp dir.
 *
 * Every instance is registered: `RedisServer.stopAll()` is there for `afterAll`, and a process
 * `exit` / `SIGTERM` / `SIGINT` hook SIGKILLs whatever is still running (Vitest ends its forks with
 * SIGTERM, which skips `exit` handlers). Temp dirs this class created are removed on exit.
 */
export interface RedisServerOptions {
  /** Turn on the append-only file, so data survives stop/kill + restart. Default false. */
  appendonly?: boolean;
  /** Data dir (AOF, `dump.rdb`). Default: the instance's own temp dir. Reused across restart(). */
  dir?: string;
}

const START_TIMEOUT_MS = 10_000;
const STOP_GRACE_MS = 5_000;
const MAX_SOCKET_PATH = 103; // sun_path is 108 bytes on Linux, 104 on macOS; keep room for the NUL.

export class RedisServer {
  private static readonly live = new Set<RedisServer>();
  private static readonly ownedDirs = new Set<string>();
  private static hooked = false;

  private child?: ChildProcess;
  private output = '';

  readonly url: string;

  private constructor(
    readonly socketPath: string,
    readonly dir: string,
    readonly appendonly: boolean,
  ) {
    this.url = `unix://${socketPath}`;
  }

  static async start(opts: RedisServerOptions = {}): Promise<RedisServer> {
    RedisServer.installHooks();
    const base = fs.mkdtempSync(path.join(os.tmpdir(), 'dpr-'));
    RedisServer.ownedDirs.add(base);
    const socketPath = path.join(base, 'redis.sock');
    if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH) {
      throw new Error(`unix socket path too long (${socketPath}); set TMPDIR to a shorter directory such as /tmp`);
    }
    const dir = opts.dir ? path.resolve(opts.dir) : base;
    fs.mkdirSync(dir, { recursive: true });
    const server = new RedisServer(socketPath, dir, opts.appendonly ?? false);
    RedisServer.live.add(server);
    await server.spawn();
    return server;
  }

  /** Stops every instance this process started (for a global `afterAll`). */
  static async stopAll(): Promise<void> {
    await Promise.all([...RedisServer.live].map((s) => s.stop()));
  }

  /** PID of the running redis-server, undefined when stopped. */
  get pid(): number | undefined {
    return this.running ? this.child?.pid : undefined;
  }

  /**
   * SIGSTOP: the server lives and its socket stays open, but nothing answers (a hung Redis, a
   * silent network partition). `thaw` (or `stop`) ends it.
   */
  freeze(): void {
    process.kill(this.pid!, 'SIGSTOP');
  }

  /** SIGCONT after `freeze`; does nothing to a server that is not frozen or not running. */
  thaw(): void {
    if (this.pid) process.kill(this.pid, 'SIGCONT');
  }

  get running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** SIGTERM (Redis flushes the AOF and exits), SIGKILL after 5 s. Safe to call twice. */
  async stop(): Promise<void> {
    // A frozen server would not act on SIGTERM until SIGKILL.
    this.thaw();
    await this.terminate('SIGTERM');
  }

  /** SIGKILL, as in a crash: only what already reached the AOF survives. */
  async kill(): Promise<void> {
    await this.terminate('SIGKILL');
  }

  /** Stops the server if it still runs, then starts it again on the same data dir and socket. */
  async restart(): Promise<void> {
    await this.stop();
    RedisServer.live.add(this);
    await this.spawn();
  }

  private async spawn(): Promise<void> {
    this.output = '';
    const args = [
      '--port',
      '0',
      '--unixsocket',
      this.socketPath,
      '--unixsocketperm',
      '700',
      '--save',
      '',
      '--appendonly',
      this.appendonly ? 'yes' : 'no',
      '--dir',
      this.dir,
      '--daemonize',
      'no',
      // BullMQ requires that Redis never evicts its keys.
      '--maxmemory-policy',
      'noeviction',
    ];
    const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (c: Buffer) => {
      this.output = (this.output + c.toString()).slice(-4000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (err: NodeJS.ErrnoException) => {
        reject(
          err.code === 'ENOENT'
            ? new Error(
                'redis-server was not found on PATH. Install it: `apt-get install redis-server` (macOS: `brew install redis`).',
              )
            : err,
        );
      });
    });
    this.child = child;
    // A forgotten server must not keep the test process alive; the exit hooks still kill it.
    child.unref();
    (child.stdout as net.Socket | null)?.unref();
    (child.stderr as net.Socket | null)?.unref();

    const until = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < until) {
      if (!this.running) {
        throw new Error(`redis-server exited at start (${child.exitCode ?? child.signalCode}): ${this.output.trim()}`);
      }
      if (await ping(this.socketPath)) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    await this.kill();
    throw new Error(
      `redis-server did not answer PING on ${this.socketPath} within ${START_TIMEOUT_MS} ms: ${this.output.trim()}`,
    );
  }

  private async terminate(signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
    const child = this.child;
    RedisServer.live.delete(this);
    if (!child || !this.running) return;
    await new Promise<void>((resolve) => {
      const timer = signal === 'SIGTERM' ? setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS) : undefined;
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      child.kill(signal);
    });
  }

  private static installHooks(): void {
    if (RedisServer.hooked) return;
    RedisServer.hooked = true;
    const cleanUp = () => {
      for (const s of RedisServer.live) {
        if (s.running) s.child?.kill('SIGKILL');
      }
      RedisServer.live.clear();
      for (const d of RedisServer.ownedDirs) {
        try {
          fs.rmSync(d, { recursive: true, force: true });
        } catch {
          // Best effort: a killed server may still be closing files.
        }
      }
      RedisServer.ownedDirs.clear();
    };
    onProcessExit(cleanUp);
  }
}

/** True when the server answers `+PONG` (not `-LOADING` while it replays the AOF). */
function ping(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    if (!fs.existsSync(socketPath)) return resolve(false);
    const s = net.createConnection({ path: socketPath });
    let reply = '';
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(1000, () => done(false));
    s.once('error', () => done(false));
    s.once('connect', () => s.write('PING\r\n'));
    s.on('data', (c: Buffer) => {
      reply += c.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}
