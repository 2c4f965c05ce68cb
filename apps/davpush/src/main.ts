import 'reflect-metadata';
import { VapidService } from '@davpush/gateways';
import { createLogger, installShutdown, prepareRuntime } from '@davpush/runtime';
import { createDavpushApp, proxyBannerLines } from './app.factory';

/** `npm start`: API and worker in one process, with a private redis-server when REDIS_URL is unset. */
async function main(): Promise<void> {
  const runtime = await prepareRuntime();
  const { config } = runtime;
  const logger = createLogger(config);
  const app = await createDavpushApp(config, { api: true, worker: true }, logger);
  installShutdown(app, runtime, logger);
  await app.listen(config.http.port, config.http.host);
  const vapid = app.get(VapidService);
  const lines = [
    `davpush is listening on ${config.http.publicUrl}`,
    runtime.adminTokenFile ? `admin token: in ${runtime.adminTokenFile}` : 'admin token: from DAVPUSH_ADMIN_TOKEN',
    `VAPID public key: ${vapid.publicKey}`,
    runtime.redis?.spawned ? `redis: private redis-server (AOF) at ${runtime.redis.url}` : `redis: ${runtime.redis ? runtime.redis.url + ' (already running)' : 'REDIS_URL'}`,
    ...proxyBannerLines(app, config),
  ];
  process.stdout.write(`\n${lines.map((l) => `  ${l}`).join('\n')}\n\n`);
}

void main().catch((err: Error) => {
  process.stderr.write(`davpush: could not start: ${err.message}\n`);
  process.exit(1);
});
