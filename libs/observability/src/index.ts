export * from './push-metrics';
export * from './observability.module';
