import { DOMParser, type Element } from '@xmldom/xmldom';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { WebPushClient } from '../support/webpush-client';
import { EVENT, MKCALENDAR, must, startProxyHarness, type ProxyHarness } from './proxy-harness';
import { readPush, sleep } from './push-documents';

const CC = 'urn:ietf:params:xml:ns:dav-push';
const ics = { 'content-type': 'text/calendar; charset=utf-8' };
const xmlText = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
const rfc3339In = (s: number) => new Date(Date.now() + s * 1000).toISOString();

/** A PROPFIND naming CC/CD 70025 properties (draft-gajda-dav-push-00 §5.2.3.1), by the names given. */
const ccPropfind = (names: string[]) =>
  `<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:" xmlns:P="${CC}"><D:prop><D:displayname/>${names.map((n) => `<P:${n}/>`).join('')}</D:prop></D:propfind>`;

/** The props of the one response of a Depth-0 multistatus, by Clark name, in the 200 propstat. */
function okProps(xml: string): Map<string, Element> {
  const doc = new DOMParser().parseFromString(xml, 'application/xml');
  const out = new Map<string, Element>();
  const propstats = doc.getElementsByTagNameNS('DAV:', 'propstat');
  for (let i = 0; i < propstats.length; i++) {
    if (!/ 200 /.test(propstats[i]!.getElementsByTagNameNS('DAV:', 'status')[0]!.textContent!)) continue;
    const prop = propstats[i]!.getElementsByTagNameNS('DAV:', 'prop')[0]!;
    for (let c = prop.firstChild; c; c = c.nextSibling)
      if (c.nodeType === 1) out.set(`{${(c as Element).namespaceURI}}${(c as Element).localName}`, c as Element);
  }
  return out;
}

/**
 * Proxy mode speaking CC/CD 70025 to clients (docs/proxy.md, docs/cc70025.md) in front of a real
 * Radicale: the four discovery properties in PROPFIND, a client's `subscribe` POSTed to the
 * collection and relayed to the gateway use case after the DAV server accepted the credentials,
 * and `Push-Client-Id` on writes skipping the writer.
 */
