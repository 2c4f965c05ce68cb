export * from './keys';
export * from './redis-connection';
export * from './redis.service';
export * from './tenant.store';
export * from './registration.store';
export * from './secret.store';
export * from './event.store';
export * from './storage.module';
