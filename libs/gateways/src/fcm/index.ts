export {
  FcmGateway,
  FcmGatewayOptions,
  FCM_MAX_BATCH_SIZE,
  isFcmConfigured,
  type FcmGatewayState,
  type FcmGatewayStats,
} from './fcm.gateway';
export { classifyFcmError, FCM_THROTTLE_DEFAULT_MS, type FcmErrorContext } from './fcm.classifier';
export { buildFcmMessage, changesOf, FCM_MAX_TTL_SECONDS } from './fcm-message.builder';
export {
  CredentialHealth,
  EndpointTokenCredential,
  FCM_SCOPE,
  loadServiceAccount,
  signServiceAccountJwt,
  TokenExchangeError,
  type CredentialHealthState,
  type ServiceAccountKey,
} from './fcm-credentials';
export { endpointRoute, type EndpointRoute } from './fcm-endpoint';
