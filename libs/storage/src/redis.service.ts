import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '@davpush/config';
import { StorageUnavailableError } from '@davpush/domain';
import { Cluster } from 'ioredis';
import { isClusterUnavailable } from './cluster-errors';
import { connectionErrors } from './connection-error-log';
import { createRedisClient, isCommandTimeout, type RedisClient } from './redis-connection';

/**
 * Redis did not answer a command within DAVPUSH_REDIS_COMMAND_TIMEOUT_MS while the connection stayed
 * open (a hung or frozen server, a silent network partition). 503 + Retry-After, problem type
 * `storage-timeout`. Unlike a refused connection the command may have been sent, and may still run:
 * whether the request took effect is unknown, so the answer does not claim that nothing was accepted.
 */
export class StorageTimeoutError extends StorageUnavailableError {
  readonly problemType = 'storage-timeout';

  constructor(timeoutMs: number) {
    super(
      `Redis did not answer within ${timeoutMs} ms (DAVPUSH_REDIS_COMMAND_TIMEOUT_MS); the request may or may not have taken effect, retry shortly`,
    );
  }
}

/**
 * `call` bounded like a command of the stores' client: rejects with StorageTimeoutError after
 * `timeoutMs` (DAVPUSH_REDIS_COMMAND_TIMEOUT_MS). For calls over connections without a command
 * timeout (BullMQ's, libs/queue/src/queue.module.ts). The call is not stopped: it may still take effect.
 */
export function withinCommandTimeout<T>(call: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StorageTimeoutError(timeoutMs)), timeoutMs);
  });
  return Promise.race([call, late]).finally(() => clearTimeout(timer));
}

/** The one shared client for davpush's own data (BullMQ makes its own connections). */
@Injectable()
export class RedisService implements OnApplicationShutdown {
  readonly client: RedisClient;
  private readonly commandTimeoutMs: number;

  constructor(config: AppConfig) {
    this.client = createRedisClient(config, { name: 'davpush' });
    this.commandTimeoutMs = config.redis.commandTimeoutMs;
    this.client.on('error', (err: Error) => connectionErrors.report('store', err));
  }

  /**
   * `err` as a domain error when it is a command timeout (StorageTimeoutError), came while the
   * connection was not ready (Redis down or reconnecting: ioredis then fails commands rather than
   * queueing them) or is a transient Redis Cluster condition (`CLUSTERDOWN`, `TRYAGAIN`, redirection
   * loops: see cluster-errors.ts); otherwise `err` itself.
   */
  asDomainError(err: unknown): unknown {
    if (isCommandTimeout(err)) return new StorageTimeoutError(this.commandTimeoutMs);
    if (this.client.status !== 'ready') {
      return new StorageUnavailableError(
        `storage is unavailable (${this.client.status}); nothing was accepted, retry shortly`,
      );
    }
    if (isClusterUnavailable(err))
      return new StorageUnavailableError(
        'the Redis Cluster cannot serve this now (a slot moving or a node down); nothing was accepted, retry shortly',
      );
    return err;
  }

  /**
   * The cluster's state for readiness, from `CLUSTER INFO` of every master ioredis knows (one node's
   * view lags a failover by its node timeout): `ok` when every master says `ok`, else the first other
   * `cluster_state` (`fail`), else `unreachable` when a master did not answer within `timeoutMs`.
   * Undefined on a single Redis.
   */
  async clusterState(timeoutMs = 800): Promise<string | undefined> {
    const states = await this.clusterStates(timeoutMs);
    if (!states) return undefined;
    return (
      states.find((n) => n.state !== 'ok' && n.state !== 'unreachable')?.state ??
      states.find((n) => n.state !== 'ok')?.state ??
      'ok'
    );
  }

  /** `cluster_state` per master (`host:port`; `unreachable` when it did not answer), undefined on a single Redis. */
  async clusterStates(timeoutMs = 800): Promise<{ node: string; state: string }[] | undefined> {
    if (!(this.client instanceof Cluster)) return undefined;
    const masters = this.client.nodes('master');
    if (masters.length === 0) return [{ node: 'none', state: 'unreachable' }];
    return Promise.all(
      masters.map(async (m) => {
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<string>((resolve) => {
          timer = setTimeout(() => resolve(''), timeoutMs);
        });
        const info = await Promise.race([m.cluster('INFO').then(String, () => ''), late]).finally(() =>
          clearTimeout(timer),
        );
        return {
          node: `${m.options.host}:${m.options.port}`,
          state: /^cluster_state:(\w+)/m.exec(info)?.[1] ?? 'unreachable',
        };
      }),
    );
  }

  async ping(): Promise<void> {
    await this.client.ping();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.client.quit().catch(() => this.client.disconnect());
  }
}
