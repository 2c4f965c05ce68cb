import { loadConfig, type AppConfig } from '@davpush/config';
import type { PushMessage, Urgency } from '@davpush/domain';
import type { PushDelivery } from '@davpush/gateways';
import { buildPushMessage } from '@davpush/webdav-push';

/** AppConfig as start-up would build it from DAVPUSH_FCM_CREDENTIALS / DAVPUSH_FCM_ENDPOINT. */
export function fcmConfig(credentialsPath: string | undefined, endpoint?: string): AppConfig {
  return loadConfig({
    DAVPUSH_DATA_DIR: '/tmp/davpush-fcm-tests',
    ...(credentialsPath ? { DAVPUSH_FCM_CREDENTIALS: credentialsPath } : {}),
    ...(endpoint ? { DAVPUSH_FCM_ENDPOINT: endpoint } : {}),
  });
}

export const SYNC_TOKEN = 'http://example.com/ns/sync/1234';

export interface DeliveryInput {
  message?: PushMessage;
  ttlSeconds?: number;
  urgency?: Urgency;
  collapseKey?: string;
}

/** A fully decided FCM delivery, with the real WebDAV-Push XML as payload. */
export function fcmDelivery(token: string, input: DeliveryInput = {}): PushDelivery {
  const message = input.message ?? {
    topic: 'O7M1nQ7cKkKTKsoS_j6Z3w',
    contentUpdate: { syncToken: SYNC_TOKEN },
    propertyUpdate: {},
  };
  return {
    registration: {
      id: `reg-${token}`,
      tenantId: 'tenant-1',
      topic: message.topic ?? '',
      subscription: { type: 'fcm', token },
      trigger: { contentUpdate: { depth: '1' }, propertyUpdate: { depth: '0', props: [] } },
      expiresAt: Date.now() + 86_400_000,
      createdAt: Date.now(),
      updatedAt: Date.now(),
      consecutiveFailures: 0,
    },
    message,
    payload: buildPushMessage(message),
    ttlSeconds: input.ttlSeconds ?? 3600,
    urgency: input.urgency ?? 'high',
    collapseKey: input.collapseKey ?? 'k3yedHashOfTenantTopicKinds00000',
  };
}
