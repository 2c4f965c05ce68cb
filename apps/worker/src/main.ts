import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ProbesModule } from '@davpush/observability';
import { CoreModule, createLogger, installShutdown, prepareRuntime } from '@davpush/runtime';
import { WorkerModule } from './worker.module';

/**
 * `npm run start:worker`: the BullMQ processors alone, no HTTP API. It still listens on
 * DAVPUSH_WORKER_PORT (HOST) for `/health/live`, `/health/ready` and `/metrics` only, so an
 * orchestrator can probe it and Prometheus can scrape its delivery counters (docs/operations.md).
 */
async function main(): Promise<void> {
  const runtime = await prepareRuntime();
  const { config } = runtime;
  const logger = createLogger(config);

  @Module({ imports: [CoreModule.forRoot(config), WorkerModule, ProbesModule] })
  class WorkerRoot {}

  // No body parser: nothing here accepts a body.
  const app = await NestFactory.create(WorkerRoot, { bodyParser: false, logger, abortOnError: false });
  const express = app.getHttpAdapter().getInstance() as { disable(name: string): void };
  express.disable('x-powered-by');
  installShutdown(app, runtime, logger);
  await app.listen(config.operations.workerPort, config.http.host);
  logger.log({ msg: 'worker started', concurrency: config.worker.concurrency, probes: await app.getUrl() }, 'Bootstrap');
}

void main().catch((err: Error) => {
  process.stderr.write(`davpush worker: could not start: ${err.message}\n`);
  process.exit(1);
});