describe('proxy in front of Radicale: CC/CD 70025', () => {
  let h: ProxyHarness;
  let topic: string;
  let webPushUri: string;

  const subscribeXml = (c: WebPushClient, topics: string[], opts: { uri?: string; expires?: string } = {}) =>
    `<?xml version="1.0" encoding="UTF-8"?><P:subscribe xmlns:P="${CC}">${topics.map((t) => `<P:topic>${xmlText(t)}</P:topic>`).join('')}` +
    `<P:selected-transport><P:transport-uri>${xmlText(opts.uri ?? webPushUri)}</P:transport-uri><P:client-data>${xmlText(JSON.stringify(c.subscription))}</P:client-data></P:selected-transport>` +
    `<P:expires>${opts.expires ?? rfc3339In(3600)}</P:expires></P:subscribe>`;
  const subscribe = (
    path: string,
    c: WebPushClient,
    opts: {
      user?: string;
      password?: string;
      clientId?: string;
      topics?: string[];
      uri?: string;
      expires?: string;
    } = {},
  ) =>
    h.dav('POST', path, {
      user: opts.user ?? 'alice',
      password: opts.password,
      body: subscribeXml(c, opts.topics ?? [topic], opts),
      headers: opts.clientId ? { 'push-client-id': opts.clientId } : {},
    });

  beforeAll(async () => {
    h = await startProxyHarness('radicale');
    await must(h.dav('MKCALENDAR', '/alice/cal/', { user: 'alice', body: MKCALENDAR('Cal') }), 201);
    await must(h.dav('MKCALENDAR', '/bob/cal/', { user: 'bob', body: MKCALENDAR('Bob') }), 201);
  });
  afterAll(async () => h?.close());
  beforeEach(() => h.push.reset());

  it('answers the four properties on a calendar when asked by name, in either spelling; never in allprop', async () => {
    const res = await must(
      h.dav('PROPFIND', '/alice/cal/', {
        user: 'alice',
        depth: '0',
        body: ccPropfind(['push-subscribe-URL', 'supported-transport-set', 'topic', 'push-version']),
      }),
      207,
    );
    const props = okProps(await res.text());
    expect([...props.keys()]).toEqual([
      '{DAV:}displayname',
      `{${CC}}push-subscribe-URL`,
      `{${CC}}supported-transport-set`,
      `{${CC}}topic`,
      `{${CC}}push-version`,
    ]);
    // The push-subscribe-URL is the collection itself, on the proxy: the DAV server's resource (§6.2.1.1).
    expect(props.get(`{${CC}}push-subscribe-URL`)!.getElementsByTagNameNS('DAV:', 'href')[0]!.textContent).toBe(
      `${h.proxyUrl}/alice/cal/`,
    );
    const uris = Array.from(
      props.get(`{${CC}}supported-transport-set`)!.getElementsByTagNameNS(CC, 'transport-uri'),
    ).map((e) => e.textContent!);
    expect(uris).toEqual([`${h.davpush.baseUrl}/v1/gateway/transports/web-push`]);
    webPushUri = uris[0]!;
    topic = props.get(`{${CC}}topic`)!.textContent!;
    expect(topic).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(props.get(`{${CC}}push-version`)!.textContent).toBe('1');

    const examples = okProps(
      await (
        await must(
          h.dav('PROPFIND', '/alice/cal/', {
            user: 'alice',
            depth: '0',
            body: ccPropfind(['subscribe-URL', 'version']),
          }),
          207,
        )
      ).text(),
    );
    expect([...examples.keys()]).toEqual(['{DAV:}displayname', `{${CC}}subscribe-URL`, `{${CC}}version`]);
    const allprop = await (
      await must(
        h.dav('PROPFIND', '/alice/cal/', {
          user: 'alice',
          depth: '0',
          body: '<D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>',
        }),
        207,
      )
    ).text();
    expect(allprop).not.toContain(CC);
  });

  it("takes a client's subscribe at the collection after the DAV server accepted its credentials; the change reaches it", async () => {
    const phone = h.push.subscribe();
    const wrong = await subscribe('/alice/cal/', phone, { password: 'wrong' });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toMatch(/^Basic/);
    // bob cannot read alice's calendar: the DAV server says so, and nothing is stored.
    const bob = await subscribe('/alice/cal/', phone, { user: 'bob' });
    expect(bob.status).toBe(403);
    expect(await bob.text()).toContain(`xmlns:P="${CC}"`);

    const ok = await subscribe('/alice/cal/', phone);
    expect(ok.status).toBe(204);
    expect(Date.parse(ok.headers.get('expires')!)).toBeGreaterThan(Date.now() + 3500_000);
    await must(h.dav('PUT', '/alice/cal/a.ics', { user: 'alice', body: EVENT('a'), headers: ics }), 201);
    const [record] = await h.push.waitFor({ id: h.push.idOf(phone) });
    expect(readPush(h.push, record!)).toMatchObject({ topic, contentUpdate: true });
  });

  it('refuses a topic of a collection the user has not shown, and a transport not offered, as CC-namespace DAV:errors', async () => {
    const bobTopic = okProps(
      await (
        await must(h.dav('PROPFIND', '/bob/cal/', { user: 'bob', depth: '0', body: ccPropfind(['topic']) }), 207)
      ).text(),
    ).get(`{${CC}}topic`)!.textContent!;
    const c = h.push.subscribe();
    const res = await subscribe('/alice/cal/', c, { topics: [topic, bobTopic] });
    expect(res.status).toBe(403);
    const error = new DOMParser().parseFromString(await res.text(), 'application/xml').documentElement!;
    expect(Array.from(error.getElementsByTagNameNS(CC, 'topic')).map((t) => t.textContent)).toEqual([bobTopic]);
    const other = await subscribe('/alice/cal/', c, { uri: 'https://push.example.com/transport' });
    expect(other.status).toBe(403);
    const text = await other.text();
    expect(text).toContain('<P:push-not-available/>');
    expect(text).not.toContain('bitfire.at');
  });

  it('skips the writer named by Push-Client-Id; everybody else hears of it', async () => {
    const phone = h.push.subscribe();
    const laptop = h.push.subscribe();
    await must(subscribe('/alice/cal/', phone, { clientId: 'alice-phone' }), 204);
    await must(subscribe('/alice/cal/', laptop, { clientId: 'alice-laptop' }), 204);
    await must(
      h.dav('PUT', '/alice/cal/b.ics', {
        user: 'alice',
        body: EVENT('b'),
        headers: { ...ics, 'push-client-id': 'alice-phone' },
      }),
      201,
    );
    await h.push.waitFor({ id: h.push.idOf(laptop) });
    await sleep(800);
    expect(h.push.received(h.push.idOf(phone))).toHaveLength(0);
  });
});
