import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { CoreModule, createLogger, installShutdown, prepareRuntime } from '@davpush/runtime';
import { WorkerModule } from './worker.module';

/** `npm run start:worker`: the BullMQ processors alone, no HTTP API. */
async function main(): Promise<void> {
  const runtime = await prepareRuntime();
  const logger = createLogger(runtime.config);

  @Module({ imports: [CoreModule.forRoot(runtime.config), WorkerModule] })
  class WorkerRoot {}

  const app = await NestFactory.createApplicationContext(WorkerRoot, { logger });
  await app.init();
  installShutdown(app, runtime, logger);
  logger.log({ msg: 'worker started', concurrency: runtime.config.worker.concurrency }, 'Bootstrap');
}

void main();
