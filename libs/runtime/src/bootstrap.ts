import { ConsoleLogger, type INestApplicationContext, type LoggerService } from '@nestjs/common';
import { AppConfig, ConfigError, loadConfig } from '@davpush/config';
import { loadServiceAccount } from '@davpush/gateways';
import { ShutdownState } from '@davpush/observability';
import { ensureAdminToken } from './admin-token';
import { PrivateRedis } from './private-redis';

export interface Runtime {
  config: AppConfig;
  redis?: PrivateRedis;
  adminTokenFile?: string;
}

export function createLogger(config: AppConfig): LoggerService {
  const levels = ['error', 'warn', 'log', 'debug', 'verbose'] as const;
  return new ConsoleLogger({
    json: config.log.format === 'json',
    colors: config.log.format === 'pretty',
    logLevels: levels.slice(0, levels.indexOf(config.log.level) + 1) as unknown as ('error' | 'warn' | 'log' | 'debug' | 'verbose')[],
  });
}

/**
 * Everything before Nest starts: validate the environment (one message naming every bad variable,
 * then exit 1), start or reuse the private redis-server, and settle the admin token.
 */
export async function prepareRuntime(env?: NodeJS.ProcessEnv): Promise<Runtime> {
  let config: AppConfig;
  try {
    config = loadConfig(env);
    // A broken service-account file is a configuration error: refuse to start, naming the variable.
    if (config.fcm.credentialsPath) loadServiceAccount(config.fcm.credentialsPath);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`davpush: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  let redis: PrivateRedis | undefined;
  if (!config.redis.url && !config.redis.clusterNodes) {
    redis = await PrivateRedis.ensure(config.dataDir);
    config = config.with({ redis: { url: redis.url } });
  }
  const admin = ensureAdminToken(config.dataDir, config.adminToken);
  return { config: config.with({ adminToken: admin.token }), redis, adminTokenFile: admin.file };
}

/**
 * SIGTERM/SIGINT: stop taking work, let in-flight jobs finish (or return to the queue when the
 * timeout passes: BullMQ hands a job whose lock lapses to another worker), then stop a spawned Redis.
 */
export function installShutdown(app: INestApplicationContext, runtime: Runtime, logger: LoggerService): void {
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    // Readiness answers 503 from this instant, before the server stops taking work.
    try {
      app.get(ShutdownState, { strict: false }).begin();
    } catch {
      /* no HTTP probes in this context (CLI) */
    }
    logger.log({ msg: 'shutting down', signal }, 'Shutdown');
    const force = setTimeout(() => {
      logger.warn({ msg: 'shutdown timeout passed; exiting with jobs still active (they return to the queue)' }, 'Shutdown');
      void runtime.redis?.stop().finally(() => process.exit(1));
    }, runtime.config.shutdownTimeoutMs);
    force.unref();
    try {
      await app.close();
    } catch (err) {
      logger.error({ msg: 'error during shutdown', error: (err as Error).message }, 'Shutdown');
    }
    await runtime.redis?.stop();
    clearTimeout(force);
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}
