import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChangeNotifier } from '../../apps/proxy/src/changes/change.notifier';
import { OutOfBandChanges } from '../../apps/proxy/src/changes/out-of-band.service';
import { ProxyIdentity } from '../../apps/proxy/src/identity/proxy-identity.service';
import { freePort, startHarness, type Harness } from '../e2e/harness';
import { davx5Register } from '../e2e/push-documents';
import { FakePushService } from '../support/fake-push-service';
import { RedisServer } from '../support/redis-server';
import type { WebPushClient } from '../support/webpush-client';
import { basic, startRadicale, USERS, type DavServer } from './dav-servers';
import { EVENT, MKCALENDAR, must, SYNC_TOKEN_PROPFIND } from './proxy-harness';
import { readPush, syncTokenIn } from './push-documents';

const COMMAND_TIMEOUT_MS = 500;
const ics = { 'content-type': 'text/calendar; charset=utf-8' };

/**
 * The proxy while its Redis does not answer (SIGSTOP: the server lives and its socket stays open,
 * DAVPUSH_REDIS_COMMAND_TIMEOUT_MS fails each command). Radicale without its hook and no poller:
 * the test says when changes are checked (OutOfBandChanges.reconcile, what the hook and the poller run).
 */
describe('proxy when its Redis does not answer (Radicale)', () => {
  let redis: RedisServer;
  let upstream: DavServer;
  let push: FakePushService;
  let davpush: Harness;
  let proxyUrl: string;
  const freeze = () => redis.freeze();
  const thaw = () => redis?.thaw();

  const dav = (method: string, path: string, o: { body?: string; headers?: Record<string, string> } = {}) =>
    fetch(new URL(path, proxyUrl), {
      method,
      headers: {
        authorization: basic('alice'),
        ...(o.body?.startsWith('<') ? { 'content-type': 'application/xml' } : {}),
        ...o.headers,
      },
      body: o.body,
    });
  /** A write straight to Radicale: only a hook or poll check can see it. */
  const putDirect = (name: string) =>
    must(
      fetch(new URL(`/alice/cal/${name}.ics`, upstream.url), {
        method: 'PUT',
        headers: { authorization: basic('alice'), ...ics },
        body: EVENT(name),
      }),
      201,
    );
  const token = async () =>
    syncTokenIn(
      await (
        await must(dav('PROPFIND', '/alice/cal/', { body: SYNC_TOKEN_PROPFIND, headers: { depth: '0' } }), 207)
      ).text(),
    );
  const register = (client: WebPushClient) =>
    dav('POST', '/alice/cal/', { body: davx5Register(client, new Date(Date.now() + 86400_000).toUTCString()) });
  const pushedTokens = (client: WebPushClient) =>
    push.received(push.idOf(client)).map((r) => readPush(push, r).syncToken);

  beforeAll(async () => {
    redis = await RedisServer.start();
    upstream = await startRadicale();
    push = await FakePushService.start();
    const proxyPort = await freePort();
    proxyUrl = `http://127.0.0.1:${proxyPort}`;
    davpush = await startHarness(
      {
        DAVPUSH_PROXY_UPSTREAM: upstream.url,
        DAVPUSH_PROXY_PORT: String(proxyPort),
        DAVPUSH_PROXY_PUBLIC_URL: proxyUrl,
        DAVPUSH_PROXY_POLL_SECONDS: '0',
        DAVPUSH_PROXY_SERVICE_USER: 'davpush',
        DAVPUSH_PROXY_SERVICE_PASSWORD: USERS.davpush,
        DAVPUSH_REDIS_COMMAND_TIMEOUT_MS: String(COMMAND_TIMEOUT_MS),
      },
      undefined,
      redis,
    );
    await must(dav('MKCALENDAR', '/alice/cal/', { body: MKCALENDAR('Cal') }), 201);
  });
  afterAll(async () => {
    thaw();
    await davpush?.close();
    await push?.stop();
    await upstream?.stop();
    await redis?.stop();
  });

  it('a change whose push failed while Redis did not answer is pushed at the next check once it answers', async () => {
    const client = push.subscribe();
    await must(register(client), 201);
    const notifier = davpush.app.get(ChangeNotifier);
    const outOfBand = davpush.app.get(OutOfBandChanges);
    const [topic] = [...(await notifier.knownPaths()).keys()];
    // A first change pushed as usual (and Redis learns the token script: the frozen call below is an EVALSHA it can run).
    await putDirect('first');
    expect(await outOfBand.reconcile('poller')).toBe(1);

    await putDirect('second');
    const second = await token();
    freeze();
    try {
      // The check the hook or poller makes, caught where it hurts: the token is read from Radicale,
      // then its swap in Redis (and the event) time out. The swap's bytes are in Redis' socket: once
      // resumed, Redis records `second` as pushed although no event was accepted.
      const service = davpush.app.get(ProxyIdentity).serviceAuthorization();
      await expect(
        notifier.pushIfChanged(topic!, '/alice/cal/', 'content', service, { source: 'poller' }),
      ).rejects.toThrow('Command timed out');
    } finally {
      thaw();
    }
    // Without the undo (ChangeNotifier.unrecord) every later check finds `second` pushed: 0 for ever.
    await expect.poll(() => outOfBand.reconcile('poller').catch(() => -1), { timeout: 15_000, interval: 250 }).toBe(1);
    await expect.poll(() => pushedTokens(client), { timeout: 10_000 }).toContain(second);
    expect(await outOfBand.reconcile('poller')).toBe(0);
  });

  it('a registration, and its removal, answer 503 with Retry-After naming DAVPUSH_REDIS_COMMAND_TIMEOUT_MS, then work again', async () => {
    const location = (await must(register(push.subscribe()), 201)).headers.get('location')!;
    const remove = () => fetch(location, { method: 'DELETE', headers: { authorization: basic('alice') } });
    freeze();
    const answers: { status: number; retryAfter: string | null; body: string }[] = [];
    try {
      for (const res of [await register(push.subscribe()), await remove()])
        answers.push({ status: res.status, retryAfter: res.headers.get('retry-after'), body: await res.text() });
    } finally {
      thaw();
    }
    for (const a of answers) {
      expect(a).toMatchObject({ status: 503, retryAfter: '2' });
      // A DAV:error saying what happened (StorageTimeoutError), not a bare "Redis did not answer".
      expect(a.body).toContain('<D:error');
      expect(a.body).toMatch(
        /did not answer within 500 ms \(DAVPUSH_REDIS_COMMAND_TIMEOUT_MS\); the request may or may not/,
      );
    }
    await expect.poll(async () => (await remove()).status, { timeout: 10_000, interval: 250 }).toBe(204);
  });
});
