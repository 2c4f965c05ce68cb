import * as http from 'node:http';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { freePort, startHarness, type Harness } from '../e2e/harness';
import { davx5Register } from '../e2e/push-documents';
import { LogRecorder } from '../operations/log-recorder';
import { FakePushService } from '../support/fake-push-service';
import { RedisServer } from '../support/redis-server';
import type { WebPushClient } from '../support/webpush-client';
import { basic, startRadicale, USERS, type DavServer } from './dav-servers';
import { EVENT, MKCALENDAR, must, SYNC_TOKEN_PROPFIND } from './proxy-harness';
import { readPush, syncTokenIn } from './push-documents';

const ics = { 'content-type': 'text/calendar; charset=utf-8' };

/** What a new user gets wrong, and what davpush then says: service account, restarts, a DAV server that is down. */
describe('proxy faults (Radicale)', () => {
  const cleanups: (() => Promise<void>)[] = [];
  const cleanUp = async () => {
    for (const c of cleanups.splice(0).toReversed()) await c().catch(() => undefined);
  };
  afterEach(cleanUp);
  afterAll(cleanUp);

  async function setUp(
    env: Record<string, string>,
    opts: { hook?: boolean; redis?: RedisServer; proxyPort?: number; upstream?: DavServer } = {},
  ) {
    const proxyPort = opts.proxyPort ?? (await freePort());
    const proxyUrl = `http://127.0.0.1:${proxyPort}`;
    const upstream =
      opts.upstream ??
      (await startRadicale(opts.hook === false ? {} : { hookUrl: `${proxyUrl}/.davpush/hooks/radicale` }));
    if (!opts.upstream) cleanups.push(() => upstream.stop());
    const davpush = await startHarness(
      {
        DAVPUSH_PROXY_UPSTREAM: upstream.url,
        DAVPUSH_PROXY_PORT: String(proxyPort),
        DAVPUSH_PROXY_PUBLIC_URL: proxyUrl,
        DAVPUSH_PROXY_POLL_SECONDS: '0',
        ...env,
      },
      undefined,
      opts.redis,
    );
    cleanups.push(() => davpush.close());
    const logs = new LogRecorder();
    davpush.app.useLogger(logs);
    const dav = (
      method: string,
      path: string,
      o: { user?: string; body?: string; headers?: Record<string, string>; direct?: boolean } = {},
    ) =>
      fetch(new URL(path, o.direct ? upstream.url : proxyUrl), {
        method,
        headers: {
          ...(o.user ? { authorization: basic(o.user) } : {}),
          ...(o.body?.startsWith('<') ? { 'content-type': 'application/xml' } : {}),
          ...o.headers,
        },
        body: o.body,
      });
    const register = (path: string, client: WebPushClient) =>
      dav('POST', path, { user: 'alice', body: davx5Register(client, new Date(Date.now() + 86400_000).toUTCString()) });
    return { davpush, upstream, proxyUrl, proxyPort, logs, dav, register };
  }

  const metric = async (davpush: Harness, source: string, reason: string) => {
    const text = await (await davpush.request('GET', '/metrics')).text();
    const m = new RegExp(
      `^davpush_proxy_token_reads_failed_total\\{source="${source}",reason="${reason}"\\} (\\d+)$`,
      'm',
    ).exec(text);
    return m ? Number(m[1]) : undefined;
  };
  const ready = async (davpush: Harness) =>
    (
      (await (await davpush.request('GET', '/health/ready')).json()) as {
        details: Record<string, Record<string, unknown>>;
      }
    ).details;

  it('a service password the DAV server refuses stops start-up, naming the variables', async () => {
    const upstream = await startRadicale();
    cleanups.push(() => upstream.stop());
    const redis = await RedisServer.start();
    cleanups.push(() => redis.stop());
    await expect(
      startHarness(
        {
          DAVPUSH_PROXY_UPSTREAM: upstream.url,
          DAVPUSH_PROXY_PORT: String(await freePort()),
          DAVPUSH_PROXY_SERVICE_USER: 'davpush',
          DAVPUSH_PROXY_SERVICE_PASSWORD: 'not-the-password',
        },
        undefined,
        redis,
      ),
    ).rejects.toThrow(
      /DAVPUSH_PROXY_SERVICE_USER\/DAVPUSH_PROXY_SERVICE_PASSWORD: the DAV server .* refused the service account \(401\)/,
    );
  });

  it('a service account that cannot read: each lost change is counted, logged without credentials, and /health/ready says degraded', async () => {
    // bob's credentials are right, but bob may not read alice's calendar.
    const s = await setUp({ DAVPUSH_PROXY_SERVICE_USER: 'bob', DAVPUSH_PROXY_SERVICE_PASSWORD: USERS.bob });
    for (const source of ['write', 'hook', 'poller', 'catch-up'])
      expect(await metric(s.davpush, source, 'forbidden')).toBe(0);
    expect((await ready(s.davpush)).proxyUpstream).toMatchObject({
      status: 'up',
      upstream: 'answers',
      serviceAccount: 'accepted',
    });

    await must(s.dav('MKCALENDAR', '/alice/cal/', { user: 'alice', body: MKCALENDAR('Cal') }), 201);
    const push = await FakePushService.start();
    cleanups.push(() => push.stop());
    await must(s.register('/alice/cal/', push.subscribe()), 201);
    await must(
      s.dav('PUT', '/alice/cal/direct.ics', { user: 'alice', body: EVENT('direct'), headers: ics, direct: true }),
      201,
    );

    await expect.poll(() => metric(s.davpush, 'hook', 'forbidden'), { timeout: 10_000 }).toBe(1);
    const [warning] = s.logs.matching({
      msg: 'sync-token read failed; change not pushed',
      source: 'hook',
      reason: 'forbidden',
    });
    expect(warning).toMatchObject({ status: 403 });
    expect(String(warning!.hint)).toContain('read rights');
    expect(s.logs.text()).not.toContain(USERS.bob);
    expect(s.logs.text()).not.toContain(basic('bob').slice(6));
    expect((await ready(s.davpush)).proxyUpstream).toMatchObject({
      status: 'degraded',
      serviceAccount: 'cannot-read (403)',
    });
    expect(push.received()).toHaveLength(0);
  });

  it('changes made while davpush was down are pushed at the next start, with the poller off and no hook', async () => {
    const redis = await RedisServer.start();
    cleanups.push(() => redis.stop());
    const push = await FakePushService.start();
    cleanups.push(() => push.stop());
    const env = { DAVPUSH_PROXY_SERVICE_USER: 'davpush', DAVPUSH_PROXY_SERVICE_PASSWORD: USERS.davpush };
    const first = await setUp(env, { hook: false, redis });
    await must(first.dav('MKCALENDAR', '/alice/cal/', { user: 'alice', body: MKCALENDAR('Cal') }), 201);
    const client = push.subscribe();
    await must(first.register('/alice/cal/', client), 201);
    await first.davpush.close();

    await must(
      first.dav('PUT', '/alice/cal/offline.ics', { user: 'alice', body: EVENT('offline'), headers: ics, direct: true }),
      201,
    );
    const token = syncTokenIn(
      await (
        await must(
          first.dav('PROPFIND', '/alice/cal/', {
            user: 'alice',
            body: SYNC_TOKEN_PROPFIND,
            headers: { depth: '0' },
            direct: true,
          }),
          207,
        )
      ).text(),
    );

    await setUp(env, { redis, proxyPort: first.proxyPort, upstream: first.upstream });
    const [record] = await push.waitFor({ id: push.idOf(client) });
    expect(readPush(push, record!).syncToken).toBe(token);
  });

  it('the DAV server down: 502 Bad Gateway naming the cause for every method, push-register and registration DELETE included', async () => {
    const s = await setUp({ DAVPUSH_PROXY_SERVICE_USER: 'davpush', DAVPUSH_PROXY_SERVICE_PASSWORD: USERS.davpush });
    await must(s.dav('MKCALENDAR', '/alice/cal/', { user: 'alice', body: MKCALENDAR('Cal') }), 201);
    const push = await FakePushService.start();
    cleanups.push(() => push.stop());
    const location = (await must(s.register('/alice/cal/', push.subscribe()), 201)).headers.get('location')!;
    await s.upstream.stop();

    const answers = [
      await s.register('/alice/cal/', push.subscribe()),
      await fetch(location, { method: 'DELETE', headers: { authorization: basic('alice') } }),
      await s.dav('PUT', '/alice/cal/x.ics', { user: 'alice', body: EVENT('x'), headers: ics }),
      await s.dav('PROPFIND', '/alice/cal/', { user: 'alice', body: SYNC_TOKEN_PROPFIND }),
    ];
    for (const res of answers) {
      expect(res.status).toBe(502);
      expect(res.headers.get('retry-after')).toBeNull();
      expect(await res.text()).toMatch(/the DAV server did not answer \(ECONNREFUSED\)/);
    }
    expect((await ready(s.davpush)).proxyUpstream).toMatchObject({
      status: 'degraded',
      upstream: 'does not answer (ECONNREFUSED)',
    });
  });

  it('chunked PUT: Radicale answers 400; with DAVPUSH_PROXY_CHUNKED_BUFFER_BYTES the proxy sends it with a length, and refuses more with 413', async () => {
    const s = await setUp({
      DAVPUSH_PROXY_SERVICE_USER: 'davpush',
      DAVPUSH_PROXY_SERVICE_PASSWORD: USERS.davpush,
      DAVPUSH_PROXY_CHUNKED_BUFFER_BYTES: '4096',
    });
    await must(s.dav('MKCALENDAR', '/alice/cal/', { user: 'alice', body: MKCALENDAR('Cal') }), 201);
    const chunkedPut = (base: string, path: string, body: string) =>
      new Promise<number>((resolve, reject) => {
        const req = http.request(new URL(path, base), {
          method: 'PUT',
          headers: { ...ics, authorization: basic('alice') },
        });
        req.on('response', (res) => (res.resume(), resolve(res.statusCode!))).on('error', reject);
        // Two writes without a length: Node sends Transfer-Encoding: chunked.
        req.write(body.slice(0, 20));
        req.end(body.slice(20));
      });
    expect(await chunkedPut(s.upstream.url, '/alice/cal/direct.ics', EVENT('direct'))).toBe(400);
    expect(await chunkedPut(s.proxyUrl, '/alice/cal/chunked.ics', EVENT('chunked'))).toBe(201);
    expect(await (await s.dav('GET', '/alice/cal/chunked.ics', { user: 'alice' })).text()).toContain('UID:chunked');
    expect(await chunkedPut(s.proxyUrl, '/alice/cal/big.ics', EVENT('big', 'x'.repeat(5000)))).toBe(413);
    expect((await s.dav('GET', '/alice/cal/big.ics', { user: 'alice' })).status).toBe(404);
  });

  it('MOVE to another host is 502 (RFC 4918 §9.9.4), never rewritten to the DAV server', async () => {
    const s = await setUp({ DAVPUSH_PROXY_SERVICE_USER: 'davpush', DAVPUSH_PROXY_SERVICE_PASSWORD: USERS.davpush });
    await must(s.dav('MKCALENDAR', '/alice/cal/', { user: 'alice', body: MKCALENDAR('Cal') }), 201);
    await must(s.dav('PUT', '/alice/cal/m.ics', { user: 'alice', body: EVENT('m'), headers: ics }), 201);
    const res = await s.dav('MOVE', '/alice/cal/m.ics', {
      user: 'alice',
      headers: { destination: 'https://elsewhere.example/alice/cal/n.ics' },
    });
    expect(res.status).toBe(502);
    expect(await res.text()).toContain('another server');
    expect((await s.dav('GET', '/alice/cal/m.ics', { user: 'alice' })).status).toBe(200);
    expect((await s.dav('GET', '/alice/cal/n.ics', { user: 'alice' })).status).toBe(404);
  });
});
