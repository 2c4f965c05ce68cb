import { BullModule } from '@nestjs/bullmq';
import { type DynamicModule, Module } from '@nestjs/common';
import type { ConnectionOptions } from 'bullmq';
import { Cluster } from 'ioredis';
import { AppConfig } from '@davpush/config';
import { redisOptionsFrom } from '@davpush/storage';
import { ALL_QUEUES, QUEUE_PREFIX } from './queue-name';
import { DeadLetterService } from './dead-letter.service';
import { JobPublisher } from './job-publisher';

/** BullMQ connection: options (not a shared client) so BullMQ sets up producer and blocking connections itself. */
export function bullConnection(config: AppConfig): ConnectionOptions {
  if (config.redis.clusterNodes) {
    return new Cluster(config.redis.clusterNodes, { redisOptions: { maxRetriesPerRequest: null } }) as unknown as ConnectionOptions;
  }
  return { ...redisOptionsFrom(config.redis.url!), maxRetriesPerRequest: null } as ConnectionOptions;
}

@Module({})
export class QueueModule {
  static forRoot(): DynamicModule {
    return {
      module: QueueModule,
      global: true,
      imports: [
        BullModule.forRootAsync({
          inject: [AppConfig],
          useFactory: (config: AppConfig) => ({ connection: bullConnection(config), prefix: QUEUE_PREFIX }),
        }),
        BullModule.registerQueue(...ALL_QUEUES.map((name) => ({ name }))),
      ],
      providers: [JobPublisher, DeadLetterService],
      exports: [BullModule, JobPublisher, DeadLetterService],
    };
  }
}
