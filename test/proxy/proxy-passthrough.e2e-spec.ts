import * as http from 'node:http';
import * as net from 'node:net';
import * as zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basic } from './dav-servers';
import { EVENT, MKCALENDAR, must, startProxyHarness, type ProxyHarness } from './proxy-harness';

const ics = { 'content-type': 'text/calendar; charset=utf-8' };

/** A client that never uses push sees the same server through the proxy as without it. */
describe('proxy in front of Radicale: pass-through', () => {
  let h: ProxyHarness;

  beforeAll(async () => {
    h = await startProxyHarness('radicale');
    await must(h.dav('MKCALENDAR', '/alice/a/', { user: 'alice', body: MKCALENDAR('A') }), 201);
    await must(h.dav('MKCALENDAR', '/alice/b/', { user: 'alice', body: MKCALENDAR('B') }), 201);
  });
  afterAll(async () => h?.close());

  it('MOVE with an absolute Destination on the public origin reaches Radicale as its own host', async () => {
    await must(h.dav('PUT', '/alice/a/m.ics', { user: 'alice', body: EVENT('m'), headers: ics }), 201);
    const res = await h.dav('MOVE', '/alice/a/m.ics', {
      user: 'alice',
      headers: { destination: `${h.proxyUrl}/alice/b/m.ics` },
    });
    expect(res.status).toBe(201);
    expect((await h.dav('GET', '/alice/b/m.ics', { user: 'alice' })).status).toBe(200);
    expect((await h.dav('GET', '/alice/a/m.ics', { user: 'alice' })).status).toBe(404);
  });

  it('a large PUT body is streamed (with Expect: 100-continue) and reads back the same', async () => {
    const description = 'x'.repeat(70).concat('\r\n ').repeat(20_000);
    const body = EVENT('big').replace('SUMMARY:', `DESCRIPTION:${description}\r\nSUMMARY:`);
    const status = await new Promise<number>((resolve, reject) => {
      const url = new URL('/alice/a/big.ics', h.proxyUrl);
      const req = http.request(url, {
        method: 'PUT',
        headers: {
          ...ics,
          authorization: basic('alice'),
          expect: '100-continue',
          'content-length': String(Buffer.byteLength(body)),
        },
      });
      req.on('continue', () => {
        for (let i = 0; i < body.length; i += 65_536) req.write(body.slice(i, i + 65_536));
        req.end();
      });
      req.on('response', (res) => (res.resume(), resolve(res.statusCode!)));
      req.on('error', reject);
    });
    expect(status).toBe(201);
    const [proxied, direct] = await Promise.all([
      h.dav('GET', '/alice/a/big.ics', { user: 'alice' }),
      h.dav('GET', '/alice/a/big.ics', { user: 'alice', via: 'direct' }),
    ]);
    expect(proxied.headers.get('etag')).toBe(direct.headers.get('etag'));
    expect((await proxied.text()).length).toBeGreaterThan(1_000_000);
  });

  it('a compressed answer stays compressed and identical', async () => {
    const get = (base: string) =>
      new Promise<{ encoding?: string; body: Buffer }>((resolve, reject) => {
        http
          .get(
            new URL('/alice/a/big.ics', base),
            { headers: { authorization: basic('alice'), 'accept-encoding': 'gzip' } },
            (res) => {
              const chunks: Buffer[] = [];
              res
                .on('data', (c: Buffer) => chunks.push(c))
                .on('end', () => resolve({ encoding: res.headers['content-encoding'], body: Buffer.concat(chunks) }));
            },
          )
          .on('error', reject);
      });
    const [proxied, direct] = await Promise.all([get(h.proxyUrl), get(h.upstream.url)]);
    expect(proxied.encoding).toBe('gzip');
    expect(proxied.encoding).toBe(direct.encoding);
    expect(zlib.gunzipSync(proxied.body).equals(zlib.gunzipSync(direct.body))).toBe(true);
  });

  it('REPORT, HEAD, other POSTs and unsupported methods answer as direct', async () => {
    const report =
      '<?xml version="1.0"?><D:sync-collection xmlns:D="DAV:"><D:sync-token/><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>';
    for (const [method, path, body] of [
      ['REPORT', '/alice/a/', report],
      ['HEAD', '/alice/a/big.ics', undefined],
      ['POST', '/alice/a/', '<?xml version="1.0"?><x:other xmlns:x="urn:example"/>'],
      ['LOCK', '/alice/a/big.ics', undefined],
    ] as const) {
      const [proxied, direct] = await Promise.all([
        h.dav(method, path, { user: 'alice', body, depth: '1' }),
        h.dav(method, path, { user: 'alice', body, depth: '1', via: 'direct' }),
      ]);
      expect(`${method} ${proxied.status}`).toBe(`${method} ${direct.status}`);
      expect(await proxied.text()).toBe(await direct.text());
    }
  });

  it('is no open proxy: an absolute-form target still goes to the configured DAV server', async () => {
    await must(h.dav('PUT', '/alice/a/abs.ics', { user: 'alice', body: EVENT('abs'), headers: ics }), 201);
    const port = new URL(h.proxyUrl).port;
    const answer = await new Promise<string>((resolve, reject) => {
      const s = net.createConnection({ host: '127.0.0.1', port: Number(port) }, () => {
        s.write(
          `GET http://example.com/alice/a/abs.ics HTTP/1.1\r\nHost: example.com\r\nAuthorization: ${basic('alice')}\r\nConnection: close\r\n\r\n`,
        );
      });
      let text = '';
      s.on('data', (c: Buffer) => (text += c.toString()))
        .on('end', () => resolve(text))
        .on('error', reject);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 200/);
    expect(answer).toContain('UID:abs');
  });

  it('without a hook secret, the hook endpoint takes loopback callers, but not through a forwarding proxy or front end', async () => {
    const hook = `${h.proxyUrl}/.davpush/hooks/radicale`;
    expect((await fetch(hook, { method: 'POST' })).status).toBe(202);
    expect((await fetch(hook, { method: 'POST', headers: { 'x-forwarded-for': '203.0.113.9' } })).status).toBe(403);
    expect((await fetch(hook, { method: 'POST', headers: { forwarded: 'for=203.0.113.9' } })).status).toBe(403);
    // A TLS front end on the same host connects from loopback too: whatever it says about the client refuses it.
    for (const header of ['x-real-ip', 'x-forwarded-host', 'x-client-ip', 'true-client-ip', 'cf-connecting-ip']) {
      expect(`${header} ${(await fetch(hook, { method: 'POST', headers: { [header]: '203.0.113.9' } })).status}`).toBe(
        `${header} 403`,
      );
    }
  });
});
