import { ConsoleLogger, type LoggerService } from '@nestjs/common';
import { AppConfig, loadConfig } from '@davpush/config';
import { loadServiceAccount } from '@davpush/gateways';
import { ensureAdminToken } from './admin-token';
import { PrivateRedis } from './private-redis';

export interface Runtime {
  config: AppConfig;
  redis?: PrivateRedis;
  adminTokenFile?: string;
}

/**
 * Nest's start-up chatter (a line per module and per route) is for debugging the framework, not
 * for running the service: it goes to `debug`, so the banner and warnings stay visible.
 */
const FRAMEWORK_CONTEXTS = new Set([
  'InstanceLoader',
  'RoutesResolver',
  'RouterExplorer',
  'NestFactory',
  'NestApplication',
]);

/** ConsoleLogger with the framework's start-up lines demoted to debug. */
export class DavpushLogger extends ConsoleLogger {
  override log(message: unknown, ...optionalParams: unknown[]): void {
    const context = optionalParams.at(-1);
    if (typeof context === 'string' && FRAMEWORK_CONTEXTS.has(context)) return super.debug(message, ...optionalParams);
    super.log(message, ...optionalParams);
  }

  /** NestApplication logs a failed listen (EADDRINUSE) before rethrowing it; the launcher reports it once, with the variable to change. */
  override error(message: unknown, ...optionalParams: unknown[]): void {
    if (optionalParams.at(-1) === 'NestApplication') return super.debug(message, ...optionalParams);
    super.error(message, ...optionalParams);
  }
}

export function createLogger(config: AppConfig): LoggerService {
  const levels = ['error', 'warn', 'log', 'debug', 'verbose'] as const;
  return new DavpushLogger({
    json: config.log.format === 'json',
    colors: config.log.format === 'pretty',
    logLevels: levels.slice(0, levels.indexOf(config.log.level) + 1) as unknown as (
      'error' | 'warn' | 'log' | 'debug' | 'verbose'
    )[],
  });
}

/**
 * Everything before Nest starts: validate the environment, settle the admin token, then start or
 * reuse the private redis-server (last, so nothing that can fail comes after spawning it).
 * @throws ConfigError naming every bad variable; Error when the admin token file or Redis fails.
 */
export async function prepareRuntime(env?: NodeJS.ProcessEnv): Promise<Runtime> {
  let config = loadConfig(env);
  // A broken service-account file is a configuration error: refuse to start, naming the variable.
  if (config.fcm.credentialsPath) loadServiceAccount(config.fcm.credentialsPath);
  const admin = ensureAdminToken(config.dataDir, config.adminToken);
  config = config.with({ adminToken: admin.token });
  let redis: PrivateRedis | undefined;
  if (!config.redis.url && !config.redis.clusterNodes) {
    redis = await PrivateRedis.ensure(config.dataDir);
    config = config.with({ redis: { ...config.redis, url: redis.url } });
  }
  return { config, redis, adminTokenFile: admin.file };
}
