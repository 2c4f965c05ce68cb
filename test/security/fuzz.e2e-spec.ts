import * as http from 'node:http';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebPushClient } from '../support/webpush-client';
import { davx5Register, specSampleRegister } from '../e2e/push-documents';
import { ADMIN_TOKEN, startHarness, type Harness } from '../e2e/harness';
import { mutate, rngFor, type Generated, type Rng } from './fuzz-inputs';
import { diff, idOf, pool, REGISTRATION_PATTERNS, snapshot, topicTagOfRegistration, type Snapshot } from './support';

/**
 * docs/security.md "Hostile input": at least 10,000 generated bodies per endpoint, mutations of valid documents
 * (fuzz-inputs.ts). Asserted: never a 5xx (or a dropped connection), the process stays up, and
 * registrations (`REGISTRATION_PATTERNS`) / `{davpush}:tenant*` change only as far as 2xx answers explain. Every body is
 * determined by (SEED, endpoint, index): a failure names both, and `mutate(rngFor(…))` replays it.
 */
const SEED = 0x5eed2026;
const PER_ENDPOINT = 10_000;
const CONCURRENCY = 16;
const PATTERNS = [...REGISTRATION_PATTERNS, '{davpush}:tenant*'];

interface Endpoint {
  name: string;
  path: (r: Rng) => string;
  token: () => string;
  generate: (r: Rng) => Generated;
  headers?: (r: Rng) => Record<string, string>;
}

interface Outcome {
  statuses: Map<number, number>;
  failures: string[];
  regIds: Set<string>;
  tenantIds: Set<string>;
}

