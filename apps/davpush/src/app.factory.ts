import { type INestApplication, type INestApplicationContext, Module, type LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { AppConfig } from '@davpush/config';
import { ProbesModule } from '@davpush/observability';
import { CoreModule } from '@davpush/runtime';
import { ApiModule, configureHttp, setupOpenApi } from '../../api/src';
import { WorkerModule } from '../../worker/src';
import { ProxyModule, ProxyServer } from '../../proxy/src';

export interface Roles {
  api: boolean;
  worker: boolean;
  /** The WebDAV-Push proxy (docs/proxy.md); on by default when DAVPUSH_PROXY_UPSTREAM is set. */
  proxy?: boolean;
}

/**
 * The composition root: the api and worker roles over one CoreModule. Used by the all-in-one entry
 * and by end-to-end tests (which start the real app in-process on their own Redis).
 */
export async function createDavpushApp(
  config: AppConfig,
  roles: Roles = { api: true, worker: true },
  logger?: LoggerService | false,
): Promise<INestApplication> {
  @Module({
    // The API carries the probes; a worker-only app gets them on their own.
    imports: [
      CoreModule.forRoot(config),
      ...(roles.api ? [ApiModule] : [ProbesModule]),
      ...(roles.worker ? [WorkerModule] : []),
      ...((roles.proxy ?? !!config.proxy) && config.proxy ? [ProxyModule] : []),
    ],
  })
  class DavpushRoot {}

  const app = await NestFactory.create(DavpushRoot, {
    bodyParser: false,
    logger: logger ?? undefined,
    abortOnError: false,
  });
  configureHttp(app);
  if (roles.api) setupOpenApi(app, config.http.publicUrl);
  return app;
}

/** Start-banner details of the proxy role, when it runs in `app` (none otherwise). */
export function proxyBannerDetails(app: INestApplicationContext, config: AppConfig): Record<string, string> {
  if (!config.proxy) return {};
  const proxy = app.get(ProxyServer, { strict: false });
  return { proxy: `${config.proxy.publicUrl} → ${config.proxy.upstream}`, proxyTenant: proxy.tenantId };
}
