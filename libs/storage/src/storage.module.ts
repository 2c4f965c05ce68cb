import { Global, Module } from '@nestjs/common';
import { EventStore } from './event.store';
import { IdempotencyStore } from './idempotency.store';
import { RateLimitStore } from './rate-limit.store';
import { RedisService } from './redis.service';
import { RegistrationStore } from './registration.store';
import { SecretStore } from './secret.store';
import { TenantStore } from './tenant.store';

@Global()
@Module({
  providers: [RedisService, TenantStore, RegistrationStore, SecretStore, EventStore, IdempotencyStore, RateLimitStore],
  exports: [RedisService, TenantStore, RegistrationStore, SecretStore, EventStore, IdempotencyStore, RateLimitStore],
})
export class StorageModule {}
