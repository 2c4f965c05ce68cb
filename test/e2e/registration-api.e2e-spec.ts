import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { WebPushClient } from '../support/webpush-client';
import { davx5Register, specSampleRegister } from './push-documents';
import { ADMIN_TOKEN, startHarness, type Harness } from './harness';

/** Registration front door: every bad input gets the contract's 4xx and leaves nothing stored. */
describe('registration API', () => {
  let h: Harness;
  let apiKey: string;
  let redis: Redis;
  const expires = () => new Date(Date.now() + 3 * 86400_000).toUTCString();
  const client = () => WebPushClient.create(`https://127.0.0.1:9/push/${Math.random().toString(36).slice(2)}`);

  beforeAll(async () => {
    h = await startHarness();
    ({ apiKey } = await h.createTenant());
    redis = new Redis({ path: h.redis.socketPath });
  });
  afterAll(async () => {
    redis?.disconnect();
    await h?.close();
  });

  let registrationKeysBefore: string[];
  beforeEach(async () => {
    registrationKeysBefore = await storedRegistrationKeys();
  });
  /** Every stored registration: a field of its topic's hash (libs/storage/src/keys.ts). */
  const storedRegistrationKeys = async () =>
    (
      await Promise.all(
        (await redis.keys('{*}:r')).map(async (k) =>
          (await redis.hkeysBuffer(k)).map((f) => `${k} ${f.toString('hex')}`),
        ),
      )
    )
      .flat()
      .toSorted();

  const post = (body: string, contentType = 'application/xml', token = apiKey, topic = 'cal-x') =>
    h.request('POST', `/v1/topics/${encodeURIComponent(topic)}/registrations`, {
      token,
      body,
      headers: { 'content-type': contentType },
    });

  async function expectRefused(res: Response, status: number, precondition?: string) {
    expect(res.status).toBe(status);
    const text = await res.text();
    expect(text).toContain(precondition ?? '');
    expect(await storedRegistrationKeys()).toEqual(registrationKeysBefore);
    return text;
  }

  it.each([
    [
      'missing subscription',
      `<push-register xmlns="https://bitfire.at/webdav-push"><expires>${expires()}</expires></push-register>`,
      403,
      'invalid-subscription',
    ],
    [
      'relative push resource',
      (c: WebPushClient) => davx5Register(c, expires()).replace(c.pushResource, '/push/abc'),
      403,
      'invalid-subscription',
    ],
    [
      'an ftp push resource',
      (c: WebPushClient) =>
        davx5Register(c, expires()).replace(c.pushResource, c.pushResource.replace('https:', 'ftp:')),
      403,
      'invalid-subscription',
    ],
    [
      'short public key',
      (c: WebPushClient) => davx5Register(c, expires()).replace(c.publicKey, 'BCVx'),
      403,
      'invalid-subscription',
    ],
    [
      'aesgcm encoding',
      (c: WebPushClient) => specSampleRegister(c, expires()).replace('>aes128gcm<', '>aesgcm<'),
      403,
      'invalid-subscription',
    ],
    [
      'only an unknown trigger',
      (c: WebPushClient) =>
        specSampleRegister(c, expires()).replace(/<trigger>[\s\S]*<\/trigger>/, '<trigger><x-update/></trigger>'),
      403,
      'no-supported-trigger',
    ],
    [
      'a DOCTYPE',
      (c: WebPushClient) =>
        `<!DOCTYPE push-register [<!ENTITY x "y">]>` + davx5Register(c, expires()).replace(/^<\?xml[^>]*>/, ''),
      400,
      undefined,
    ],
    ['malformed XML', () => '<push-register xmlns="https://bitfire.at/webdav-push"><subscription>', 400, undefined],
    [
      'wrong namespace',
      (c: WebPushClient) =>
        davx5Register(c, expires()).replace('https://bitfire.at/webdav-push', 'bitfire.at/webdav-push'),
      400,
      undefined,
    ],
  ])('XML with %s', async (_name, doc, status, precondition) => {
    const body = typeof doc === 'string' ? doc : doc(client());
    const text = await expectRefused(await post(body), status, precondition);
    expect(text).toContain('DAV:');
  });

  it('answers 403 preconditions as DAV:error XML', async () => {
    const res = await post(`<push-register xmlns="https://bitfire.at/webdav-push"/>`);
    const text = await expectRefused(res, 403);
    expect(res.headers.get('content-type')).toMatch(/application\/xml/);
    expect(text).toMatch(/<D:error[^>]*xmlns:D="DAV:"/);
    expect(text).toMatch(/invalid-subscription/);
  });

  it('answers JSON errors as problem+json naming the problem', async () => {
    const res = await post(
      JSON.stringify({
        subscription: { type: 'web-push', pushResource: 'https://127.0.0.1/x', publicKey: 'abc', authSecret: 'def' },
      }),
      'application/json',
    );
    await expectRefused(res, 403);
    expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
  });

  it.each([
    ['wrong types', '{"subscription": {"type": "web-push", "pushResource": 42}}', 400],
    ['malformed JSON', '{"subscription": ', 400],
    ['an empty body', '', 400],
  ])('JSON with %s', async (_n, body, status) => {
    await expectRefused(await post(body, 'application/json'), status);
  });

  it('refuses other media types with 415', async () => {
    await expectRefused(await post(davx5Register(client(), expires()), 'text/plain'), 415);
  });

  it('refuses bodies over 16 KiB with 413', async () => {
    const big = davx5Register(client(), expires()).replace(
      '</P:push-register>',
      `<P:x>${'a'.repeat(17 * 1024)}</P:x></P:push-register>`,
    );
    await expectRefused(await post(big), 413);
  });

  it('refuses a missing or wrong API key with 401', async () => {
    await expectRefused(await post(davx5Register(client(), expires()), 'application/xml', 'dpk_wrong'), 401);
    await expectRefused(await post(davx5Register(client(), expires()), 'application/xml', ADMIN_TOKEN), 401);
  });

  it('serves GET and DELETE on the registration URL, then 404', async () => {
    const res = await post(specSampleRegister(client(), expires()));
    expect(res.status).toBe(201);
    const location = res.headers.get('location')!;
    const got = await h.request('GET', location, { token: apiKey });
    expect(got.status).toBe(200);
    expect(await got.json()).toMatchObject({
      topic: 'cal-x',
      transport: 'web-push',
      trigger: {
        contentUpdate: { depth: 'infinity' },
        propertyUpdate: { depth: '0', props: ['{DAV:}displayname', '{DAV:}owner'] },
      },
      consecutiveFailures: 0,
      lastSuccessAt: null,
    });
    expect((await h.request('DELETE', location)).status).toBe(204);
    expect((await h.request('DELETE', location)).status).toBe(404);
    expect((await h.request('GET', location, { token: apiKey })).status).toBe(404);
  });

  it('clamps a far expiry to the maximum and states it in IMF-fixdate', async () => {
    const res = await post(davx5Register(client(), new Date(Date.now() + 365 * 86400_000).toUTCString()));
    const granted = Date.parse(res.headers.get('expires')!);
    expect(res.headers.get('expires')).toMatch(/^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/);
    expect(granted).toBeLessThanOrEqual(Date.now() + 604800_000);
    expect(granted).toBeGreaterThan(Date.now() + 604800_000 - 60_000);
  });

  it('serves discovery properties ready to embed', async () => {
    const res = await h.request('GET', '/v1/discovery?topic=cal-x', { token: apiKey });
    const body = (await res.json()) as {
      vapidPublicKey: string;
      transports: string[];
      properties: Record<string, string>;
    };
    expect(body.vapidPublicKey).toMatch(/^[A-Za-z0-9_-]{87}$/);
    expect(body.transports).toEqual(['web-push']);
    expect(body.properties.transports).toContain(
      `<vapid-public-key type="p256ecdsa">${body.vapidPublicKey}</vapid-public-key>`,
    );
    expect(body.properties.topic).toMatch(/<topic xmlns="https:\/\/bitfire.at\/webdav-push">cal-x<\/topic>/);
    expect(body.properties.supportedTriggers).toContain('infinity');
  });
});
