import { Test } from '@nestjs/testing';
import * as crypto from 'node:crypto';
import { getApps } from 'firebase-admin/app';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AppConfig } from '@davpush/config';
import type { DeliveryOutcome } from '@davpush/domain';
import { FcmGateway, FcmGatewayOptions, isFcmConfigured } from '@davpush/gateways';
import { ensureTestCa } from '../support/test-ca';
import { FakeFcm, type FakeFcmRequest } from './fake-fcm';
import { fcmConfig, fcmDelivery, SYNC_TOKEN } from './fcm-fixtures';
import { oauthError, type FcmFailure } from './google-errors';
import { createTestServiceAccount } from './test-service-account';

type SentMessage = { token: string; data: Record<string, string>; android: Record<string, unknown> };
const messageOf = (r: FakeFcmRequest) => (r.body as { message: SentMessage }).message;

/**
 * The FCM transport end to end through the real firebase-admin (no mocks in-process): OAuth JWT
 * grant and sends both go to the fake FCM because DAVPUSH_FCM_ENDPOINT points there.
 */
describe('FcmGateway via DAVPUSH_FCM_ENDPOINT (fake FCM)', () => {
  const sa = createTestServiceAccount();
  let fake: FakeFcm;
  let sut: FcmGateway;
  const others: FcmGateway[] = [];
  const fakes: FakeFcm[] = [];
  /** A gateway with its own firebase App, so token caching or revocation stays inside one test. */
  const freshGateway = (file = sa.file, endpoint = fake.url) => {
    const g = new FcmGateway(fcmConfig(file, endpoint), { ca: fake.ca });
    others.push(g);
    return g;
  };

  beforeAll(async () => {
    fake = await FakeFcm.start({ projectId: sa.projectId, clientEmail: sa.clientEmail, publicKey: sa.publicKey });
    sut = new FcmGateway(fcmConfig(sa.file, fake.url), { ca: fake.ca });
  });
  beforeEach(() => fake.reset());
  afterAll(async () => {
    await sut?.close();
    for (const g of others) await g.close();
    for (const f of fakes) await f.close();
    await fake?.close();
    sa.cleanup();
  });

  it('exchanges a signed service-account JWT at <endpoint>/token and sends with the issued Bearer token', async () => {
    const g = freshGateway();
    expect(await g.send(fcmDelivery('tok-a'))).toEqual({ kind: 'accepted' });
    expect(await g.send(fcmDelivery('tok-b'))).toEqual({ kind: 'accepted' });

    // One exchange: firebase-admin caches the token until 5 minutes before expires_in.
    expect(fake.tokenRequests).toHaveLength(1);
    const exchange = fake.tokenRequests[0]!;
    expect(exchange.status).toBe(200);
    expect(exchange.body).toMatchObject({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer' });
    const claims = exchange.claims as { iss: string; scope: string; aud: string; iat: number; exp: number };
    expect(claims).toMatchObject({
      iss: sa.clientEmail,
      scope: 'https://www.googleapis.com/auth/firebase.messaging',
      aud: `${fake.url}/token`,
    });
    expect(claims.exp - claims.iat).toBe(3600);

    expect(fake.sends).toHaveLength(2);
    for (const send of fake.sends) {
      expect(send).toMatchObject({
        status: 200,
        method: 'POST',
        path: `/v1/projects/${sa.projectId}/messages:send`,
        httpVersion: '1.1',
      });
      expect(fake.issuedTokens.has(send.bearer!)).toBe(true);
      // firebase-admin still believes it talks to Google: only the agent's connection was redirected.
      expect(send.headers.host).toBe('fcm.googleapis.com');
    }
    expect(g.state()).toMatchObject({
      configured: true,
      projectId: sa.projectId,
      endpoint: `${fake.url}/`,
      transport: 'http1',
      lastTokenOk: true,
    });
  });

  it.each([
    {
      name: 'content + property change, urgency high',
      input: { urgency: 'high' as const, ttlSeconds: 3600 },
      data: { changes: 'content,property', sync_token: SYNC_TOKEN },
      android: { priority: 'high', ttl: '3600s' },
    },
    {
      name: 'content change without sync-token, urgency normal, TTL 0',
      input: { message: { topic: 'T2', contentUpdate: {} }, urgency: 'normal' as const, ttlSeconds: 0 },
      data: { topic: 'T2', changes: 'content' },
      android: { priority: 'normal', ttl: '0s' },
    },
    {
      name: 'property change, urgency low, TTL beyond FCM’s 4 weeks',
      input: { message: { topic: 'T3', propertyUpdate: {} }, urgency: 'low' as const, ttlSeconds: 30 * 86_400 },
      data: { topic: 'T3', changes: 'property' },
      android: { priority: 'normal', ttl: '2419200s' },
    },
  ])('sends a data message as README "FCM (our own apps)" says: $name', async ({ input, data, android }) => {
    const d = fcmDelivery('shape-token', { ...input, collapseKey: 'Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3Jh' });
    expect(await sut.send(d)).toEqual({ kind: 'accepted' });
    expect(fake.sends).toHaveLength(1);
    const topic = d.message.topic;
    expect(messageOf(fake.sends[0]!)).toEqual({
      token: 'shape-token',
      data: { topic, ...data, push_message: d.payload },
      android: { ...android, collapse_key: 'Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3Jh' },
    });
    expect(messageOf(fake.sends[0]!).data.push_message).toContain(
      '<push-message xmlns="https://bitfire.at/webdav-push"',
    );
  });

  it.each<[FcmFailure, string | undefined, DeliveryOutcome]>([
    ['UNREGISTERED', undefined, { kind: 'gone', reason: 'messaging/registration-token-not-registered' }],
    ['NOT_FOUND', undefined, { kind: 'gone', reason: 'messaging/registration-token-not-registered' }],
    ['INVALID_ARGUMENT', undefined, { kind: 'rejected', reason: 'messaging/invalid-argument' }],
    // firebase-admin 13 drops the BadRequest detail naming message.token, so a malformed token is
    // only "rejected" (kept until it expires); firebase-admin 14's httpResponse makes it "gone".
    ['INVALID_TOKEN', undefined, { kind: 'rejected', reason: 'messaging/invalid-argument' }],
    ['QUOTA_EXCEEDED', '30', { kind: 'throttled', reason: 'messaging/message-rate-exceeded', retryAfterMs: 30_000 }],
    [
      'QUOTA_EXCEEDED',
      undefined,
      { kind: 'throttled', reason: 'messaging/message-rate-exceeded', retryAfterMs: 60_000 },
    ],
    // 500, not 503: firebase-admin retries 503 itself for ~7 s.
    ['INTERNAL', undefined, { kind: 'transient', reason: 'messaging/internal-error', retryAfterMs: undefined }],
    // A Retry-After over 60 s makes firebase-admin give up at once; we keep the hint.
    ['UNAVAILABLE', '120', { kind: 'transient', reason: 'messaging/server-unavailable', retryAfterMs: 120_000 }],
    ['PROXY_502', undefined, { kind: 'transient', reason: 'messaging/unknown-error', retryAfterMs: undefined }],
    ['SENDER_ID_MISMATCH', undefined, { kind: 'auth', reason: 'messaging/mismatched-credential' }],
    ['THIRD_PARTY_AUTH_ERROR', undefined, { kind: 'auth', reason: 'messaging/third-party-auth-error' }],
  ])('FCM %s (Retry-After %s) → %o', async (failure, retryAfter, expected) => {
    fake.failToken('doomed-token', failure, retryAfter);
    expect(await sut.send(fcmDelivery('doomed-token'))).toEqual(expected);
    expect(fake.sends).toHaveLength(1);
  });

  it('classifies each result of one batch on its own, in input order', async () => {
    fake.failToken('gone-1', 'UNREGISTERED');
    fake.failToken('slow-down', 'QUOTA_EXCEEDED', '30');
    fake.failToken('bad-1', 'INVALID_ARGUMENT');
    const before = sut.stats.batches;
    const outcomes = await sut.sendMany(['ok-1', 'gone-1', 'slow-down', 'ok-2', 'bad-1'].map((t) => fcmDelivery(t)));
    expect(outcomes.map((o) => o.kind)).toEqual(['accepted', 'gone', 'throttled', 'accepted', 'rejected']);
    expect(outcomes[2]).toMatchObject({ retryAfterMs: 30_000 });
    expect(sut.stats.batches - before).toBe(1);
  });

  it('a message over the 4096-byte data limit loses its sync-token; one that cannot fit is rejected unsent, its neighbours go', async () => {
    const big = { topic: 'あ'.repeat(500), contentUpdate: { syncToken: 'トークン'.repeat(250) } };
    const huge = { topic: 'x'.repeat(5000), contentUpdate: {} };
    const outcomes = await sut.sendMany([
      fcmDelivery('fits-1', { message: big }),
      fcmDelivery('too-big', { message: huge }),
      fcmDelivery('fits-2'),
    ]);
    expect(outcomes.map((o) => o.kind)).toEqual(['accepted', 'rejected', 'accepted']);
    expect(outcomes[1]).toMatchObject({ reason: expect.stringMatching(/over the limit of 4096/) });
    expect(fake.sends.map((r) => [messageOf(r).token, r.status])).toEqual([
      ['fits-1', 200],
      ['fits-2', 200],
    ]);
    const data = messageOf(fake.sends[0]!).data;
    expect([data.topic, data.sync_token, data.push_message!.includes('sync-token')]).toEqual([
      big.topic,
      undefined,
      false,
    ]);
  });

  it('sends 1,200 deliveries as exactly 3 sendEach batches, one after the other', async () => {
    const before = sut.stats.batches;
    const outcomes = await sut.sendMany(Array.from({ length: 1200 }, (_, i) => fcmDelivery(`bulk-${i}`)));
    expect(outcomes).toHaveLength(1200);
    expect(outcomes.every((o) => o.kind === 'accepted')).toBe(true);
    expect(sut.stats.batches - before).toBe(3);
    expect(fake.sends).toHaveLength(1200);
    const byToken = new Map(fake.sends.map((s) => [messageOf(s).token, s]));
    expect(byToken.size).toBe(1200);
    // Batch k+1 starts only after every answer of batch k: the batches are 500, 500 and 200.
    const batch = (from: number, to: number) =>
      Array.from({ length: to - from }, (_, i) => byToken.get(`bulk-${from + i}`)!);
    const [b1, b2, b3] = [batch(0, 500), batch(500, 1000), batch(1000, 1200)];
    expect(Math.max(...b1.map((s) => s.answeredAt))).toBeLessThanOrEqual(Math.min(...b2.map((s) => s.at)));
    expect(Math.max(...b2.map((s) => s.answeredAt))).toBeLessThanOrEqual(Math.min(...b3.map((s) => s.at)));
  });

  it.each([
    [500, 1],
    [501, 2],
  ])('cuts batches at 500: %d deliveries → %d sendEach call(s)', async (n, batches) => {
    const before = sut.stats.batches;
    const outcomes = await sut.sendMany(Array.from({ length: n }, (_, i) => fcmDelivery(`edge-${i}`)));
    expect(outcomes.filter((o) => o.kind === 'accepted')).toHaveLength(n);
    expect(sut.stats.batches - before).toBe(batches);
    expect(fake.sends).toHaveLength(n);
  });

  it('refuses a token the fake did not issue (revoked): auth, registration kept', async () => {
    const g = freshGateway();
    expect(await g.send(fcmDelivery('tok'))).toEqual({ kind: 'accepted' });
    fake.revokeTokens();
    expect(await g.send(fcmDelivery('tok'))).toEqual({ kind: 'auth', reason: 'messaging/third-party-auth-error' });
    expect(fake.sends.at(-1)?.status).toBe(401);
  });

  it('a key the token endpoint rejects (invalid_grant) → auth, with the reason in state()', async () => {
    // Same project and client_email, another private key: the fake's signature check fails.
    const stranger = createTestServiceAccount(sa.projectId);
    try {
      const g = freshGateway(stranger.file);
      expect(await g.send(fcmDelivery('tok'))).toEqual({ kind: 'auth', reason: 'oauth token rejected' });
      expect(fake.tokenRequests[0]?.status).toBe(400);
      expect(fake.sends).toHaveLength(0);
      expect(g.state()).toMatchObject({
        lastTokenOk: false,
        lastError: expect.stringMatching(/400 invalid_grant: Invalid JWT Signature/),
      });
    } finally {
      stranger.cleanup();
    }
  });

  it('a token endpoint that is down (503) → transient; the next exchange recovers', async () => {
    const g = freshGateway();
    fake.scriptTokenEndpoint(oauthError('backend_error', 'Backend Error', 503));
    expect(await g.send(fcmDelivery('tok'))).toEqual({
      kind: 'transient',
      reason: 'oauth token fetch failed (temporary)',
      retryAfterMs: undefined,
    });
    expect(g.state().lastTokenOk).toBe(false);
    fake.scriptTokenEndpoint(undefined);
    expect(await g.send(fcmDelivery('tok'))).toEqual({ kind: 'accepted' });
    expect(g.state()).toMatchObject({ lastTokenOk: true, lastError: undefined });
  });

  // As the full app runs in end-to-end tests: no FcmGatewayOptions, the test CA comes from the
  // environment (vitest.config.ts sets it; the quick config does not, hence the skip).
  it.skipIf(process.env.NODE_EXTRA_CA_CERTS !== ensureTestCa().caCertPath)(
    'trusts the endpoint through NODE_EXTRA_CA_CERTS without an explicit ca',
    async () => {
      const g = new FcmGateway(fcmConfig(sa.file, fake.url));
      others.push(g);
      expect(await g.send(fcmDelivery('env-ca'))).toEqual({ kind: 'accepted' });
    },
  );

  it('works with a plain http:// endpoint (an emulator without TLS)', async () => {
    const plain = await FakeFcm.start({
      projectId: sa.projectId,
      clientEmail: sa.clientEmail,
      publicKey: sa.publicKey,
      plainHttp: true,
    });
    fakes.push(plain);
    const g = freshGateway(sa.file, plain.url);
    expect(await g.send(fcmDelivery('tok'))).toEqual({ kind: 'accepted' });
    expect(plain.tokenRequests.map((r) => r.status)).toEqual([200]);
    expect(plain.sends.map((r) => [r.status, r.httpVersion])).toEqual([[200, '1.1']]);
  });

  describe('credentials file checks at start-up', () => {
    const other = crypto
      .generateKeyPairSync('ec', { namedCurve: 'P-256' })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString();
    it.each([
      ['missing', null, /DAVPUSH_FCM_CREDENTIALS \(.*missing\.json\): file does not exist/],
      ['not JSON', '{"type": "service_account",', /DAVPUSH_FCM_CREDENTIALS .*is not valid JSON/],
      [
        'a user credential',
        JSON.stringify({ type: 'authorized_user', client_id: 'x' }),
        /DAVPUSH_FCM_CREDENTIALS .*has type "authorized_user", expected "service_account"/,
      ],
      [
        'without project_id',
        JSON.stringify({ ...sa.json, project_id: undefined }),
        /DAVPUSH_FCM_CREDENTIALS .*has no project_id/,
      ],
      [
        'without client_email',
        JSON.stringify({ ...sa.json, client_email: '' }),
        /DAVPUSH_FCM_CREDENTIALS .*has no client_email/,
      ],
      [
        'with a damaged private_key',
        JSON.stringify({ ...sa.json, private_key: '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n' }),
        /DAVPUSH_FCM_CREDENTIALS .*private_key is not a PEM private key/,
      ],
      [
        'with an EC private_key',
        JSON.stringify({ ...sa.json, private_key: other }),
        /DAVPUSH_FCM_CREDENTIALS .*expected RSA/,
      ],
    ])('a file %s → an error naming DAVPUSH_FCM_CREDENTIALS', (name, content, message) => {
      const file =
        content === null ? `${sa.dir}/missing.json` : sa.writeVariant(`${name.replace(/\W+/g, '-')}.json`, content);
      expect(() => new FcmGateway(fcmConfig(file, fake.url))).toThrow(message);
    });
  });

  it('is off without DAVPUSH_FCM_CREDENTIALS: reports so and refuses to send', async () => {
    const config = fcmConfig(undefined);
    const off = new FcmGateway(config);
    expect(isFcmConfigured(config)).toBe(false);
    expect(isFcmConfigured(fcmConfig(sa.file))).toBe(true);
    expect(off.state()).toEqual({ configured: false });
    await expect(off.send(fcmDelivery('tok'))).rejects.toThrow(/DAVPUSH_FCM_CREDENTIALS/);
  });

  it('without DAVPUSH_FCM_ENDPOINT uses Google’s path (cert() + HTTP/2) and dials nothing at start-up', async () => {
    const google = new FcmGateway(fcmConfig(sa.file));
    try {
      expect(google.state()).toEqual({
        configured: true,
        projectId: sa.projectId,
        endpoint: undefined,
        transport: 'http2',
      });
      expect(fake.requests).toHaveLength(0);
    } finally {
      await google.close();
    }
  });

  it('resolves through Nest DI and deletes its firebase App at application shutdown', async () => {
    const moduleRef = await Test.createTestingModule({
      providers: [
        { provide: AppConfig, useValue: fcmConfig(sa.file, fake.url) },
        { provide: FcmGatewayOptions, useValue: { ca: fake.ca } },
        FcmGateway,
      ],
    }).compile();
    const appsBefore = getApps().length;
    expect(await moduleRef.get(FcmGateway).send(fcmDelivery('di-token'))).toEqual({ kind: 'accepted' });
    await moduleRef.close();
    expect(getApps()).toHaveLength(appsBefore - 1);
  });
});
