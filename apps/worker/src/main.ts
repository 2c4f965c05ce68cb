import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ProbesModule } from '@davpush/observability';
import { CoreModule, launch } from '@davpush/runtime';
import { WorkerModule } from './worker.module';

/**
 * `npm run start:worker`: the BullMQ processors alone, no HTTP API. It still listens on
 * DAVPUSH_WORKER_PORT (HOST) for `/health/live`, `/health/ready` and `/metrics` only, so an
 * orchestrator can probe it and Prometheus can scrape its delivery counters (docs/operations.md).
 */
void launch({
  name: 'davpush worker',
  api: false,
  async create(runtime, logger) {
    @Module({ imports: [CoreModule.forRoot(runtime.config), WorkerModule, ProbesModule] })
    class WorkerRoot {}

    // No body parser: nothing here accepts a body.
    const app = await NestFactory.create(WorkerRoot, { bodyParser: false, logger, abortOnError: false });
    const express = app.getHttpAdapter().getInstance() as { disable(name: string): void };
    express.disable('x-powered-by');
    return app;
  },
  listen: ({ config }) => ({
    port: config.operations.workerPort,
    host: config.http.host,
    portVariable: 'DAVPUSH_WORKER_PORT',
  }),
  baseUrl: async (_runtime, app) => (await app.getUrl()).replace('[::1]', 'localhost'),
  details: ({ config }) => ({ concurrency: String(config.worker.concurrency) }),
});
