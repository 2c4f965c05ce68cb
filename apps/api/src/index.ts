export * from './api.module';
export * from './http/configure-http';
export * from './openapi/openapi.setup';
