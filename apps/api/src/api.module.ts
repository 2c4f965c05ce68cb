import { Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import { DiscoveryController } from './discovery/discovery.controller';
import { EventsController } from './events/events.controller';
import { EventsService } from './events/events.service';
import { HealthController } from './health/health.controller';
import { AdminGuard, TenantGuard } from './http/auth.guards';
import { DomainExceptionFilter } from './http/domain-exception.filter';
import { RegistrationsController } from './registrations/registrations.controller';
import { RegistrationsService } from './registrations/registrations.service';
import { TenantsController } from './tenants/tenants.controller';

/** The HTTP role. Infrastructure (config, Redis, queues, gateways) comes from CoreModule. */
@Module({
  imports: [TerminusModule.forRoot({ errorLogStyle: 'json' })],
  controllers: [TenantsController, DiscoveryController, RegistrationsController, EventsController, HealthController],
  providers: [RegistrationsService, EventsService, AdminGuard, TenantGuard, { provide: APP_FILTER, useClass: DomainExceptionFilter }],
})
export class ApiModule {}
