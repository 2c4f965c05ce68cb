export * from './push-gateway';
export * from './http/address-guard';
export * from './http/safe-http.client';
export * from './web-push/web-push.classifier';
export * from './web-push/vapid.service';
export * from './web-push/web-push.gateway';
export * from './gateways.module';
