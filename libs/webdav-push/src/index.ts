export * from './namespaces';
export { parsePushRegister, MAX_PUSH_REGISTER_BYTES, MAX_ELEMENT_DEPTH, MAX_TEXT_NODE_BYTES } from './push-register.parser';
export * from './push-message.builder';
export * from './properties.builder';
export * from './dav-error.builder';
export * from './push-dont-notify';
export * from './cc70025';
