import { Global, Module } from '@nestjs/common';
import { DeliveryLedger } from './delivery-ledger';
import { DispatchStore } from './dispatch.store';
import { EventStore } from './event.store';
import { IdempotencyStore } from './idempotency.store';
import { KnownTopicStore } from './known-topic.store';
import { RateLimitStore } from './rate-limit.store';
import { RedisService } from './redis.service';
import { ReplicaAck } from './replica-ack';
import { JobHistoryStore } from './job-history.store';
import { RegistrationCensusStore } from './registration-census.store';
import { RegistrationStore } from './registration.store';
import { SecretStore } from './secret.store';
import { TenantStore } from './tenant.store';

@Global()
@Module({
  providers: [
    RedisService,
    TenantStore,
    RegistrationStore,
    SecretStore,
    EventStore,
    DispatchStore,
    DeliveryLedger,
    IdempotencyStore,
    RateLimitStore,
    KnownTopicStore,
    RegistrationCensusStore,
    JobHistoryStore,
    ReplicaAck,
  ],
  exports: [
    RedisService,
    TenantStore,
    RegistrationStore,
    SecretStore,
    EventStore,
    DispatchStore,
    DeliveryLedger,
    IdempotencyStore,
    RateLimitStore,
    KnownTopicStore,
    RegistrationCensusStore,
    JobHistoryStore,
    ReplicaAck,
  ],
})
export class StorageModule {}
