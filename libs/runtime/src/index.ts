export * from './admin-token';
export * from './private-redis';
export * from './core.module';
export * from './bootstrap';
export * from './home';
export * from './launch';
export * from './redis-reachability';
export * from './start-up-warnings';
