import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort } from '../e2e/harness';

const ROOT = path.resolve(__dirname, '../..');
const START = path.join(ROOT, 'bin/start.js');

export interface StartOptions {
  role?: 'davpush' | 'api' | 'worker';
  /** `node`: bin/start.js directly (what `npm start` execs); `npm`: through `npm start`. */
  via?: 'node' | 'npm';
  env?: Record<string, string>;
  /** Wait for the banner (default), or only for the process to exit (start-up failures). */
  waitFor?: 'banner' | 'exit';
}

/** One JSON log line as ConsoleLogger writes it in JSON mode. */
export interface JsonLine {
  level: string;
  pid: number;
  message: Record<string, unknown> | string;
  context?: string;
}

/**
 * The real service as an OS process, the way an operator starts it (`npm start`, or the node entry
 * it execs), in a process group of its own so a test can send the terminal's Ctrl-C (SIGINT to the
 * whole group). Needs the compiled app: `npm test` builds first (pretest).
 */
export class ServiceProcess {
  output = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;

  private constructor(
    readonly child: ChildProcess,
    readonly dataDir: string,
    readonly port: number,
    readonly via: 'node' | 'npm',
  ) {
    child.stdout?.on('data', (c: Buffer) => (this.output += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (this.output += c.toString()));
    // 'close', not 'exit': the last lines are read only once stdout and stderr have ended.
    this.exited = new Promise((resolve) =>
      child.once('close', (code, signal) => resolve({ code, signal, at: Date.now() })),
    );
  }

  private static readonly ownedDirs = new Set<string>();

  /** A fresh data dir under the temp dir (short enough for the private Redis' socket); removed by `removeDataDirs()`. */
  static dataDir(): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dps-'));
    ServiceProcess.ownedDirs.add(dir);
    return dir;
  }

  /** Removes every data dir `dataDir()` made, and `extra` paths (a fallback socket dir). */
  static removeDataDirs(...extra: string[]): void {
    for (const dir of [...ServiceProcess.ownedDirs, ...extra]) fs.rmSync(dir, { recursive: true, force: true });
    ServiceProcess.ownedDirs.clear();
  }

  static async start(opts: StartOptions & { dataDir?: string } = {}): Promise<ServiceProcess> {
    const role = opts.role ?? 'davpush';
    if (!fs.existsSync(path.join(ROOT, 'dist/apps', role, 'src/main.js')))
      throw new Error('dist is missing: run `npm run build` (npm test does it in pretest)');
    const port = await freePort();
    const dataDir = opts.dataDir ?? ServiceProcess.dataDir();
    const env = {
      ...process.env,
      PORT: String(port),
      DAVPUSH_WORKER_PORT: String(port),
      DAVPUSH_DATA_DIR: dataDir,
      DAVPUSH_LOG_FORMAT: 'json',
      DAVPUSH_LOG_LEVEL: 'log',
      ...opts.env,
    };
    const via = opts.via ?? 'node';
    const script = role === 'davpush' ? 'start' : `start:${role}`;
    const [cmd, args] = via === 'npm' ? ['npm', ['run', '--silent', script]] : [process.execPath, [START, role]];
    const child = spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const s = new ServiceProcess(child, dataDir, port, via);
    if (opts.waitFor === 'exit') {
      await Promise.race([
        s.exited,
        new Promise((_, reject) =>
          setTimeout(() => reject(new Error(`did not exit within 30 s:\n${s.output}`)), 30_000),
        ),
      ]);
      return s;
    }
    const until = Date.now() + 30_000;
    while (!s.banner()) {
      if (child.exitCode !== null) throw new Error(`exited at start:\n${s.output}`);
      if (Date.now() > until) throw new Error(`did not start within 30 s:\n${s.output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return s;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Every output line that parses as JSON. */
  json(): JsonLine[] {
    return this.output
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .flatMap((l) => {
        try {
          return [JSON.parse(l) as JsonLine];
        } catch {
          return [];
        }
      });
  }

  /** Output lines that are not JSON log lines (none are allowed in JSON mode). */
  nonJson(): string[] {
    return this.output.split('\n').filter((l) => l.trim() !== '' && !isJsonLine(l));
  }

  /** The start-up banner's fields. */
  banner(): Record<string, unknown> | undefined {
    const line = this.json().find((l) => typeof l.message === 'object' && /started on /.test(String(l.message.msg)));
    return line?.message as Record<string, unknown> | undefined;
  }

  /** The service's node process id (from its log lines: under npm it is not our child). */
  get nodePid(): number {
    return this.json()[0]?.pid ?? this.child.pid!;
  }

  /** SIGTERM/SIGINT to the node process, to `npm` (when started through it), or to the whole process group (Ctrl-C). */
  signal(sig: NodeJS.Signals, to: 'node' | 'npm' | 'group' = 'node'): void {
    if (to === 'group') process.kill(-this.child.pid!, sig);
    else process.kill(to === 'npm' ? this.child.pid! : this.nodePid, sig);
  }

  /** Resolves with the exit and how long after `since` it came; rejects after `ms`. */
  async exitWithin(
    ms: number,
    since = Date.now(),
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }> {
    const timeout = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`still running ${ms} ms after the signal:\n${this.output.slice(-3000)}`)), ms),
    );
    const e = await Promise.race([this.exited, timeout]);
    return { code: e.code, signal: e.signal, ms: e.at - since };
  }

  /** Kills whatever is left (test clean-up): the group, and any process still naming our data dir. */
  async kill(): Promise<void> {
    try {
      process.kill(-this.child.pid!, 'SIGKILL');
    } catch {
      /* gone */
    }
    for (const p of processesMatching(this.dataDir)) process.kill(p.pid, 'SIGKILL');
  }
}

function isJsonLine(l: string): boolean {
  try {
    return typeof JSON.parse(l) === 'object';
  } catch {
    return false;
  }
}

/** Live processes (zombies excluded) whose command line contains `text`, or whose pid is `text`. */
export function processesMatching(text: string | number): { pid: number; args: string }[] {
  const out = execFileSync('ps', ['-eo', 'pid=,stat=,args='], { encoding: 'utf8' });
  return out
    .split('\n')
    .map((l) => /^\s*(\d+)\s+(\S+)\s+(.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => !!m && !m[2]!.startsWith('Z'))
    .map((m) => ({ pid: Number(m[1]), args: m[3]! }))
    .filter((p) => (typeof text === 'number' ? p.pid === text : p.args.includes(text)));
}
