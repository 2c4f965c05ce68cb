import { DOMParser, XMLSerializer, type Element } from '@xmldom/xmldom';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVENT, MKCALENDAR, must, PUSH_PROPFIND, startProxyHarness, type ProxyHarness } from './proxy-harness';

const P = 'https://bitfire.at/webdav-push';

/** `{href: {status: [clark names]}}` of a multistatus, plus the values of the push props. */
function props(xml: string) {
  const doc = new DOMParser().parseFromString(xml, 'application/xml');
  const out: Record<string, Record<string, Element[]>> = {};
  const responses = doc.getElementsByTagNameNS('DAV:', 'response');
  for (let i = 0; i < responses.length; i++) {
    const r = responses[i]!;
    const href = r.getElementsByTagNameNS('DAV:', 'href')[0]!.textContent!;
    out[href] = {};
    const propstats = r.getElementsByTagNameNS('DAV:', 'propstat');
    for (let j = 0; j < propstats.length; j++) {
      const status = propstats[j]!.getElementsByTagNameNS('DAV:', 'status')[0]!.textContent!.split(' ')[1]!;
      const prop = propstats[j]!.getElementsByTagNameNS('DAV:', 'prop')[0]!;
      const els: Element[] = [];
      for (let c = prop.firstChild; c; c = c.nextSibling) if (c.nodeType === 1) els.push(c as Element);
      out[href][status] = els;
    }
  }
  return out;
}
const names = (els: Element[] | undefined) => (els ?? []).map((e) => `{${e.namespaceURI}}${e.localName}`);

