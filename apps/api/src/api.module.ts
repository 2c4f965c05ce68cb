import { Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { DeadLetterController } from './admin/dead-letter.controller';
import { DiscoveryController } from './discovery/discovery.controller';
import { EventsController } from './events/events.controller';
import { GatewayController } from './gateway/gateway.controller';
import { AdminGuard, TenantGuard } from './http/auth.guards';
import { DomainExceptionFilter } from './http/domain-exception.filter';
import { IngestRateLimit } from './http/ingest-rate-limit';
import { OperationsModule } from './operations/operations.module';
import { RegistrationsController } from './registrations/registrations.controller';
import { TenantsController } from './tenants/tenants.controller';

/** The HTTP role. Infrastructure (config, Redis, queues, gateways) comes from CoreModule. */
@Module({
  imports: [OperationsModule],
  controllers: [
    TenantsController,
    DiscoveryController,
    RegistrationsController,
    EventsController,
    DeadLetterController,
    GatewayController,
  ],
  providers: [IngestRateLimit, AdminGuard, TenantGuard, { provide: APP_FILTER, useClass: DomainExceptionFilter }],
})
export class ApiModule {}
