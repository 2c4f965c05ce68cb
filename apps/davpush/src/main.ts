import 'reflect-metadata';
import { VapidService } from '@davpush/gateways';
import { launch } from '@davpush/runtime';
import { createDavpushApp, proxyBannerDetails } from './app.factory';

/** `npm start`: API and worker in one process, with a private redis-server when REDIS_URL is unset. */
void launch({
  name: 'davpush',
  api: true,
  create: (runtime, logger) => createDavpushApp(runtime.config, { api: true, worker: true }, logger),
  listen: ({ config }) => ({ port: config.http.port, host: config.http.host, portVariable: 'PORT' }),
  baseUrl: async ({ config }) => config.http.publicUrl,
  details: (runtime, app) => ({
    adminToken: runtime.adminTokenFile ? `in ${runtime.adminTokenFile}` : 'from DAVPUSH_ADMIN_TOKEN',
    vapidPublicKey: app.get(VapidService).publicKey,
    ...proxyBannerDetails(app, runtime.config),
  }),
});
