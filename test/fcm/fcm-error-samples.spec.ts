import http2 from 'node:http2';
import { deleteApp, initializeApp, type App } from 'firebase-admin/app';
import { getMessaging, type Messaging, type SendResponse } from 'firebase-admin/messaging';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OutcomeKind } from '@davpush/domain';
import {
  buildFcmMessage,
  classifyFcmError,
  CredentialHealth,
  EndpointTokenCredential,
  loadServiceAccount,
} from '@davpush/gateways';
import { endpointRoute, type EndpointRoute } from '@davpush/gateways';
import { FakeFcm } from './fake-fcm';
import { fcmDelivery } from './fcm-fixtures';
import type { FcmFailure } from './google-errors';
import { createTestServiceAccount } from './test-service-account';

/**
 * Real error samples: firebase-admin 13 itself turns the fake's Google error JSON into errors, over
 * both of its transports, and the classifier reads them. If an SDK upgrade renames a code, this
 * table is where it shows. The HTTP/2 case is the production transport (Google's default).
 */
const SAMPLES: [FcmFailure, string | undefined, string, OutcomeKind][] = [
  ['UNREGISTERED', undefined, 'messaging/registration-token-not-registered', 'gone'],
  ['NOT_FOUND', undefined, 'messaging/registration-token-not-registered', 'gone'],
  ['INVALID_ARGUMENT', undefined, 'messaging/invalid-argument', 'rejected'],
  ['INVALID_TOKEN', undefined, 'messaging/invalid-argument', 'rejected'],
  ['QUOTA_EXCEEDED', '30', 'messaging/message-rate-exceeded', 'throttled'],
  ['UNAVAILABLE', '120', 'messaging/server-unavailable', 'transient'],
  ['INTERNAL', undefined, 'messaging/internal-error', 'transient'],
  ['PROXY_502', undefined, 'messaging/unknown-error', 'transient'],
  ['SENDER_ID_MISMATCH', undefined, 'messaging/mismatched-credential', 'auth'],
  ['THIRD_PARTY_AUTH_ERROR', undefined, 'messaging/third-party-auth-error', 'auth'],
];

describe('firebase-admin error samples from the fake FCM', () => {
  const sa = createTestServiceAccount();
  const account = loadServiceAccount(sa.file);
  let fake: FakeFcm;
  let route: EndpointRoute;
  const apps: App[] = [];
  const originalConnect = http2.connect;
  const results = new Map<string, { responses: SendResponse[]; httpVersions: string[] }>();

  const appFor = (transport: 'http1' | 'http2'): Messaging => {
    const credential = new EndpointTokenCredential(account, route.tokenUrl, route.agent, new CredentialHealth());
    const app = initializeApp(
      { projectId: account.projectId, credential, ...(transport === 'http1' ? { httpAgent: route.agent } : {}) },
      `samples-${transport}`,
    );
    apps.push(app);
    const messaging = getMessaging(app);
    if (transport === 'http1') messaging.enableLegacyHttpTransport();
    return messaging;
  };

  beforeAll(async () => {
    fake = await FakeFcm.start({ projectId: sa.projectId, clientEmail: sa.clientEmail, publicKey: sa.publicKey });
    route = endpointRoute(fake.url, fake.ca);
    // The HTTP/2 transport dials https://fcm.googleapis.com itself, whatever the endpoint: send
    // that session to the fake, and send `:scheme: https` where firebase-admin 13 sends `https:`,
    // which Node's server refuses and Google's front end accepts.
    (http2 as { connect: unknown }).connect = (
      authority: string | URL,
      options?: http2.SecureClientSessionOptions,
      listener?: () => void,
    ) => {
      if (String(authority) !== 'https://fcm.googleapis.com')
        return originalConnect(authority, options ?? {}, listener);
      const session = originalConnect(fake.url, { ...options, ca: fake.ca }, listener);
      const request = session.request.bind(session);
      session.request = (headers, requestOptions) => request({ ...headers, ':scheme': 'https' }, requestOptions);
      return session;
    };
    for (const transport of ['http1', 'http2'] as const) {
      fake.reset();
      for (const [failure, retryAfter] of SAMPLES) fake.failToken(`t-${failure}`, failure, retryAfter);
      const messages = [
        ...SAMPLES.map(([failure]) => buildFcmMessage(fcmDelivery(`t-${failure}`))),
        buildFcmMessage(fcmDelivery('t-ok')),
      ];
      const batch = await appFor(transport).sendEach(messages);
      results.set(transport, { responses: batch.responses, httpVersions: fake.sends.map((s) => s.httpVersion) });
    }
  });

  afterAll(async () => {
    http2.connect = originalConnect;
    for (const app of apps) await deleteApp(app);
    route?.agent.destroy();
    await fake?.close();
    sa.cleanup();
  });

  describe.each(['http1', 'http2'] as const)('over %s', (transport) => {
    it('went over the expected HTTP version, one request per message', () => {
      const { httpVersions } = results.get(transport)!;
      expect(httpVersions).toHaveLength(SAMPLES.length + 1);
      expect(new Set(httpVersions)).toEqual(new Set([transport === 'http1' ? '1.1' : '2.0']));
    });

    it('accepted the well-formed message built by buildFcmMessage', () => {
      expect(results.get(transport)!.responses.at(-1)).toMatchObject({
        success: true,
        messageId: expect.stringMatching(/^projects\/davpush-test\/messages\/\d+$/),
      });
    });

    it.each(SAMPLES.map(([failure, , code, kind], i) => ({ failure, code, kind, i })))(
      '$failure → .code $code → $kind',
      ({ code, kind, i }) => {
        const response = results.get(transport)!.responses[i]!;
        expect(response.success).toBe(false);
        expect(response.error?.code).toBe(code);
        // firebase-admin 13 keeps no HTTP response on the error: the reason RetryAfterProbe exists.
        expect((response.error as { httpResponse?: unknown }).httpResponse).toBeUndefined();
        expect(classifyFcmError(response.error).kind).toBe(kind);
      },
    );
  });
});
