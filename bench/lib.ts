import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '../..');
export const DIST = path.join(ROOT, 'dist');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function until(fn: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`bench: timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** Runs `fn` over `items`, `width` at a time. */
export async function inParallel<T>(items: T[], fn: (t: T) => Promise<unknown>, width = 32): Promise<void> {
  for (let i = 0; i < items.length; i += width) await Promise.all(items.slice(i, i + width).map(fn));
}

/** A node child process (the service under test, or a baseline), with its output kept for errors. */
export class Child {
  output = '';
  readonly exited: Promise<number | null>;
  constructor(readonly proc: ChildProcess) {
    proc.stdout?.on('data', (c: Buffer) => (this.output += c.toString()));
    proc.stderr?.on('data', (c: Buffer) => (this.output += c.toString()));
    this.exited = new Promise((r) => proc.once('exit', (code) => r(code)));
  }

  static node(script: string, args: string[], env: Record<string, string>, nodeFlags: string[] = []): Child {
    return new Child(
      spawn(process.execPath, [...nodeFlags, script, ...args], {
        env: { ...process.env, ...env },
        stdio: ['pipe', 'pipe', 'pipe'],
      }),
    );
  }

  /** Asks a child that answers stdin lines with `<word> <n>` (the push sink) for its number. */
  async ask(word: string): Promise<number> {
    const seen = this.output.length;
    this.proc.stdin!.write('?\n');
    let n: number | undefined;
    await until(
      () => {
        const m = new RegExp(`${word} (\\d+)`).exec(this.output.slice(seen));
        if (m) n = Number(m[1]);
        return n !== undefined;
      },
      10_000,
      `${word} from child`,
    );
    return n!;
  }

  /** Sends `command` and returns the JSON of the answer line `<command> <json>`. */
  async askJson<T>(command: string): Promise<T> {
    const seen = this.output.length;
    this.proc.stdin!.write(`${command}\n`);
    let value: T | undefined;
    await until(
      () => {
        const m = new RegExp(`${command} (.*)\n`).exec(this.output.slice(seen));
        if (m) value = JSON.parse(m[1]!) as T;
        return value !== undefined;
      },
      10_000,
      `${command} from child`,
    );
    return value!;
  }

  async waitFor(text: string, timeoutMs = 30_000): Promise<void> {
    await until(
      () => {
        if (this.proc.exitCode !== null) throw new Error(`child exited early:\n${this.output.slice(-2000)}`);
        return this.output.includes(text);
      },
      timeoutMs,
      `"${text}"`,
    );
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode !== null) return;
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 15_000);
    await this.exited;
    clearTimeout(timer);
  }
}

/**
 * CPU time (user + system, all threads) a process has used so far, in ms, from /proc/<pid>/stat
 * (Linux; clock ticks of 10 ms, the kernel's USER_HZ of 100). Undefined where there is no /proc.
 */
export function processCpuMs(pid: number | undefined): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}

export function median(xs: number[]): number {
  const s = xs.toSorted((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

export function percentile(xs: number[], p: number): number {
  const s = xs.toSorted((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
}

export const ratioOf = (o: number, b: number) => Math.round((o / b) * 100) / 100;

export interface Figure {
  name: string;
  unit: string;
  ours: number;
  baseline: number;
  baselineName: string;
  ratio: number;
  /** Least ratio wanted (higher is better); 0 = information only, unless `targetText` says otherwise. */
  target: number;
  /** A target that is not a least ratio (a latency bound, bytes at most), and whether it is met. */
  targetText?: string;
  met?: boolean;
  runs: { ours: number[]; baseline: number[] };
}

/** One figure from its rounds: medians of ours and the baseline side by side, and their ratio. */
export function figure(
  name: string,
  unit: string,
  ours: number[],
  baseline: number[],
  baselineName: string,
  target: number,
): Figure {
  const o = median(ours);
  const b = median(baseline);
  return {
    name,
    unit,
    ours: Math.round(o),
    baseline: Math.round(b),
    baselineName,
    ratio: Math.round((o / b) * 100) / 100,
    target,
    runs: { ours: ours.map(Math.round), baseline: baseline.map(Math.round) },
  };
}
