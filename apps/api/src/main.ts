import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { Module } from '@nestjs/common';
import { VapidService } from '@davpush/gateways';
import { CoreModule, launch } from '@davpush/runtime';
import { ApiModule } from './api.module';
import { configureHttp } from './http/configure-http';
import { setupOpenApi } from './openapi/openapi.setup';

/** `npm run start:api`: the HTTP role alone (scale out next to `npm run start:worker` on one Redis). */
void launch({
  name: 'davpush api',
  api: true,
  async create(runtime, logger) {
    @Module({ imports: [CoreModule.forRoot(runtime.config), ApiModule] })
    class ApiRoot {}

    const app = await NestFactory.create(ApiRoot, { bodyParser: false, logger, abortOnError: false });
    configureHttp(app);
    setupOpenApi(app, runtime.config.http.publicUrl);
    return app;
  },
  listen: ({ config }) => ({ port: config.http.port, host: config.http.host, portVariable: 'PORT' }),
  baseUrl: async ({ config }) => config.http.publicUrl,
  details: (runtime, app) => ({
    adminToken: runtime.adminTokenFile ? `in ${runtime.adminTokenFile}` : 'from DAVPUSH_ADMIN_TOKEN',
    vapidPublicKey: app.get(VapidService).publicKey,
  }),
});
