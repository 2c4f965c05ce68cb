import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as tls from 'node:tls';
import { Redis } from 'ioredis';
import webpush, { WebPushError } from 'web-push';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakePushService } from './fake-push-service';
import { RedisServer } from './redis-server';
import { ensureTestCa, issueServerCert } from './test-ca';
import { verifyVapid, WebPushClient } from './webpush-client';

const vapid = webpush.generateVAPIDKeys();
const vapidDetails = { subject: 'mailto:a@b.c', publicKey: vapid.publicKey, privateKey: vapid.privateKey };

function send(client: WebPushClient, payload: string | Buffer, options: webpush.RequestOptions = {}) {
  return webpush.sendNotification(client.subscription, payload, { vapidDetails, TTL: 60, ...options });
}

/** A raw POST, for requests `web-push` would never produce. */
function rawPost(
  url: string,
  headers: Record<string, string>,
  body: Buffer,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      { method: 'POST', headers: { ...headers, 'content-length': String(body.length) } },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function rejection(p: Promise<unknown>): Promise<WebPushError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WebPushError);
  return err as WebPushError;
}

describe('test CA', () => {
  it('is the CA vitest.config.ts trusts, and signs a leaf for localhost and loopback IPs', () => {
    const ca = ensureTestCa();
    expect(process.env.NODE_EXTRA_CA_CERTS).toBe(ca.caCertPath);
    expect(ensureTestCa()).toEqual(ca);
    const leaf = new crypto.X509Certificate(issueServerCert(['localhost', '127.0.0.1', '::1']).cert);
    const root = new crypto.X509Certificate(ca.caCert);
    expect(root.ca).toBe(true);
    expect(leaf.verify(root.publicKey)).toBe(true);
    expect(leaf.subjectAltName?.split(', ').toSorted()).toEqual([
      'DNS:localhost',
      'IP Address:0:0:0:0:0:0:0:1',
      'IP Address:127.0.0.1',
    ]);
    expect(leaf.checkHost('localhost')).toBe('localhost');
    expect(issueServerCert(['::1', 'localhost', '127.0.0.1']).cert).toBe(leaf.toString());
    expect(tls.createSecureContext(issueServerCert(['push.example.test']))).toBeDefined();
  });
});

