import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeFcm } from '../fcm/fake-fcm';
import { oauthError } from '../fcm/google-errors';
import { createTestServiceAccount, type TestServiceAccount } from '../fcm/test-service-account';
import { eventually, startHarness, type Harness } from '../e2e/harness';

interface Ready {
  status: string;
  details: Record<string, { status: string; projectId?: string; token?: string; lastError?: string }>;
}

/**
 * Readiness reports the FCM credential (docs/operations.md "Health probes") when the FCM transport is on: up before and after
 * a good OAuth exchange, degraded (still 200) once Google refuses the service account, because
 * taking the API out of rotation would not fix a revoked key and would stop Web Push too.
 */
describe('readiness with the FCM transport on', () => {
  let account: TestServiceAccount;
  let fcm: FakeFcm;
  let h: Harness;
  let apiKey: string;

  beforeAll(async () => {
    account = createTestServiceAccount('davpush-ops');
    fcm = await FakeFcm.start({
      projectId: account.projectId,
      clientEmail: account.clientEmail,
      publicKey: account.publicKey,
    });
    h = await startHarness({
      DAVPUSH_FCM_CREDENTIALS: account.file,
      DAVPUSH_FCM_ENDPOINT: fcm.url,
      DAVPUSH_COALESCE_MS: '0',
    });
    ({ apiKey } = await h.createTenant());
  });
  afterAll(async () => {
    await h?.close();
    await fcm?.close();
    account?.cleanup();
  });

  const ready = async () => {
    const res = await h.request('GET', '/health/ready');
    return { code: res.status, body: (await res.json()) as Ready };
  };
  const pushTo = async (topic: string) => {
    await h.request('POST', `/v1/topics/${topic}/registrations`, {
      token: apiKey,
      body: { subscription: { type: 'fcm', token: `tok-${topic}-${'x'.repeat(80)}` } },
    });
    await h.request('POST', '/v1/events', { token: apiKey, body: { topic, changes: ['content'] } });
  };

  it('is up before any token exchange, and up with a working one', async () => {
    const before = await ready();
    expect(before.code).toBe(200);
    expect(before.body.details.fcm).toMatchObject({
      status: 'up',
      projectId: account.projectId,
      token: 'not fetched yet',
    });
    await pushTo('fcm-ok');
    const after = await eventually(
      async () => {
        const r = await ready();
        return r.body.details.fcm?.token === 'ok' ? r : undefined;
      },
      10_000,
      'a successful token exchange',
    );
    expect(after.body.status).toBe('ok');
  });

  it('turns degraded (200) when Google refuses the service account', async () => {
    // A second installation whose key Google does not accept (firebase-admin caches a good token
    // for an hour, so the refusal is set up before the first exchange).
    const refused = await FakeFcm.start({
      projectId: account.projectId,
      clientEmail: account.clientEmail,
      publicKey: account.publicKey,
    });
    refused.scriptTokenEndpoint(oauthError('invalid_grant', 'Invalid grant: account not found'));
    const other = await startHarness({
      DAVPUSH_FCM_CREDENTIALS: account.file,
      DAVPUSH_FCM_ENDPOINT: refused.url,
      DAVPUSH_COALESCE_MS: '0',
    });
    try {
      const { apiKey: key } = await other.createTenant();
      await other.request('POST', '/v1/topics/fcm-refused/registrations', {
        token: key,
        body: { subscription: { type: 'fcm', token: `tok-refused-${'x'.repeat(80)}` } },
      });
      await other.request('POST', '/v1/events', { token: key, body: { topic: 'fcm-refused', changes: ['content'] } });
      const r = await eventually(
        async () => {
          const res = await other.request('GET', '/health/ready');
          const body = (await res.json()) as Ready;
          return body.details.fcm?.status === 'degraded' ? { code: res.status, body } : undefined;
        },
        15_000,
        'readiness to report the refused credential',
      );
      expect(r.code).toBe(200);
      expect(r.body.status).toBe('degraded');
      expect(r.body.details.fcm!.lastError).toContain('invalid_grant');
    } finally {
      await other.close();
      await refused.close();
    }
  });
});
