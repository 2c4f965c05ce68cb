import { Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '@davpush/config';
import { createRedisClient, type RedisClient } from './redis-connection';

/** The one shared client for davpush's own data (BullMQ makes its own connections). */
@Injectable()
export class RedisService implements OnApplicationShutdown {
  private readonly logger = new Logger(RedisService.name);
  readonly client: RedisClient;

  constructor(config: AppConfig) {
    this.client = createRedisClient(config, { name: 'davpush', autoPipelining: true });
    this.client.on('error', (err: Error) => this.logger.warn(`redis: ${err.message}`));
  }

  async ping(): Promise<void> {
    await this.client.ping();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.client.quit().catch(() => this.client.disconnect());
  }
}
