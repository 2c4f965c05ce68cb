import * as fs from 'node:fs';
import webpush from 'web-push';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeFcm } from '../fcm/fake-fcm';
import { createTestServiceAccount, type TestServiceAccount } from '../fcm/test-service-account';
import { FakePushService } from '../support/fake-push-service';
import type { WebPushClient } from '../support/webpush-client';
import { davx5Register } from '../e2e/push-documents';
import { ADMIN_TOKEN, eventually } from '../e2e/harness';
import { CapturedOutput, startCapturingHarness, type CapturingHarness } from './capturing-harness';

/**
 * docs/security.md "Secrets in logs": a whole run — tenants, key rotation, registrations (XML, JSON, FCM), events,
 * deliveries that succeed, are gone (410/UNREGISTERED), fail (500/INTERNAL), are throttled or
 * redirected, dead letters and their replay, and the error paths (401/400/403/404/413/429) — with
 * every line the process writes captured. None of them may carry a credential or a push target.
 */
describe('secrets never reach the logs', () => {
  const output = new CapturedOutput();
  const vapid = webpush.generateVAPIDKeys();
  const secrets = new Map<string, string>();
  let account: TestServiceAccount;
  let fcm: FakeFcm;
  let push: FakePushService;
  let h: CapturingHarness;
  const keep = (what: string, value: string) => secrets.set(value, what);

  beforeAll(async () => {
    account = createTestServiceAccount('davpush-secrets');
    fcm = await FakeFcm.start({
      projectId: account.projectId,
      clientEmail: account.clientEmail,
      publicKey: account.publicKey,
    });
    push = await FakePushService.start();
    output.start();
    h = await startCapturingHarness(
      {
        DAVPUSH_VAPID_PUBLIC_KEY: vapid.publicKey,
        DAVPUSH_VAPID_PRIVATE_KEY: vapid.privateKey,
        DAVPUSH_FCM_CREDENTIALS: account.file,
        DAVPUSH_FCM_ENDPOINT: fcm.url,
        DAVPUSH_COALESCE_MS: '20',
        DAVPUSH_RETRY_BASE_MS: '20',
        DAVPUSH_RETRY_MAX_MS: '200',
        DAVPUSH_INGEST_RATE: '20',
        DAVPUSH_MAX_REGISTRATIONS_PER_PRINCIPAL: '2',
        DAVPUSH_LOG_LEVEL: 'verbose',
      },
      output,
    );
  });
  afterAll(async () => {
    await h?.close();
    output.stop();
    await fcm?.close();
    await push?.stop();
    account?.cleanup();
  });

  it('runs every path with secrets in play', async () => {
    keep('admin token', ADMIN_TOKEN);
    keep('VAPID private key', vapid.privateKey);
    keep('service-account private key', fs.readFileSync(account.file, 'utf8').match(/MII[A-Za-z0-9+/]{40}/)![0]);

    // Tenants: create, rotate (the old key keeps being tried), a second tenant.
    const t = (await (
      await h.request('POST', '/v1/tenants', { token: ADMIN_TOKEN, body: { name: 'cal.example' } })
    ).json()) as { id: string; apiKey: string };
    keep('API key (rotated away)', t.apiKey);
    const { apiKey } = (await (
      await h.request('POST', `/v1/tenants/${t.id}/rotate-key`, { token: ADMIN_TOKEN })
    ).json()) as { apiKey: string };
    keep('API key', apiKey);
    expect((await h.request('GET', '/v1/discovery?topic=t', { token: t.apiKey })).status).toBe(401);
    const other = (await (
      await h.request('POST', '/v1/tenants', { token: ADMIN_TOKEN, body: { name: 'other' } })
    ).json()) as { id: string; apiKey: string };
    keep('API key (revoked)', other.apiKey);
    await h.request('POST', `/v1/tenants/${other.id}/revoke`, { token: ADMIN_TOKEN });
    expect((await h.request('GET', '/v1/discovery?topic=t', { token: other.apiKey })).status).toBe(401);

    // Web Push subscriptions, each scripted to one outcome.
    const web = (script?: Parameters<FakePushService['script']>[1]) => {
      const c = push.subscribe();
      keep('push endpoint', c.pushResource);
      keep('push endpoint path', new URL(c.pushResource).pathname);
      keep('p256dh', c.publicKey);
      keep('auth secret', c.authSecret);
      if (script) push.script(push.idOf(c), script);
      return c;
    };
    const ok = web();
    const gone = web();
    push.gone(push.idOf(gone));
    const failing = web(Array.from({ length: 200 }, () => ({ status: 500, body: 'boom' })));
    const redirected = web([{ status: 307, headers: { location: `${push.origin}/push/elsewhere` } }]);
    const throttled = web([{ status: 429, headers: { 'retry-after': '1' } }]);
    const json = (c: WebPushClient) => ({
      subscription: {
        type: 'web-push',
        pushResource: c.pushResource,
        publicKey: c.publicKey,
        authSecret: c.authSecret,
      },
    });
    const reg = (body: unknown, headers: Record<string, string> = {}, token = apiKey) =>
      h.request('POST', '/v1/topics/cal/registrations', { token, body, headers });
    const expires = new Date(Date.now() + 4 * 86400_000).toUTCString();
    expect(
      (await reg(davx5Register(ok, expires), { 'content-type': 'application/xml', 'x-davpush-principal': 'alice' }))
        .status,
    ).toBe(201);
    expect((await reg(davx5Register(gone, expires), { 'content-type': 'application/xml' })).status).toBe(201);
    for (const c of [failing, redirected, throttled]) expect((await reg(json(c))).status).toBe(201);

    // FCM tokens: one fine, one unregistered, one failing.
    const token = (what: string) => {
      const v = `fcm-${what}-${Math.random().toString(36).slice(2)}-${'x'.repeat(120)}`;
      keep('FCM token', v);
      return v;
    };
    const fcmOk = token('ok');
    const fcmGone = token('gone');
    const fcmFailing = token('failing');
    fcm.failToken(fcmGone, 'UNREGISTERED');
    fcm.failToken(fcmFailing, 'INTERNAL');
    for (const v of [fcmOk, fcmGone, fcmFailing]) {
      expect(
        (
          await h.request('POST', '/v1/topics/fcm/registrations', {
            token: apiKey,
            body: { subscription: { type: 'fcm', token: v } },
          })
        ).status,
      ).toBe(201);
    }

    // Error paths, with secrets in the request.
    const probe = web();
    expect((await reg(json(probe), {}, `dpk_${'A'.repeat(43)}`)).status).toBe(401);
    expect((await reg(json(probe), {}, ADMIN_TOKEN)).status).toBe(401);
    expect((await h.request('GET', '/v1/tenants', { token: apiKey })).status).toBe(401);
    expect(
      (
        await reg({
          subscription: {
            ...json(probe).subscription,
            pushResource: `https://user:${probe.authSecret}@push.example/x`,
          },
        })
      ).status,
    ).toBe(403);
    expect(
      (await reg({ subscription: { ...json(probe).subscription, publicKey: probe.publicKey.slice(0, 40) } })).status,
    ).toBe(403);
    expect(
      (
        await reg(
          `{"subscription": {"type": "web-push", "pushResource": "${probe.pushResource}", "authSecret": ${probe.authSecret}}`,
          { 'content-type': 'application/json' },
        )
      ).status,
    ).toBe(400);
    expect(
      (
        await reg(davx5Register(probe, expires).replace('</P:push-register>', '<P:x>&bad;</P:x></P:push-register>'), {
          'content-type': 'application/xml',
        })
      ).status,
    ).toBe(400);
    expect((await reg(json(ok), { 'x-davpush-principal': 'mallory' })).status).toBe(403);
    for (const p of ['p1', 'p2', 'p3'])
      await reg(json(web()), { 'x-davpush-principal': 'bob' }).then((r) =>
        expect(r.status).toBe(p === 'p3' ? 403 : 201),
      );
    expect((await h.request('GET', '/v1/registrations/AAAAAAAAAAAAAAAAAAAAAA', { token: apiKey })).status).toBe(404);
    expect(
      (await reg(`<x>${'a'.repeat(20_000)}${probe.authSecret}</x>`, { 'content-type': 'application/xml' })).status,
    ).toBe(413);

    // Events: everything delivers, fails, retries, dead-letters.
    const ev = await h.request('POST', '/v1/events', {
      token: apiKey,
      body: {
        events: [
          { topic: 'cal', changes: ['content'], syncToken: 'S1', ttl: 3 },
          { topic: 'fcm', changes: ['content'], ttl: 3 },
        ],
      },
    });
    expect(ev.status).toBe(202);
    const flood = await Promise.all(
      Array.from({ length: 3 }, () =>
        h.request('POST', '/v1/events', {
          token: apiKey,
          body: { events: Array.from({ length: 20 }, () => ({ topic: 'none', changes: ['content'] })) },
        }),
      ),
    );
    expect(flood.map((r) => r.status)).toContain(429);

    await push.waitFor({ id: push.idOf(ok) });
    await push.waitFor({ id: push.idOf(throttled), count: 2 }, 15_000);
    await eventually(
      async () => fcm.requests.some((r) => JSON.stringify(r.body ?? '').includes(fcmOk)),
      15_000,
      'FCM send',
    );
    const dlq = await eventually(
      async () => {
        const list = (await (await h.request('GET', '/v1/admin/dlq', { token: ADMIN_TOKEN })).json()) as {
          total: number;
        };
        return list.total >= 3 && list;
      },
      20_000,
      'dead letters (500 until TTL, 307, FCM INTERNAL)',
    );
    expect(dlq.total).toBeGreaterThanOrEqual(3);
    expect((await h.request('POST', '/v1/admin/dlq/replay', { token: ADMIN_TOKEN })).status).toBe(200);
    await eventually(async () => output.text().includes('registration pruned'), 10_000, 'a prune log line');
    for (const r of push.received())
      if (r.headers.authorization) keep('VAPID JWT', r.headers.authorization.replace(/^vapid t=([^,]+).*$/, '$1'));
    for (const issued of fcm.issuedTokens) keep('FCM OAuth access token', issued);
    // Let the replayed dead letters run through the worker (and its logs) too.
    await new Promise((r) => setTimeout(r, 1000));
  }, 60_000);

  it('captured a real run (this test can fail)', () => {
    const text = output.text();
    for (const expected of [
      'http request',
      'fan-out',
      'registration pruned',
      'dead-lettered',
      'delivery will be retried',
    ])
      expect(text).toContain(expected);
    expect(secrets.size).toBeGreaterThan(30);
  });

  it('no line carries an API key, the admin token, a VAPID key, key material, an FCM token or a push endpoint', () => {
    const leaks: string[] = [];
    for (const line of output.lines) {
      for (const [secret, what] of secrets) if (line.includes(secret)) leaks.push(`${what}: ${line.slice(0, 400)}`);
    }
    expect(leaks).toEqual([]);
  });
});