describe('fuzz: generated bodies never cause a 5xx or a stray write', () => {
  let h: Harness;
  let redis: Redis;
  let key: string;
  const pick = <T>(r: Rng, list: readonly T[]): T => list[Math.floor(r() * list.length)]!;
  const clients = Array.from({ length: 8 }, (_, i) => WebPushClient.create(`https://127.0.0.1:9/push/fuzz-${i}`));
  const gatewayClient = WebPushClient.create('https://127.0.0.1:9/push/fuzz-gateway');
  const expires = new Date(Date.now() + 5 * 86400_000).toUTCString();
  const topics = ['cal', 'contacts', 'a%2Fb', '%E2%98%83', 'x'.repeat(512)];

  beforeAll(async () => {
    // API only: the fuzz is about the front door; a huge ingest rate so valid events get queued.
    h = await startHarness({ DAVPUSH_INGEST_RATE: '1000000' }, { api: true, worker: false });
    ({ apiKey: key } = await h.createTenant('fuzzed'));
    redis = new Redis({ path: h.redis.socketPath });
  });
  afterAll(async () => {
    redis?.disconnect();
    await h?.close();
  });

  const endpoints: Endpoint[] = [
    {
      name: 'registrations-xml',
      path: (r) => `/v1/topics/${pick(r, topics)}/registrations`,
      token: () => key,
      headers: (r): Record<string, string> =>
        r() < 0.2 ? { 'x-davpush-principal': pick(r, ['alice', 'bob', 'ünïcødé']) } : {},
      generate: (r) => {
        const c = pick(r, clients);
        const fcm = `<P:push-register xmlns:P="https://bitfire.at/webdav-push" xmlns:X="https://davpush.dev/ns"><P:subscription><X:fcm-subscription><X:token>tok-${Math.floor(r() * 100)}</X:token></X:fcm-subscription></P:subscription></P:push-register>`;
        const doc = pick(r, [davx5Register(c, expires), specSampleRegister(c, expires), fcm]);
        return mutate(r, Buffer.from(doc), 'application/xml');
      },
    },
    {
      name: 'registrations-json',
      path: (r) => `/v1/topics/${pick(r, topics)}/registrations`,
      token: () => key,
      headers: (r): Record<string, string> => (r() < 0.2 ? { 'x-davpush-principal': pick(r, ['alice', 'bob']) } : {}),
      generate: (r) => {
        const c = pick(r, clients);
        const subscription =
          r() < 0.9
            ? {
                type: 'web-push',
                pushResource: c.pushResource,
                publicKey: c.publicKey,
                authSecret: c.authSecret,
                contentEncoding: 'aes128gcm',
              }
            : { type: 'fcm', token: `tok-${Math.floor(r() * 100)}` };
        const trigger = {
          contentUpdate: { depth: pick(r, ['0', '1', 'infinity']) },
          propertyUpdate: { depth: '0', props: ['{DAV:}displayname'] },
        };
        return mutate(r, { subscription, trigger, expires }, 'application/json');
      },
    },
    {
      name: 'events',
      path: () => '/v1/events',
      token: () => key,
      headers: (r): Record<string, string> => (r() < 0.1 ? { 'idempotency-key': `k-${Math.floor(r() * 50)}` } : {}),
      generate: (r) => {
        const event = () => ({
          topic: pick(r, ['cal', 'contacts', 'ünï']),
          changes: pick(r, [['content'], ['property'], ['content', 'property']]),
          syncToken: `http://cal.example/sync/${Math.floor(r() * 1e6)}`,
          urgency: pick(r, ['very-low', 'low', 'normal', 'high']),
          ttl: Math.floor(r() * 86400),
          dontNotify: r() < 0.5 ? '*' : [`${h.baseUrl}/v1/registrations/AAAAAAAAAAAAAAAAAAAAAA`],
          ...(r() < 0.3 ? { id: `e-${Math.floor(r() * 1e9)}` } : {}),
        });
        const base = r() < 0.5 ? event() : { events: Array.from({ length: 1 + Math.floor(r() * 5) }, event) };
        return mutate(r, base, 'application/json');
      },
    },
    {
      // CC/CD 70025 gateway root. A subscription's base expiry lies in the past (an unsubscribe of a
      // client nobody registered), so even an unmutated body may not write a registration.
      name: 'gateway',
      path: () => '/v1/gateway',
      token: () => key,
      headers: (r): Record<string, string> =>
        r() < 0.1 ? { 'push-client-id': pick(r, ['c1', 'a b', '%20', 'x'.repeat(300)]) } : {},
      generate: (r) => {
        const c = gatewayClient;
        const clientData = pick(r, [
          JSON.stringify({ ...c.subscription, expirationTime: null, 'client-id': 'fz' }),
          'fcm-token-1',
          'XYZ',
        ]);
        const message = () => ({
          topic: pick(r, ['123', 'abc', 'ünï']),
          priority: Math.floor(r() * 101),
          timestamp: '2017-10-01T14:00:52Z',
          ...(r() < 0.5 ? { 'client-id': 'xyz' } : {}),
        });
        const base = pick<unknown>(r, [
          { 'push-transports': [] },
          {
            'push-subscribe': {
              topics: ['123', 'abc'],
              [pick(r, ['transport', 'selected-transport'])]: {
                'transport-uri': 'web-push',
                'client-data': clientData,
              },
              expires: '2017-10-07T12:00:00Z',
            },
          },
          { push: { messages: Array.from({ length: 1 + Math.floor(r() * 4) }, message) } },
          { push: Array.from({ length: 1 + Math.floor(r() * 4) }, message) },
        ]);
        return mutate(r, base, 'application/json');
      },
    },
    {
      name: 'gateway-subscribe-xml',
      path: () => '/v1/gateway/subscribe',
      token: () => key,
      headers: (r): Record<string, string> =>
        r() < 0.3 ? { 'x-davpush-readable-topics': pick(r, ['"123", "abc"', '*', '"', 'abc']) } : {},
      generate: (r) => {
        const data = JSON.stringify(gatewayClient.subscription).replace(/&/g, '&amp;').replace(/</g, '&lt;');
        const doc =
          `<P:subscribe xmlns:P="urn:ietf:params:xml:ns:dav-push"><P:topic>123</P:topic><P:topic>abc</P:topic><P:selected-transport>` +
          `<P:transport-uri>web-push</P:transport-uri><P:client-data>${data}</P:client-data></P:selected-transport><P:expires>2017-10-07T12:00:00Z</P:expires></P:subscribe>`;
        return mutate(r, Buffer.from(doc), 'application/xml');
      },
    },
    {
      name: 'tenants',
      path: () => '/v1/tenants',
      token: () => ADMIN_TOKEN,
      generate: (r) => mutate(r, { name: pick(r, ['cal.example.org', 'Kalender GmbH', '日历']) }, 'application/json'),
    },
    {
      name: 'dlq-replay',
      path: () => '/v1/admin/dlq/replay',
      token: () => ADMIN_TOKEN,
      generate: (r) => mutate(r, pick<unknown>(r, [{ ids: ['1', '2', 'abc'] }, { ids: [] }, {}]), 'application/json'),
    },
  ];

  /**
   * node:http on a keep-alive agent of CONCURRENCY sockets: the app runs in this same process, so
   * every microsecond the client spends is taken from the server (fetch costs about twice as much).
   */
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  afterAll(() => agent.destroy());
  function send(
    path: string,
    headers: Record<string, string>,
    body: Buffer,
  ): Promise<{ status: number; text: string; location?: string }> {
    const { port } = new URL(h.baseUrl);
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port,
          path,
          method: 'POST',
          headers: { ...headers, 'content-length': body.length },
          agent,
          timeout: 15_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              text: Buffer.concat(chunks).toString('utf8'),
              location: res.headers.location,
            }),
          );
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error('no answer within 15 s')));
      req.on('error', reject);
      req.end(body);
    });
  }

  async function fire(ep: Endpoint, i: number, out: Outcome): Promise<void> {
    const r = rngFor(ep.name, i, SEED);
    const { body, contentType } = ep.generate(r);
    const headers: Record<string, string> = { authorization: `Bearer ${ep.token()}`, ...ep.headers?.(r) };
    if (contentType) headers['content-type'] = contentType;
    const where = `${ep.name} #${i} (seed ${SEED.toString(16)})`;
    try {
      const res = await send(ep.path(r), headers, body);
      out.statuses.set(res.status, (out.statuses.get(res.status) ?? 0) + 1);
      if (res.status >= 500) out.failures.push(`${where}: ${res.status} ${res.text.slice(0, 300)}`);
      if (res.status === 201 || res.status === 204) {
        if (ep.name.startsWith('registrations')) out.regIds.add(idOf(res.location ?? null));
        if (ep.name === 'tenants') out.tenantIds.add((JSON.parse(res.text) as { id: string }).id);
      }
    } catch (err) {
      out.failures.push(
        `${where}: request failed: ${(err as Error).message} ${String((err as { cause?: unknown }).cause ?? '')}`,
      );
    }
  }

  /** Every change under PATTERNS must be explained by an id a 2xx answer handed out. */
  function unexplained(before: Snapshot, after: Snapshot, out: Outcome): string[] {
    const d = diff(before, after);
    const problems = d.removed.map((k) => `removed ${k}`);
    const explained = new Set([...out.regIds, ...out.tenantIds]);
    // A registration is a field of its topic's keys: a write there is explained by an id of that topic.
    const regTopics = new Set([...out.regIds].map((id) => `{${topicTagOfRegistration(id)}}`));
    for (const k of [...d.added, ...d.changed]) {
      if (regTopics.has(k.slice(0, k.indexOf('}') + 1))) continue;
      const [, type, json] = /^(\w+):(.*)$/s.exec(after.get(k)!)!;
      if (type !== 'zset') {
        if (!explained.has(k.slice(k.lastIndexOf(':') + 1))) problems.push(`unexplained write to ${k}`);
        continue;
      }
      // Index sets: only members (ids) a 2xx answer explains may be new or have a new score.
      const pairs = (v: string | undefined) => {
        const flat = v ? (JSON.parse(v.slice(v.indexOf(':') + 1)) as string[]) : [];
        return new Map(flat.flatMap((m, i) => (i % 2 === 0 ? [[m, flat[i + 1]!] as const] : [])));
      };
      const was = pairs(before.get(k));
      const now = pairs(`zset:${json}`);
      for (const [m] of was) if (!now.has(m)) problems.push(`${k} lost ${m}`);
      for (const [m, s] of now)
        if (was.get(m) !== s && !explained.has(m)) problems.push(`${k} gained unexplained ${m}`);
    }
    return problems;
  }

  it.each([
    'registrations-xml',
    'registrations-json',
    'events',
    'gateway',
    'gateway-subscribe-xml',
    'tenants',
    'dlq-replay',
  ])(
    '%s: 10,000 bodies',
    async (name) => {
      const ep = endpoints.find((e) => e.name === name)!;
      const out: Outcome = { statuses: new Map(), failures: [], regIds: new Set(), tenantIds: new Set() };
      const before = await snapshot(redis, PATTERNS);
      const started = Date.now();
      await pool(PER_ENDPOINT, CONCURRENCY, (i) => fire(ep, i, out));
      const summary = [...out.statuses]
        .toSorted(([a], [b]) => a - b)
        .map(([s, n]) => `${s}×${n}`)
        .join(' ');
      console.log(`fuzz ${name}: ${PER_ENDPOINT} bodies in ${Date.now() - started} ms: ${summary}`);

      expect(out.failures.slice(0, 10)).toEqual([]);
      expect((await fetch(new URL('/health/live', h.baseUrl))).status).toBe(200);
      expect(unexplained(before, await snapshot(redis, PATTERNS), out).slice(0, 10)).toEqual([]);
      // The fuzz reached past the front door both ways: some bodies were accepted, most refused.
      const ok = [...out.statuses].filter(([s]) => s < 300).reduce((n, [, c]) => n + c, 0);
      const refused = [...out.statuses].filter(([s]) => s >= 400).reduce((n, [, c]) => n + c, 0);
      expect(ok).toBeGreaterThan(0);
      expect(refused).toBeGreaterThan(PER_ENDPOINT / 2);
    },
    120_000,
  );

  it('left no prototype polluted', () => {
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.keys(Object.prototype)).toEqual([]);
  });
});
