import 'reflect-metadata';
import type { LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { AppConfig } from '@davpush/config';
import { within } from '@davpush/observability';
import { CoreModule, prepareRuntime } from '@davpush/runtime';
import { createRedisClient } from '@davpush/storage';
import { runCli, type OpenContext } from './cli';

/**
 * Errors to stderr, nothing else: stdout carries the command's answer (and --json). Warnings are
 * dropped: start-up ones (placeholder VAPID subject) would repeat on every command, and `vapid show`
 * reports it; a command that fails says why itself.
 */
const stderrLogger: LoggerService = {
  log: () => undefined,
  warn: () => undefined,
  error: (message: unknown) => process.stderr.write(`davpush: ${text(message)}\n`),
};

function text(message: unknown): string {
  if (typeof message === 'string') return message;
  const m = message as { msg?: unknown; message?: unknown } | null;
  return typeof m?.msg === 'string' ? m.msg : typeof m?.message === 'string' ? m.message : JSON.stringify(message);
}

/** The service's Redis (REDIS_URL, or the private redis-server, reused if running, else started for this command). */
const open: OpenContext = async () => {
  const runtime = await prepareRuntime();
  try {
    await reachRedis(runtime.config);
    const app = await NestFactory.createApplicationContext(CoreModule.forRoot(runtime.config), { logger: stderrLogger, abortOnError: false });
    return {
      app,
      async close() {
        await app.close();
        await runtime.redis?.stop();
      },
    };
  } catch (err) {
    await runtime.redis?.stop();
    throw err;
  }
};

/**
 * One PING before Nest starts: an unreachable Redis becomes one clear line instead of BullMQ's
 * reconnect noise and a retry-limit message.
 */
async function reachRedis(config: AppConfig): Promise<void> {
  const client = createRedisClient(config, { name: 'davpush-cli' });
  client.on('error', () => undefined); // reported below, once
  try {
    await within(client.ping(), 5000, 'Redis');
  } catch (err) {
    const where = config.redis.url?.replace(/\/\/[^@/]*@/, '//[redacted]@') ?? 'REDIS_CLUSTER_NODES';
    throw new Error(`cannot reach Redis at ${where} (${(err as Error).message}); is it running, and is REDIS_URL the service's?`, { cause: err });
  } finally {
    client.disconnect();
  }
}

void runCli(process.argv.slice(2), { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) }, open).then(
  (code) => finish(code),
  (err: Error) => {
    process.stderr.write(`davpush: ${err.message}\n`);
    finish(1);
  },
);

/** Lets stdout drain; a connection some library keeps open must not hang the shell, hence the timer. */
function finish(code: number): void {
  process.exitCode = code;
  setTimeout(() => process.exit(code), 1000).unref();
}
