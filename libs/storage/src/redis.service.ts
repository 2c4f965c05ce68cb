import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '@davpush/config';
import { StorageUnavailableError } from '@davpush/domain';
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
   * reconnecting: ioredis then fails commands rather than queueing them); otherwise `err` itself.
   */
  asDomainError(err: unknown): unknown {
    if (this.client.status === 'ready') return err;
    return new StorageUnavailableError(`storage is unavailable (${this.client.status}); nothing was accepted, retry shortly`);
  }

  async ping(): Promise<void> {
    await this.client.ping();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.client.quit().catch(() => this.client.disconnect());
  }
}
