export * from './application.module';
export * from './change-event.dto';
export * from './events.service';
export * from './registrations.service';
export * from './tenants.service';
export * from './topic';
export * from './cc-gateway.service';
