import * as net from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { WebPushClient } from '../support/webpush-client';
import { davx5Register } from '../e2e/push-documents';
import { ADMIN_TOKEN, startHarness, type Harness } from '../e2e/harness';
import { diff, REGISTRATION_PATTERNS, snapshot, type Snapshot } from './support';

/**
 * docs/security.md "Hostile input": hostile XML, JSON, headers and path parameters get a clear 4xx, never a 5xx;
 * nothing is stored from them and no prototype is polluted.
 */
describe('hostile input', () => {
  let h: Harness;
  let redis: Redis;
  let key: string;
  let before: Snapshot;
  const client = WebPushClient.create('https://127.0.0.1:9/push/hostile');
  const valid = () => davx5Register(client, new Date(Date.now() + 86400_000 * 3).toUTCString());
  const stored = () => snapshot(redis, [...REGISTRATION_PATTERNS, '{davpush}:tenant*', '{topics.*}', '{principal.*}']);

  beforeAll(async () => {
    h = await startHarness({}, { api: true, worker: false });
    ({ apiKey: key } = await h.createTenant('hostile'));
    redis = new Redis({ path: h.redis.socketPath });
  });
  afterAll(async () => {
    redis?.disconnect();
    await h?.close();
  });
  beforeEach(async () => {
    before = await stored();
  });

  const post = (path: string, body: string | Buffer, contentType: string, token = key) =>
    fetch(new URL(path, h.baseUrl), {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': contentType },
      body,
    });

  async function expectRefused(res: Response, status: number) {
    expect(res.status).toBe(status);
    const text = await res.text();
    expect(text.length).toBeGreaterThan(0);
    expect(diff(before, await stored())).toEqual({ added: [], removed: [], changed: [] });
    return text;
  }

  describe('XML registration bodies', () => {
    const utf16 = (s: string, bom: boolean) =>
      Buffer.concat([bom ? Buffer.from([0xff, 0xfe]) : Buffer.alloc(0), Buffer.from(s, 'utf16le')]);
    it.each([
      [
        'billion laughs',
        () =>
          `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><push-register xmlns="https://bitfire.at/webdav-push">&lol2;</push-register>`,
      ],
      [
        'an external entity (XXE)',
        () =>
          `<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><push-register xmlns="https://bitfire.at/webdav-push"><expires>&x;</expires></push-register>`,
      ],
      ['a DOCTYPE alone', () => `<!DOCTYPE push-register>${valid().replace(/^<\?xml[^>]*>/, '')}`],
      ['an undeclared entity', () => valid().replace('</P:expires>', '&xxe;</P:expires>')],
      [
        '2000 levels of nesting',
        () =>
          `<push-register xmlns="https://bitfire.at/webdav-push">${'<a>'.repeat(2000)}${'</a>'.repeat(2000)}</push-register>`,
      ],
      [
        'a 10 KiB text node',
        () =>
          valid().replace(/<P:push-resource>[^<]*/, `<P:push-resource>https://127.0.0.1:9/${'a'.repeat(10 * 1024)}`),
      ],
      ['two push resources', () => valid().replace(/(<P:push-resource>[^<]*<\/P:push-resource>)/, '$1$1')],
      ['no namespace', () => valid().replace(' xmlns:P="https://bitfire.at/webdav-push"', ' xmlns:P=""')],
      ['the wrong namespace', () => valid().replace('https://bitfire.at/webdav-push', 'DAV:Push')],
      ['an undeclared prefix', () => valid().replace(' xmlns:P="https://bitfire.at/webdav-push"', '')],
      ['truncated XML', () => valid().slice(0, 200)],
      ['encoding="UTF-16" declared over UTF-8 bytes', () => valid().replace("encoding='UTF-8'", "encoding='UTF-16'")],
      ['Latin-1 bytes', () => Buffer.from(valid().replace('</P:expires>', 'é</P:expires>'), 'latin1')],
      ['UTF-16LE with a BOM', () => utf16(valid(), true)],
      ['UTF-16LE without a BOM', () => utf16(valid(), false)],
      ['a NUL byte', () => valid().replace('</P:expires>', '\u0000</P:expires>')],
    ])('%s → 400 DAV:error', async (_what, body) => {
      const text = await expectRefused(await post('/v1/topics/x/registrations', body(), 'application/xml'), 400);
      expect(text).toContain('DAV:');
    });

    it('a charset other than UTF-8 in Content-Type → 415', async () => {
      await expectRefused(await post('/v1/topics/x/registrations', valid(), 'application/xml; charset=utf-16'), 415);
      await expectRefused(
        await post('/v1/events', '{"topic":"a","changes":["content"]}', 'application/json; charset=iso-8859-1'),
        415,
      );
    });
  });

  describe('JSON bodies', () => {
    const deepArray = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
    const deepObject = (n: number) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`;
    it.each([
      ['events: 10k nested arrays', '/v1/events', `{"events":[${deepArray(10_000)}]}`, 400],
      ['events: 100k nested arrays', '/v1/events', `{"events":[${deepArray(100_000)}]}`, 400],
      ['events: 10k nested objects', '/v1/events', deepObject(10_000), 400],
      ['events: a top-level array', '/v1/events', deepArray(10_000), 400],
      [
        'events: 1001 events',
        '/v1/events',
        JSON.stringify({ events: Array.from({ length: 1001 }, () => ({ topic: 't', changes: ['content'] })) }),
        400,
      ],
      ['events: 200k numbers', '/v1/events', `{"events":[${'0,'.repeat(200_000)}0]}`, 400],
      ['events: wrong types', '/v1/events', '{"topic":7,"changes":"content","ttl":"1","urgency":["high"]}', 400],
      ['events: ttl 1e400 (Infinity)', '/v1/events', '{"topic":"t","changes":["content"],"ttl":1e400}', 400],
      ['events: a lone surrogate in the topic', '/v1/events', '{"topic":"\\ud800","changes":["content"]}', 400],
      ['events: null', '/v1/events', 'null', 400],
      ['registrations: 5k nested arrays', '/v1/topics/x/registrations', `{"subscription":${deepArray(5000)}}`, 400],
      [
        'registrations: 2k nested objects',
        '/v1/topics/x/registrations',
        `{"subscription":{"type":${deepObject(2000)}}}`,
        400,
      ],
      [
        'registrations: props of wrong types',
        '/v1/topics/x/registrations',
        '{"trigger":{"propertyUpdate":{"props":[1,{},[]]}}}',
        400,
      ],
      ['tenants: 10k nested arrays', '/v1/tenants', `{"name":${deepArray(10_000)}}`, 400],
      ['tenants: a name of control characters', '/v1/tenants', '{"name":"\\u0000\\u001b[31m"}', 400],
      ['dlq replay: nested ids', '/v1/admin/dlq/replay', `{"ids":[${deepArray(10_000)}]}`, 400],
    ])('%s → 4xx', async (_what, path, body, status) => {
      const token = path.startsWith('/v1/tenants') || path.startsWith('/v1/admin') ? ADMIN_TOKEN : key;
      const text = await expectRefused(await post(path, body, 'application/json', token), status);
      expect(JSON.parse(text)).toMatchObject({ status });
    });

    it('prototype keys pollute nothing, in any body, at any depth', async () => {
      const poison =
        '"__proto__":{"polluted":"yes","isAdmin":true},"constructor":{"prototype":{"polluted":"yes"}},"prototype":{"polluted":"yes"}';
      const bodies: [string, string, string][] = [
        ['/v1/events', `{"topic":"p","changes":["content"],${poison}}`, key],
        ['/v1/events', `{"events":[{"topic":"p","changes":["content"],${poison}}],${poison}}`, key],
        ['/v1/events', `{${poison},"topic":"p","changes":["content"],"dontNotify":[{${poison}}]}`, key],
        [
          '/v1/topics/p/registrations',
          `{"subscription":{"type":"web-push",${poison}},"trigger":{${poison}},${poison}}`,
          key,
        ],
        ['/v1/tenants', `{"name":"x",${poison}}`, ADMIN_TOKEN],
        ['/v1/admin/dlq/replay', `{${poison}}`, ADMIN_TOKEN],
      ];
      for (const [path, body, token] of bodies) {
        const res = await post(path, body, 'application/json', token);
        expect(res.status, `${path} ${body}`).toBeLessThan(500);
      }
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
      expect(Object.getOwnPropertyNames(Object.prototype)).not.toContain('polluted');
      // The tenant created with a poisoned body is an ordinary one.
      const tenants = (await (
        await fetch(new URL('/v1/tenants', h.baseUrl), { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
      ).json()) as object[];
      for (const t of tenants) expect(Object.keys(t).toSorted()).toEqual(['createdAt', 'id', 'name']);
    });
  });

  describe('headers', () => {
    /** Raw HTTP/1.1, for what fetch refuses to send: repeated headers, bare CR, obs-fold. */
    function raw(head: string): Promise<string> {
      return new Promise((resolve, reject) => {
        const { port } = new URL(h.baseUrl);
        // Written, not ended: the server closes (Connection: close), a half-closed socket may not wait.
        const s = net.connect(Number(port), '127.0.0.1', () => s.write(`${head}\r\n\r\n`));
        let out = '';
        s.on('data', (c) => (out += c.toString('latin1')));
        s.on('end', () => resolve(out));
        s.on('error', reject);
      });
    }
    const statusOf = (response: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1]);
    const get = (extra: string) =>
      raw(`GET /v1/discovery?topic=t HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${extra}`);

    it('a valid raw request works (the helper is sound)', async () => {
      expect(statusOf(await get(`Authorization: Bearer ${key}`))).toBe(200);
    });

    it.each([
      ['two Authorization headers', `Authorization: Bearer ${key}\r\nAuthorization: Bearer dpk_other`],
      ['the same Authorization twice', `Authorization: Bearer ${key}\r\nauthorization: Bearer ${key}`],
      ['two principals', `Authorization: Bearer ${key}\r\nX-Davpush-Principal: alice\r\nX-Davpush-Principal: bob`],
      [
        'two Content-Types',
        `Authorization: Bearer ${key}\r\nContent-Type: application/json\r\nContent-Type: application/xml`,
      ],
    ])('%s → 400', async (_what, headers) => {
      expect(statusOf(await get(headers))).toBe(400);
    });

    it.each([
      ['a bare CR inside a value', `Authorization: Bearer ${key}\r\nX-Davpush-Principal: alice\rX-Injected: 1`],
      ['a bare LF inside a value', `Authorization: Bearer ${key}\r\nX-Davpush-Principal: alice\nX-Injected: 1`],
      ['an obs-fold continuation', `Authorization: Bearer ${key}\r\nX-Davpush-Principal: alice\r\n bob`],
      ['a NUL in a value', `Authorization: Bearer ${key}\r\nX-Davpush-Principal: al\u0000ice`],
      ['a space before the colon', `Authorization : Bearer ${key}`],
    ])('%s → 400 from the HTTP parser', async (_what, headers) => {
      expect(statusOf(await get(headers))).toBe(400);
    });

    it('oversized headers → 431 from Node itself, and the server stays up', async () => {
      const res = await fetch(new URL('/v1/discovery?topic=t', h.baseUrl), {
        headers: { authorization: `Bearer ${key}`, 'x-junk': 'a'.repeat(20 * 1024) },
      });
      expect(res.status).toBe(431);
      expect(
        statusOf(await raw(`GET /v1/registrations/${'a'.repeat(20 * 1024)} HTTP/1.1\r\nHost: x\r\nConnection: close`)),
      ).toBe(431);
      expect((await fetch(new URL('/health/live', h.baseUrl))).status).toBe(200);
    });

    it('a hostile X-Request-Id is not echoed; a sane one is', async () => {
      const bad = await fetch(new URL('/health/live', h.baseUrl), {
        headers: { 'x-request-id': 'a%0d%0aSet-Cookie:x=1' },
      });
      expect(bad.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
      expect(bad.headers.get('set-cookie')).toBeNull();
      const good = await fetch(new URL('/health/live', h.baseUrl), { headers: { 'x-request-id': 'req-1' } });
      expect(good.headers.get('x-request-id')).toBe('req-1');
    });

    it.each([
      ['Bearer'],
      ['Bearer '],
      ['Basic Zm9vOmJhcg=='],
      [`Bearer ${key} extra`],
      [`Token ${key}`],
      [`Bearer ${'x'.repeat(600)}`],
    ])('Authorization %j → 401', async (value) => {
      const res = await fetch(new URL('/v1/discovery?topic=t', h.baseUrl), { headers: { authorization: value } });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
    });
  });

  describe('path parameters', () => {
    const long = 'a'.repeat(10_000);
    it.each([
      ['GET', '/v1/registrations/..%2F..%2Fv1%2Ftenants', 404],
      ['GET', '/v1/registrations/..%2F', 404],
      ['GET', '/v1/registrations/%E2%98%83', 404],
      ['GET', '/v1/registrations/%00', 404],
      ['GET', `/v1/registrations/${long}`, 404],
      ['DELETE', '/v1/registrations/..%2F..%2Fv1%2Ftenants', 404],
      ['DELETE', '/v1/registrations/%00', 404],
      ['DELETE', `/v1/registrations/${long}`, 404],
      ['GET', '/v1/registrations/%E0%A4%A', 400],
      ['GET', '/v1/events/..%2F..%2Fadmin', 400],
      ['GET', '/v1/events/%00', 400],
      ['GET', '/v1/events/%F0%9F%92%A3', 400],
      ['GET', `/v1/events/${long}`, 400],
      ['POST', '/v1/topics/%00/registrations', 400],
      ['POST', '/v1/topics/%ED%A0%80/registrations', 400],
      ['POST', `/v1/topics/${long}/registrations`, 400],
      ['GET', `/v1/discovery?topic=${long}`, 400],
      ['GET', '/v1/discovery?topic=a&topic=b', 400],
      ['GET', '/v1/discovery?topic[a]=b', 400],
    ])('%s %s → %i', async (method, path, status) => {
      const body = method === 'POST' ? valid() : undefined;
      const res = await fetch(new URL(path, h.baseUrl), {
        method,
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/xml' },
        body,
      });
      await expectRefused(res, status);
    });
  });
});
