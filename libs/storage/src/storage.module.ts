import { Global, Module } from '@nestjs/common';
import { DeliveryLedger } from './delivery-ledger';
import { DispatchStore } from './dispatch.store';
import { EventStore } from './event.store';
import { FanoutLeaseStore } from './fanout-lease.store';
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

/** Every store this module provides, and exports to the other libs. */
const STORES = [
  RedisService,
  TenantStore,
  RegistrationStore,
  SecretStore,
  EventStore,
  DispatchStore,
  FanoutLeaseStore,
  DeliveryLedger,
  IdempotencyStore,
  RateLimitStore,
  KnownTopicStore,
  RegistrationCensusStore,
  JobHistoryStore,
  ReplicaAck,
];

@Global()
@Module({ providers: STORES, exports: STORES })
export class StorageModule {}
