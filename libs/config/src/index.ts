export * from './app-config';
export * from './config.module';
export { DURABILITY_WAIT_GRACE_MS } from './env.schema';
