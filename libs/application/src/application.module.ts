import { Global, Module } from '@nestjs/common';
import { CcGatewayService } from './cc-gateway.service';
import { EventsService } from './events.service';
import { RegistrationsService } from './registrations.service';
import { TenantsService } from './tenants.service';

/**
 * The use cases every front door shares: the HTTP API, the WebDAV-Push proxy, the CalConnect
 * gateway API and the CLI register subscriptions, accept change events and manage tenants through
 * these services, so validation, limits and storage rules live in one place.
 */
@Global()
@Module({
  providers: [RegistrationsService, EventsService, TenantsService, CcGatewayService],
  exports: [RegistrationsService, EventsService, TenantsService, CcGatewayService],
})
export class ApplicationModule {}
