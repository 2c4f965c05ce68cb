/** Kept for libs/queue/src/job-options.ts until it imports `digest` from @davpush/domain. */
export { digest } from '@davpush/domain';
export * from './redis-connection';
export * from './redis.service';
export * from './tenant.store';
export * from './registration.store';
export * from './registration-census.store';
export * from './job-history.store';
export * from './secret.store';
export * from './event.store';
export * from './delivery-ledger';
export * from './tick-batch';
export * from './storage.module';
export * from './idempotency.store';
export * from './rate-limit.store';
export * from './lua-script';
export * from './known-topic.store';
export * from './proxy-state.store';
export * from './connection-error-log';