describe('WebPushClient + FakePushService against the real web-push package', () => {
  let sut: FakePushService;

  beforeAll(async () => {
    sut = await FakePushService.start();
  });
  afterAll(async () => {
    await sut?.stop();
  });

  it('accepts, records, decrypts and verifies VAPID like a real push service', async () => {
    const client = sut.subscribe();
    expect(client.pushResource).toMatch(new RegExp(`^${sut.origin}/push/[A-Za-z0-9_-]{22}$`));
    expect(Buffer.from(client.publicKey, 'base64url')).toHaveLength(65);
    expect(Buffer.from(client.authSecret, 'base64url')).toHaveLength(16);

    const res = await send(client, 'hello', { urgency: 'high', topic: 'abc' });
    expect(res.statusCode).toBe(201);
    expect(res.headers.location).toMatch(new RegExp(`^${sut.origin}/message/[0-9a-f-]{36}$`));
    expect(res.headers.ttl).toBe('60');

    const [record] = await sut.waitFor({ id: sut.idOf(client) }, 1000);
    expect(record).toMatchObject({ method: 'POST', status: 201, path: new URL(client.pushResource).pathname });
    expect(record!.headers).toMatchObject({
      ttl: '60',
      urgency: 'high',
      topic: 'abc',
      'content-encoding': 'aes128gcm',
    });
    expect(client.decrypt(record!.body)).toBe('hello');
    expect(sut.decryptRecord(record!)).toBe('hello');

    const { claims, header } = verifyVapid(record!.headers.authorization, {
      expectedPublicKey: vapid.publicKey,
      expectedAudience: sut.origin,
    });
    expect(claims.aud).toBe(sut.origin);
    expect(claims.sub).toBe('mailto:a@b.c');
    expect(header).toMatchObject({ alg: 'ES256' });
  });

  it('rejects a tampered body, a foreign key and a wrong audience or expiry', async () => {
    const client = sut.subscribe();
    await send(client, 'secret');
    const [record] = sut.received(sut.idOf(client));
    const tampered = Buffer.from(record!.body);
    tampered[tampered.length - 20]! ^= 1;
    expect(() => client.decrypt(tampered)).toThrow(/authentication failed/);
    expect(() => WebPushClient.create('x').decrypt(record!.body)).toThrow(/authentication failed/);
    const badIdlen = Buffer.from(record!.body);
    badIdlen[20] = 64;
    expect(() => client.decrypt(badIdlen)).toThrow(/keyid length 64/);

    const auth = record!.headers.authorization;
    const other = webpush.generateVAPIDKeys().publicKey;
    expect(() => verifyVapid(auth, { expectedPublicKey: other, expectedAudience: sut.origin })).toThrow(
      /does not match the expected public key/,
    );
    expect(() =>
      verifyVapid(auth, { expectedPublicKey: vapid.publicKey, expectedAudience: 'https://elsewhere.test' }),
    ).toThrow(/aud/);
    const later = Math.floor(Date.now() / 1000) + 25 * 3600;
    expect(() =>
      verifyVapid(auth, { expectedPublicKey: vapid.publicKey, expectedAudience: sut.origin, now: later }),
    ).toThrow(/exp .* not in the future/);
    expect(() => verifyVapid(undefined, { expectedPublicKey: vapid.publicKey, expectedAudience: sut.origin })).toThrow(
      /no Authorization/,
    );
    const forged = auth!.replace(
      /t=([^.]+)\.([^.]+)\./,
      (_m, h: string) =>
        `t=${h}.${Buffer.from(JSON.stringify({ aud: sut.origin, exp: later, sub: 'mailto:x@y.z' })).toString('base64url')}.`,
    );
    expect(() => verifyVapid(forged, { expectedPublicKey: vapid.publicKey, expectedAudience: sut.origin })).toThrow(
      /signature does not verify/,
    );
  });

  it('answers a scripted 429 with Retry-After, then returns to 201', async () => {
    const client = sut.subscribe();
    sut.script(sut.idOf(client), [{ status: 429, headers: { 'retry-after': '7' }, body: 'slow down' }]);
    const err = await rejection(send(client, 'x'));
    expect(err.statusCode).toBe(429);
    expect(err.headers['retry-after']).toBe('7');
    expect(err.body).toBe('slow down');
    expect((await send(client, 'y')).statusCode).toBe(201);
  });

  it('applies "*" scripts, delays and latency', async () => {
    const client = sut.subscribe();
    sut.script('*', [{ delayMs: 150, status: 503 }]);
    const t0 = Date.now();
    expect((await rejection(send(client, 'x'))).statusCode).toBe(503);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
    sut.setLatency(100);
    const t1 = Date.now();
    expect((await send(client, 'y')).statusCode).toBe(201);
    expect(Date.now() - t1).toBeGreaterThanOrEqual(90);
    sut.setLatency(0);
  });

  it('answers 410 after gone() and 404 for unknown subscriptions', async () => {
    const client = sut.subscribe();
    sut.gone(sut.idOf(client));
    expect((await rejection(send(client, 'x'))).statusCode).toBe(410);
    expect((await rejection(send(client, 'x'))).statusCode).toBe(410);
    const stranger = WebPushClient.create(`${sut.origin}/push/${crypto.randomBytes(16).toString('base64url')}`);
    expect((await rejection(send(stranger, 'x'))).statusCode).toBe(404);
  });

  it('validates like a real push service: 413, 400 for TTL, encoding, Urgency and Topic', async () => {
    const client = sut.subscribe();
    expect((await rejection(send(client, 'x'.repeat(5000)))).statusCode).toBe(413);
    const ok = { ttl: '60', 'content-encoding': 'aes128gcm' };
    const body = crypto.randomBytes(100);
    const cases: Array<[Record<string, string>, number]> = [
      [{ 'content-encoding': 'aes128gcm' }, 400],
      [{ ...ok, ttl: '-1' }, 400],
      [{ ttl: '60', 'content-encoding': 'aesgcm' }, 400],
      [{ ...ok, urgency: 'urgent' }, 400],
      [{ ...ok, topic: 'a'.repeat(33) }, 400],
      [{ ...ok, topic: 'has space' }, 400],
      [{ ...ok, urgency: 'very-low', topic: 'a'.repeat(32) }, 201],
    ];
    for (const [headers, status] of cases) {
      expect({ headers, status: (await rawPost(client.pushResource, headers, body)).status }).toEqual({
        headers,
        status,
      });
    }
    expect((await rawPost(client.pushResource, {}, Buffer.alloc(0))).body).toMatch(/missing TTL/);
    expect(sut.received(sut.idOf(client)).map((r) => r.status)).toEqual([413, 400, 400, 400, 400, 400, 400, 201, 400]);
  });

  it('hangs on request, and still stops; waitFor times out with a useful message', async () => {
    const own = await FakePushService.start({ host: 'localhost' });
    expect(own.origin).toMatch(/^https:\/\/localhost:\d+$/);
    const client = own.subscribe();
    own.script(own.idOf(client), [{ hang: true }]);
    const pending = send(client, 'x', { timeout: 60_000 }).then(
      () => 'answered',
      (e: Error) => e.message,
    );
    expect((await own.waitFor(1, 2000))[0]!.status).toBe(0);
    await expect(own.waitFor(2, 50)).rejects.toThrow(
      /timed out after 50 ms waiting for 2 request\(s\); received: POST \/push\/\S+ → 0/,
    );
    await own.stop();
    expect(await pending).not.toBe('answered');
  });
});

