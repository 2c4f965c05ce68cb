import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { Module } from '@nestjs/common';
import { CoreModule, createLogger, installShutdown, prepareRuntime } from '@davpush/runtime';
import { ApiModule } from './api.module';
import { configureHttp } from './http/configure-http';
import { setupOpenApi } from './openapi/openapi.setup';

/** `npm run start:api`: the HTTP role alone (scale out next to `npm run start:worker` on one Redis). */
async function main(): Promise<void> {
  const runtime = await prepareRuntime();
  const logger = createLogger(runtime.config);

  @Module({ imports: [CoreModule.forRoot(runtime.config), ApiModule] })
  class ApiRoot {}

  const app = await NestFactory.create(ApiRoot, { bodyParser: false, logger });
  configureHttp(app);
  setupOpenApi(app, runtime.config.http.publicUrl);
  installShutdown(app, runtime, logger);
  await app.listen(runtime.config.http.port, runtime.config.http.host);
  logger.log({ msg: 'api listening', url: runtime.config.http.publicUrl }, 'Bootstrap');
}

void main();
