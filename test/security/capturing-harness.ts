import type { INestApplication, LoggerService } from '@nestjs/common';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { inspect } from 'node:util';
import { loadConfig } from '@davpush/config';
import { createDavpushApp } from '../../apps/davpush/src/app.factory';
import { ADMIN_TOKEN, freePort, requester, type Harness } from '../e2e/harness';
import { RedisServer } from '../support/redis-server';

/**
 * Everything the process writes while it runs: Nest's logger (every level, every argument, Errors
 * with their stacks), console.*, and raw writes to stdout/stderr (libraries that bypass both).
 */
export class CapturedOutput implements LoggerService {
  readonly lines: string[] = [];
  private restore?: () => void;

  private push(level: string, args: unknown[]): void {
    this.lines.push(
      `${level} ${args.map((a) => (typeof a === 'string' ? a : inspect(a, { depth: 20, breakLength: Infinity }))).join(' ')}`,
    );
  }

  log(...args: unknown[]) {
    this.push('log', args);
  }
  error(...args: unknown[]) {
    this.push('error', args);
  }
  warn(...args: unknown[]) {
    this.push('warn', args);
  }
  debug(...args: unknown[]) {
    this.push('debug', args);
  }
  verbose(...args: unknown[]) {
    this.push('verbose', args);
  }
  fatal(...args: unknown[]) {
    this.push('fatal', args);
  }

  /** Also take console.* and process.stdout/stderr writes until `stop()`. */
  start(): this {
    const methods = ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const;
    const saved = methods.map((m) => console[m]);
    methods.forEach((m) => (console[m] = (...args: unknown[]) => this.push(`console.${m}`, args)));
    const out = process.stdout.write.bind(process.stdout);
    const err = process.stderr.write.bind(process.stderr);
    const tap = (name: string, original: typeof out) =>
      ((chunk: unknown, ...rest: unknown[]) => {
        this.push(name, [String(chunk)]);
        return (original as (...a: unknown[]) => boolean)(chunk, ...rest);
      }) as typeof out;
    process.stdout.write = tap('stdout', out);
    process.stderr.write = tap('stderr', err);
    this.restore = () => {
      methods.forEach((m, i) => (console[m] = saved[i]!));
      process.stdout.write = out;
      process.stderr.write = err;
    };
    return this;
  }

  stop(): void {
    this.restore?.();
    this.restore = undefined;
  }

  text(): string {
    return this.lines.join('\n');
  }
}

export interface CapturingHarness {
  app: INestApplication;
  redis: RedisServer;
  baseUrl: string;
  request: Harness['request'];
  close(): Promise<void>;
}

/** test/e2e/harness.ts's startHarness, with a logger of our own instead of none. */
export async function startCapturingHarness(
  env: Record<string, string>,
  logger: LoggerService,
): Promise<CapturingHarness> {
  const redis = await RedisServer.start();
  const port = await freePort();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'davpush-sec-'));
  const config = loadConfig({
    HOST: '127.0.0.1',
    PORT: String(port),
    REDIS_URL: redis.url,
    DAVPUSH_DATA_DIR: dataDir,
    DAVPUSH_ADMIN_TOKEN: ADMIN_TOKEN,
    DAVPUSH_VAPID_SUBJECT: 'mailto:ops@davpush.test',
    DAVPUSH_ALLOW_PRIVATE_PUSH_ENDPOINTS: '1',
    ...env,
  });
  const app = await createDavpushApp(config, { api: true, worker: true }, logger);
  await app.listen(port, '127.0.0.1');
  const baseUrl = `http://127.0.0.1:${port}`;
  return {
    app,
    redis,
    baseUrl,
    request: requester(baseUrl),
    async close() {
      await app.close();
      await redis.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
