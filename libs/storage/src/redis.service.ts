import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '@davpush/config';
import { StorageUnavailableError } from '@davpush/domain';
import { Cluster } from 'ioredis';
import { isClusterUnavailable } from './cluster-errors';
import { connectionErrors } from './connection-error-log';
import { createRedisClient, type RedisClient } from './redis-connection';

/** The one shared client for davpush's own data (BullMQ makes its own connections). */
@Injectable()
export class RedisService implements OnApplicationShutdown {
  readonly client: RedisClient;

  constructor(config: AppConfig) {
    this.client = createRedisClient(config, { name: 'davpush', autoPipelining: true });
    this.client.on('error', (err: Error) => connectionErrors.report('store', err));
  }

  /**
   * `err` as a domain error when it came while the connection was not ready (Redis down or
   * reconnecting: ioredis then fails commands rather than queueing them) or is a transient Redis
   * Cluster condition (`CLUSTERDOWN`, `TRYAGAIN`, redirection loops: see cluster-errors.ts);
   * otherwise `err` itself.
   */
  asDomainError(err: unknown): unknown {
    if (this.client.status !== 'ready') {
      return new StorageUnavailableError(`storage is unavailable (${this.client.status}); nothing was accepted, retry shortly`);
    }
    if (isClusterUnavailable(err)) return new StorageUnavailableError('the Redis Cluster cannot serve this now (a slot moving or a node down); nothing was accepted, retry shortly');
    return err;
  }

  /**
   * `cluster_state` from `CLUSTER INFO` (`ok` or `fail`) of every master ioredis knows, worst first
   * (`ok` only when every master says `ok`: one node's view lags a failover by its node timeout);
   * undefined on a single Redis. Rejects when a master does not answer.
   */
  async clusterState(): Promise<string | undefined> {
    return (await this.clusterStates())?.find((n) => n.state !== 'ok')?.state ?? (this.client instanceof Cluster ? 'ok' : undefined);
  }

  /** `cluster_state` per master (`host:port`), undefined on a single Redis; see clusterState(). */
  async clusterStates(): Promise<{ node: string; state: string }[] | undefined> {
    if (!(this.client instanceof Cluster)) return undefined;
    const masters = this.client.nodes('master');
    if (masters.length === 0) return [{ node: 'none', state: 'unknown' }];
    return Promise.all(
      masters.map(async (m) => {
        const info = String(await m.cluster('INFO'));
        return { node: `${m.options.host}:${m.options.port}`, state: /^cluster_state:(\w+)/m.exec(info)?.[1] ?? 'unknown' };
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
