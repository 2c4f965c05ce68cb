import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ConfigError } from '@davpush/config';
import { CoreModule, launch } from '@davpush/runtime';
import { ProxyModule } from './proxy.module';
import { ProxyServer } from './proxy.server';

/**
 * `npm run start:proxy`: the WebDAV-Push proxy alone (DAVPUSH_PROXY_UPSTREAM required). It accepts
 * registrations and posts events; a worker (`npm run start:worker` or `npm start`) on the same
 * Redis delivers them. The proxy listens on DAVPUSH_PROXY_PORT by itself (see ProxyServer).
 */
void launch({
  name: 'davpush proxy',
  api: false,
  create: async (runtime, logger) => {
    const { config } = runtime;
    if (!config.proxy)
      throw new ConfigError(['DAVPUSH_PROXY_UPSTREAM: not set (the URL of the CalDAV/CardDAV server to front)']);
    @Module({ imports: [CoreModule.forRoot(config), ProxyModule] })
    class ProxyRoot {}
    return NestFactory.createApplicationContext(ProxyRoot, { logger, abortOnError: false });
  },
  baseUrl: async ({ config }) => config.proxy!.publicUrl,
  details: ({ config }, app) => ({
    proxy: `${config.proxy!.publicUrl} → ${config.proxy!.upstream}`,
    proxyTenant: app.get(ProxyServer).tenantId,
  }),
});
