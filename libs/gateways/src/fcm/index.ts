export { FcmGateway, FcmGatewayOptions, isFcmConfigured } from './fcm.gateway';
export { classifyFcmError } from './fcm.classifier';
export { buildFcmMessage } from './fcm-message.builder';
export { CredentialHealth, EndpointTokenCredential, loadServiceAccount } from './fcm-credentials';
export { endpointRoute, type EndpointRoute } from './fcm-endpoint';