describe('RedisServer', () => {
  it('starts, keeps AOF data across restart and kill, and stops without leftovers', async () => {
    const sut = await RedisServer.start({ appendonly: true });
    expect(sut.url).toBe(`unix://${sut.socketPath}`);
    expect((fs.statSync(sut.socketPath).mode & 0o777).toString(8)).toBe('700');
    let redis = new Redis({ path: sut.socketPath, lazyConnect: true, maxRetriesPerRequest: 0 });
    await redis.connect();
    expect(await redis.ping()).toBe('PONG');
    await redis.set('k', 'v1');
    redis.disconnect();

    const firstPid = sut.pid!;
    await sut.restart();
    expect(sut.pid).not.toBe(firstPid);
    redis = new Redis({ path: sut.socketPath, lazyConnect: true, maxRetriesPerRequest: 0 });
    await redis.connect();
    expect(await redis.get('k')).toBe('v1');
    await redis.set('k', 'v2');
    redis.disconnect();

    await sut.kill();
    await sut.restart();
    redis = new Redis({ path: sut.socketPath, lazyConnect: true, maxRetriesPerRequest: 0 });
    await redis.connect();
    expect(await redis.get('k')).toBe('v2');
    redis.disconnect();

    const pid = sut.pid!;
    await sut.stop();
    expect(sut.pid).toBeUndefined();
    expect(() => process.kill(pid, 0)).toThrow(/ESRCH/);
    await sut.stop();
  });

  it('without appendonly starts empty after restart; stopAll stops every instance', async () => {
    const a = await RedisServer.start();
    const b = await RedisServer.start();
    const redis = new Redis({ path: a.socketPath, lazyConnect: true });
    await redis.connect();
    await redis.set('k', 'v');
    redis.disconnect();
    await a.restart();
    const again = new Redis({ path: a.socketPath, lazyConnect: true });
    await again.connect();
    expect(await again.get('k')).toBeNull();
    again.disconnect();
    const pids = [a.pid!, b.pid!];
    await RedisServer.stopAll();
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow(/ESRCH/);
  });
});
