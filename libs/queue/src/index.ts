export * from './queue-name';
export * from './jobs';
export * from './job-options';
export * from './queue.module';
export * from './job-publisher';
export * from './local-fanout';
export * from './queue-shards';
export * from './sharded-queues';
