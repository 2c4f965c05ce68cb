export * from './namespaces';
export * from './push-register.parser';
export * from './push-message.builder';
export * from './properties.builder';
export * from './dav-error.builder';
export * from './push-dont-notify';
