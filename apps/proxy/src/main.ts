import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { CoreModule, createLogger, installShutdown, prepareRuntime } from '@davpush/runtime';
import { ProxyModule } from './proxy.module';
import { ProxyServer } from './proxy.server';

/**
 * `npm run start:proxy`: the WebDAV-Push proxy alone (DAVPUSH_PROXY_UPSTREAM required). It accepts
 * registrations and posts events; a worker (`npm run start:worker` or `npm start`) on the same
 * Redis delivers them.
 */
async function main(): Promise<void> {
  const runtime = await prepareRuntime();
  const { config } = runtime;
  if (!config.proxy) {
    process.stderr.write('davpush proxy: DAVPUSH_PROXY_UPSTREAM is not set (the URL of the CalDAV/CardDAV server to front)\n');
    process.exit(1);
  }
  const logger = createLogger(config);

  @Module({ imports: [CoreModule.forRoot(config), ProxyModule] })
  class ProxyRoot {}

  const app = await NestFactory.createApplicationContext(ProxyRoot, { logger, abortOnError: false }).catch(async (err: Error) => {
    // The upstream check runs at boot: stop a redis-server this process spawned before exiting.
    await runtime.redis?.stop();
    throw err;
  });
  installShutdown(app, runtime, logger);
  const proxy = app.get(ProxyServer);
  process.stdout.write(`\n  davpush proxy is listening on ${config.proxy.publicUrl} for ${config.proxy.upstream}\n  proxy tenant: ${proxy.tenantId}\n\n`);
}

void main().catch((err: Error) => {
  process.stderr.write(`davpush proxy: could not start: ${err.message}\n`);
  process.exit(1);
});
