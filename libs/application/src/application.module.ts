import { Global, Module } from '@nestjs/common';
import { CcGatewayService } from './cc-gateway.service';
import { DeadLetterService } from './dead-letters.service';
import { EventsService } from './events.service';
import { RegistrationsService } from './registrations.service';
import { TenantsService } from './tenants.service';
import { VapidRotationService } from './vapid-rotation.service';

/**
 * The use cases every front door shares: the HTTP API, the WebDAV-Push proxy, the CalConnect
 * gateway API and the CLI register subscriptions, accept change events and manage tenants through
 * these services, so validation, limits and storage rules live in one place. The operator use cases
 * (tenant lifecycle, dead-letter list and replay, VAPID rotation) are here too: the admin HTTP API
 * and the CLI call the same methods.
 */
const USE_CASES = [
  RegistrationsService,
  EventsService,
  TenantsService,
  CcGatewayService,
  DeadLetterService,
  VapidRotationService,
];

@Global()
@Module({ providers: USE_CASES, exports: USE_CASES })
export class ApplicationModule {}
