export * from './proxy.module';
export * from './proxy.server';
