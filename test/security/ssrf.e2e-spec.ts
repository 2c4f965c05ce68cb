import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakePushService } from '../support/fake-push-service';
import { RedisServer } from '../support/redis-server';
import { WebPushClient } from '../support/webpush-client';
import { eventually, startHarness, type Harness } from '../e2e/harness';
import { idOf, REGISTRATION_PATTERNS } from './support';

/**
 * docs/security.md "Outbound requests (SSRF)", end to end with DAVPUSH_ALLOW_PRIVATE_PUSH_ENDPOINTS=0 (the production default):
 * no registration may aim davpush's outbound requests at the machine or network it runs in.
 */
describe('SSRF: push resources aimed inside are refused', () => {
  let redisServer: RedisServer;
  let h: Harness;
  let redis: Redis;
  let apiKey: string;

  beforeAll(async () => {
    redisServer = await RedisServer.start();
    h = await startHarness({ DAVPUSH_ALLOW_PRIVATE_PUSH_ENDPOINTS: '0' }, undefined, redisServer);
    ({ apiKey } = await h.createTenant());
    redis = new Redis({ path: redisServer.socketPath });
  });
  afterAll(async () => {
    redis?.disconnect();
    await h?.close();
    await redisServer?.stop();
  });

  const registerJson = (pushResource: string) => {
    const c = WebPushClient.create(pushResource);
    return h.request('POST', '/v1/topics/ssrf/registrations', {
      token: apiKey,
      body: { subscription: { type: 'web-push', pushResource, publicKey: c.publicKey, authSecret: c.authSecret } },
    });
  };
  const registerXml = (pushResource: string) => {
    const c = WebPushClient.create('https://x.invalid/');
    const esc = pushResource.replace(/&/g, '&amp;').replace(/</g, '&lt;');
    const body =
      `<push-register xmlns="https://bitfire.at/webdav-push"><subscription><web-push-subscription>` +
      `<push-resource>${esc}</push-resource><subscription-public-key type="p256dh">${c.publicKey}</subscription-public-key>` +
      `<auth-secret>${c.authSecret}</auth-secret></web-push-subscription></subscription></push-register>`;
    return h.request('POST', '/v1/topics/ssrf/registrations', {
      token: apiKey,
      body,
      headers: { 'content-type': 'application/xml' },
    });
  };
  // CC/CD 70025: the Web Push subscription arrives as client-data (docs/cc70025.md).
  const registerGateway = (pushResource: string) => {
    const c = WebPushClient.create('https://x.invalid/');
    const clientData = JSON.stringify({ endpoint: pushResource, keys: { p256dh: c.publicKey, auth: c.authSecret } });
    const expires = new Date(Date.now() + 3600_000).toISOString();
    return h.request('POST', '/v1/gateway', {
      token: apiKey,
      body: {
        'push-subscribe': {
          topics: ['ssrf'],
          'selected-transport': { 'transport-uri': 'web-push', 'client-data': clientData },
          expires,
        },
      },
    });
  };
  const stored = async () =>
    (
      await Promise.all(
        REGISTRATION_PATTERNS.slice(0, 1).map(async (p) =>
          Promise.all((await redis.keys(p)).map((k) => redis.hlen(k))),
        ),
      )
    )
      .flat()
      .reduce((sum, n) => sum + n, 0);

  it.each([
    // literal IPv4: loopback, private, link-local + metadata, CGNAT, multicast, unspecified, broadcast
    'https://127.0.0.1/p',
    'https://127.0.0.1:8443/p',
    'https://10.0.0.1/p',
    'https://172.16.5.4/p',
    'https://192.168.1.1/p',
    'https://169.254.169.254/latest/meta-data/',
    'https://100.64.0.1/p',
    'https://224.0.0.1/p',
    'https://0.0.0.0/p',
    'https://255.255.255.255/p',
    // literal IPv6: loopback, unspecified, link-local, ULA, AWS metadata, multicast, IPv4-compatible
    'https://[::1]/p',
    'https://[::]/p',
    'https://[fe80::1]/p',
    'https://[fc00::1]/p',
    'https://[fd00:ec2::254]/p',
    'https://[ff02::1]/p',
    'https://[::7f00:1]/p',
    // IPv4-mapped IPv6
    'https://[::ffff:127.0.0.1]/p',
    'https://[::ffff:7f00:1]/p',
    'https://[::ffff:169.254.169.254]/p',
    'https://[0:0:0:0:0:ffff:a00:1]/p',
    // decimal, hex, octal and short IPv4 forms (WHATWG URL normalises them all to 127.0.0.1)
    'https://2130706433/p',
    'https://0x7f.1/p',
    'https://0177.0.0.1/p',
    'https://0x7f000001/p',
    'https://127.1/p',
    'https://%31%32%37.0.0.1/p',
    // names resolving to loopback
    'https://localhost/p',
    'https://LOCALHOST:443/p',
    'https://localhost./p',
  ])('%s → 403 invalid-subscription, nothing stored', async (url) => {
    for (const register of [registerJson, registerXml, registerGateway]) {
      const res = await register(url);
      expect(res.status).toBe(403);
      expect(await res.text()).toMatch(/invalid-subscription/);
    }
    expect(await stored()).toBe(0);
  });

  it.each([
    ['http: push resources', 'http://push.example.net/p', /https/],
    ['userinfo', 'https://user:secret@push.example.net/p', /credentials/],
    ['a username alone', 'https://user@push.example.net/p', /credentials/],
    ['other schemes', 'file:///etc/passwd', /https/],
    ['gopher', 'gopher://127.0.0.1:6379/_FLUSHALL', /https/],
    ['a host that does not resolve', 'https://does-not-exist.invalid/p', /does not resolve/],
  ])('%s → 403 invalid-subscription', async (_what, url, why) => {
    const res = await registerJson(url);
    expect(res.status).toBe(403);
    const body = (await res.json()) as { precondition: string; detail: string };
    expect(body.precondition).toBe('invalid-subscription');
    expect(body.detail).toMatch(why);
    expect(await stored()).toBe(0);
  });

  it('checks again at send time: a registration stored while private endpoints were allowed is never sent to', async () => {
    const push = await FakePushService.start();
    // The same Redis, first served by an installation that allowed private endpoints (a LAN setup)…
    const lenient = await startHarness({ DAVPUSH_ALLOW_PRIVATE_PUSH_ENDPOINTS: '1' }, undefined, redisServer);
    const client = push.subscribe();
    const res = await lenient.request('POST', '/v1/topics/lan/registrations', {
      token: apiKey,
      body: {
        subscription: {
          type: 'web-push',
          pushResource: client.pushResource,
          publicKey: client.publicKey,
          authSecret: client.authSecret,
        },
      },
    });
    expect(res.status).toBe(201);
    await lenient.close();
    // …then by this strict one: the delivery is refused on the address. Our own refusal is not the
    // push service's 404/410 (RFC 8030 §8.2): the registration is kept, never pruned on it.
    const ev = await h.request('POST', '/v1/events', { token: apiKey, body: { topic: 'lan', changes: ['content'] } });
    const { events } = (await ev.json()) as { events: { id: string }[] };
    const status = await eventually(
      async () => {
        const s = (await (await h.request('GET', `/v1/events/${events[0]!.id}`, { token: apiKey })).json()) as {
          state: string;
          deliveries: Record<string, number>;
        };
        return s.state === 'done' && s.deliveries.failed === 1 && s;
      },
      15_000,
      'the delivery settled as failed',
    );
    expect(status.deliveries).toMatchObject({ gone: 0, accepted: 0, failed: 1 });
    expect(push.received()).toEqual([]);
    const kept = idOf(res.headers.get('location'));
    expect(await redis.hexists(`{${kept.slice(0, 20)}}:r`, Buffer.from(kept.slice(20, 36), 'base64url'))).toBe(1);
    await push.stop();
  });
});
