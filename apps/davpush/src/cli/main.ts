import 'reflect-metadata';
import type { LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { CoreModule, prepareRuntime, reachRedis } from '@davpush/runtime';
import { isCommandTimeout, StorageTimeoutError } from '@davpush/storage';
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
    const app = await NestFactory.createApplicationContext(CoreModule.forRoot(runtime.config), {
      logger: stderrLogger,
      abortOnError: false,
    });
    return {
      app,
      async close() {
        await app.close();
        await runtime.redis?.stop();
      },
    };
  } catch (err) {
    await runtime.redis?.stop();
    // A store read at start-up (VAPID keys) that Redis did not answer: say which setting bounded it.
    throw isCommandTimeout(err) ? new StorageTimeoutError(runtime.config.redis.commandTimeoutMs) : err;
  }
};

void runCli(
  process.argv.slice(2),
  { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) },
  open,
).then(
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
