import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { freePort } from '../e2e/harness';

const MAINS = {
  worker: path.resolve('dist/apps/worker/src/main.js'),
  /** `npm start`: API and worker in one process. */
  davpush: path.resolve('dist/apps/davpush/src/main.js'),
};

/**
 * The real worker role as its own OS process (`npm run start:worker`'s entry), or the all-in-one
 * process (`npm start`'s, with `PORT` = {@link port}), so fault tests can SIGKILL and SIGTERM it.
 * Needs the compiled app: `npm test` builds first (pretest).
 */
export class WorkerProcess {
  output = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;

  private constructor(
    readonly child: ChildProcess,
    /** The HTTP port (the all-in-one process's API; the worker's health port). */
    readonly port: number,
  ) {
    child.stdout?.on('data', (c: Buffer) => (this.output += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (this.output += c.toString()));
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
    );
  }

  static async start(env: Record<string, string>, role: keyof typeof MAINS = 'worker'): Promise<WorkerProcess> {
    const main = MAINS[role];
    if (!fs.existsSync(main))
      throw new Error(`${main} is missing: run \`npm run build\` (npm test does it in pretest)`);
    const port = await freePort();
    const child = spawn(process.execPath, [main], {
      env: {
        ...process.env,
        DAVPUSH_LOG_LEVEL: 'log',
        WORKER_HEALTH_PORT: String(port),
        DAVPUSH_WORKER_PORT: String(port),
        PORT: String(port),
        HOST: '127.0.0.1',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const w = new WorkerProcess(child, port);
    const until = Date.now() + 20_000;
    while (!w.output.includes(`${role} started`)) {
      if (child.exitCode !== null) throw new Error(`${role} exited at start:\n${w.output}`);
      if (Date.now() > until) throw new Error(`${role} did not start within 20 s:\n${w.output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return w;
  }

  get pid(): number {
    return this.child.pid!;
  }

  signal(sig: NodeJS.Signals): void {
    if (this.child.exitCode === null) this.child.kill(sig);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.signal('SIGKILL');
    await this.exited;
  }
}
