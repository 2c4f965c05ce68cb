import { BullModule, getQueueToken } from '@nestjs/bullmq';
import { type DynamicModule, Injectable, Module, type OnModuleInit } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import type { ConnectionOptions, Queue } from 'bullmq';
import { Cluster } from 'ioredis';
import { AppConfig } from '@davpush/config';
import { clusterNodeOptions, connectionErrors, redisOptionsFrom } from '@davpush/storage';
import { QUEUE_PREFIX } from './queue-name';
import { physicalQueues } from './queue-shards';
import { JobPublisher } from './job-publisher';
import { LocalFanout } from './local-fanout';
import { ShardedQueues } from './sharded-queues';

/** BullMQ connection: options (not a shared client) so BullMQ sets up producer and blocking connections itself. */
export function bullConnection(config: AppConfig): ConnectionOptions {
  if (config.redis.clusterNodes) {
    const cluster = new Cluster(config.redis.clusterNodes, {
      redisOptions: { ...clusterNodeOptions(config), maxRetriesPerRequest: null },
    });
    // Without a listener ioredis prints "Unhandled error event" stacks (e.g. slot refresh while the cluster is down).
    cluster.on('error', (err: Error) => connectionErrors.report('queue cluster', err));
    return cluster as unknown as ConnectionOptions;
  }
  return { ...redisOptionsFrom(config.redis.url!), maxRetriesPerRequest: null } as ConnectionOptions;
}

/**
 * Gives every queue an `error` listener. Without one BullMQ prints each reconnect failure as a raw
 * `console.error` stack dump (its QueueBase.emit falls back to it), which breaks JSON-lines logs.
 */
@Injectable()
class QueueErrorListener implements OnModuleInit {
  constructor(
    private readonly moduleRef: ModuleRef,
    private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    for (const { name } of physicalQueues(this.config.queues.shards)) {
      const queue = this.moduleRef.get<Queue>(getQueueToken(name), { strict: false });
      queue.on('error', (err: Error) => connectionErrors.report(`queue ${name}`, err));
    }
  }
}

@Module({})
export class QueueModule {
  /** Registers every queue of `app.queues.shards` shards, each shard under its own hash-tag prefix. */
  static forRoot(app: AppConfig): DynamicModule {
    return {
      module: QueueModule,
      global: true,
      imports: [
        BullModule.forRootAsync({
          inject: [AppConfig],
          useFactory: (config: AppConfig) => ({ connection: bullConnection(config), prefix: QUEUE_PREFIX }),
        }),
        BullModule.registerQueue(...physicalQueues(app.queues.shards).map(({ name, prefix }) => ({ name, prefix }))),
      ],
      providers: [JobPublisher, ShardedQueues, LocalFanout, QueueErrorListener],
      exports: [BullModule, JobPublisher, ShardedQueues, LocalFanout],
    };
  }
}