describe('proxy in front of Radicale: discovery', () => {
  let h: ProxyHarness;

  beforeAll(async () => {
    h = await startProxyHarness('radicale');
    await must(h.dav('MKCALENDAR', '/alice/cal/', { user: 'alice', body: MKCALENDAR('Cal') }), 201);
    await must(
      h.dav('PUT', '/alice/cal/e1.ics', {
        user: 'alice',
        body: EVENT('e1'),
        headers: { 'content-type': 'text/calendar' },
      }),
      201,
    );
  });
  afterAll(async () => h?.close());

  it('OPTIONS adds webdav-push to DAV and keeps the rest', async () => {
    const direct = await h.dav('OPTIONS', '/alice/cal/', { via: 'direct' });
    const proxied = await h.dav('OPTIONS', '/alice/cal/');
    expect(proxied.status).toBe(direct.status);
    expect(proxied.headers.get('dav')).toBe(`${direct.headers.get('dav')}, webdav-push`);
    expect(proxied.headers.get('allow')).toBe(direct.headers.get('allow'));
  });

  it('Depth 0: the three properties in the 200 propstat of a calendar, with the VAPID key', async () => {
    const res = await h.dav('PROPFIND', '/alice/cal/', {
      user: 'alice',
      depth: '0',
      body: PUSH_PROPFIND('<D:displayname/>'),
    });
    expect(res.status).toBe(207);
    const body = await res.text();
    const cal = props(body)['/alice/cal/']!;
    expect(names(cal['200'])).toEqual([
      '{DAV:}displayname',
      `{${P}}transports`,
      `{${P}}topic`,
      `{${P}}supported-triggers`,
    ]);
    expect(cal['404']).toBeUndefined();
    const [, transports, topic, triggers] = cal['200']!;
    const key = transports!.getElementsByTagNameNS(P, 'vapid-public-key')[0]!;
    expect(key.getAttribute('type')).toBe('p256ecdsa');
    expect(Buffer.from(key.textContent!, 'base64url')).toHaveLength(65);
    expect(topic!.textContent).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(topic!.textContent).not.toMatch(/alice|cal/i);
    expect(triggers!.getElementsByTagNameNS(P, 'content-update')).toHaveLength(1);
    // No resourcetype, as the client did not ask for it.
    expect(body).not.toContain('resourcetype');
  });

  it('Depth 1 on the home set (as DAVx5 asks): calendars get values, the home set and objects a 404 propstat', async () => {
    await h.dav('MKCALENDAR', '/alice/work/', { user: 'alice', body: MKCALENDAR('Work') });
    const body = PUSH_PROPFIND('<D:resourcetype/><D:displayname/>').replace('<P:supported-triggers/>', '');
    const res = await h.dav('PROPFIND', '/alice/', { user: 'alice', depth: '1', body });
    expect(res.status).toBe(207);
    const all = props(await res.text());
    expect(names(all['/alice/']!['404']).filter((n) => n.startsWith(`{${P}}`))).toEqual([
      `{${P}}transports`,
      `{${P}}topic`,
    ]);
    expect(names(all['/alice/']!['200'])).not.toContain(`{${P}}topic`);
    const topics = new Set<string>();
    for (const href of ['/alice/cal/', '/alice/work/']) {
      expect(names(all[href]!['200'])).toEqual([
        '{DAV:}resourcetype',
        '{DAV:}displayname',
        `{${P}}transports`,
        `{${P}}topic`,
      ]);
      topics.add(all[href]!['200']![3]!.textContent!);
    }
    expect(topics.size).toBe(2);
    const objects = await h.dav('PROPFIND', '/alice/cal/', { user: 'alice', depth: '1', body: PUSH_PROPFIND() });
    const inCal = props(await objects.text());
    expect(names(inCal['/alice/cal/e1.ics']!['404'])).toEqual([
      `{${P}}transports`,
      `{${P}}topic`,
      `{${P}}supported-triggers`,
    ]);
  });

  it("apart from the push properties, the answer is the DAV server's as XML", async () => {
    const asked = '<D:resourcetype/><D:displayname/><D:getetag/>';
    const plain = `<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:prop>${asked}</D:prop></D:propfind>`;
    const [proxied, direct] = await Promise.all([
      h.dav('PROPFIND', '/alice/', { user: 'alice', depth: '1', body: PUSH_PROPFIND(asked) }),
      h.dav('PROPFIND', '/alice/', { user: 'alice', depth: '1', body: plain, via: 'direct' }),
    ]);
    const doc = new DOMParser().parseFromString(await proxied.text(), 'application/xml');
    const pushEls = doc.getElementsByTagNameNS(P, '*');
    for (const el of Array.from({ length: pushEls.length }, (_, i) => pushEls[i]!).filter(
      (e) => e.parentNode?.localName === 'prop',
    ))
      el.parentNode!.removeChild(el);
    const propstats = doc.getElementsByTagNameNS('DAV:', 'propstat');
    for (const ps of Array.from({ length: propstats.length }, (_, i) => propstats[i]!)) {
      const prop = ps.getElementsByTagNameNS('DAV:', 'prop')[0]!;
      if (!Array.from({ length: prop.childNodes.length }, (_, i) => prop.childNodes[i]!).some((n) => n.nodeType === 1))
        ps.parentNode!.removeChild(ps);
    }
    // The same serializer on both sides: `<principal />` and `<principal/>` are the same XML.
    const same = new XMLSerializer().serializeToString(
      new DOMParser().parseFromString(await direct.text(), 'application/xml'),
    );
    expect(new XMLSerializer().serializeToString(doc)).toBe(same);
  });

  it('the topic is the same for every alias of the collection', async () => {
    const topicAt = async (path: string) => {
      const res = await h.dav('PROPFIND', path, { user: 'alice', depth: '0', body: PUSH_PROPFIND() });
      return Object.values(props(await res.text()))[0]!['200']![1]!.textContent;
    };
    expect(await topicAt('/alice/%63al/')).toBe(await topicAt('/alice/cal/'));
  });

  it('never in allprop; other PROPFINDs byte-for-byte as direct', async () => {
    for (const body of [
      '',
      '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>',
      '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:getetag/></D:prop></D:propfind>',
    ]) {
      const direct = await h.dav('PROPFIND', '/alice/cal/', { user: 'alice', depth: '1', body, via: 'direct' });
      const proxied = await h.dav('PROPFIND', '/alice/cal/', { user: 'alice', depth: '1', body });
      expect(proxied.status).toBe(direct.status);
      const text = await proxied.text();
      expect(text).toBe(await direct.text());
      expect(text).not.toContain(P);
    }
  });

  it('passes 401 and WWW-Authenticate through, and GET, ETag and If-Match semantics', async () => {
    const anon = await h.dav('PROPFIND', '/alice/cal/', { depth: '0', body: PUSH_PROPFIND() });
    expect(anon.status).toBe(401);
    expect(anon.headers.get('www-authenticate')).toMatch(/^Basic realm=/);
    const get = await h.dav('GET', '/alice/cal/e1.ics', { user: 'alice' });
    const direct = await h.dav('GET', '/alice/cal/e1.ics', { user: 'alice', via: 'direct' });
    expect(get.status).toBe(200);
    expect(get.headers.get('etag')).toBe(direct.headers.get('etag'));
    expect(await get.text()).toBe(await direct.text());
    const stale = await h.dav('PUT', '/alice/cal/e1.ics', {
      user: 'alice',
      body: EVENT('e1', 'x'),
      headers: { 'content-type': 'text/calendar', 'if-match': '"nope"' },
    });
    expect(stale.status).toBe(412);
    const wellKnown = await h.dav('GET', '/.well-known/caldav');
    expect(wellKnown.status).toBe(301);
    expect(wellKnown.headers.get('location')).toBe('/');
  });
});
