export * from './admin-token';
export * from './private-redis';
export * from './core.module';
export * from './bootstrap';
