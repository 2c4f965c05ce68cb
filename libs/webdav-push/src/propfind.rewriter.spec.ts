import { DOMParser, type Element } from '@xmldom/xmldom';
import { describe, expect, it } from 'vitest';
import { planPropfind, rewriteMultistatus, type PushPropertyValues } from './propfind.rewriter';

const P = 'https://bitfire.at/webdav-push';
const values: PushPropertyValues = {
  transports: `<transports xmlns="${P}"><web-push><vapid-public-key type="p256ecdsa">BKEY</vapid-public-key></web-push></transports>`,
  topic: `<topic xmlns="${P}">T0PIC</topic>`,
  supportedTriggers: `<supported-triggers xmlns="${P}" xmlns:D="DAV:"><content-update><D:depth>infinity</D:depth></content-update></supported-triggers>`,
};

const propfind = (props: string) =>
  `<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:" xmlns:P="${P}"><D:prop>${props}</D:prop></D:propfind>`;

function parse(xml: string) {
  return new DOMParser().parseFromString(xml, 'application/xml');
}

/** Props per status per href, in Clark notation, from the rewritten answer. */
function summary(xml: string): Record<string, Record<string, string[]>> {
  const out: Record<string, Record<string, string[]>> = {};
  const responses = parse(xml).getElementsByTagNameNS('DAV:', 'response');
  for (let i = 0; i < responses.length; i++) {
    const r = responses[i]!;
    const href = r.getElementsByTagNameNS('DAV:', 'href')[0]!.textContent!;
    const entry: Record<string, string[]> = {};
    const propstats = r.getElementsByTagNameNS('DAV:', 'propstat');
    for (let j = 0; j < propstats.length; j++) {
      const ps = propstats[j]!;
      const status = ps.getElementsByTagNameNS('DAV:', 'status')[0]!.textContent!;
      const prop = ps.getElementsByTagNameNS('DAV:', 'prop')[0]!;
      const names: string[] = [];
      for (let c = prop.firstChild; c; c = c.nextSibling)
        if (c.nodeType === 1) names.push(`{${(c as Element).namespaceURI}}${(c as Element).localName}`);
      entry[status] = names;
    }
    out[href] = entry;
  }
  return out;
}

describe('planPropfind', () => {
  it.each([
    ['an empty body (allprop)', ''],
    ['allprop', '<D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>'],
    ['propname', '<D:propfind xmlns:D="DAV:"><D:propname/></D:propfind>'],
    ['a prop without push properties', propfind('<D:displayname/>')],
    ['push properties in the wrong namespace', propfind('<D:topic/><X:topic xmlns:X="DAV:Push"/>')],
    ['malformed XML', '<D:propfind xmlns:D="DAV:"><D:prop>'],
    [
      'a DOCTYPE',
      '<!DOCTYPE x [<!ENTITY a "b">]><D:propfind xmlns:D="DAV:"><D:prop><P:topic xmlns:P="https://bitfire.at/webdav-push"/></D:prop></D:propfind>',
    ],
  ])('passes %s through unchanged', (_what, body) => {
    expect(planPropfind(body)).toBeUndefined();
  });

  it('removes the push properties and adds resourcetype', () => {
    const plan = planPropfind(propfind('<D:displayname/><P:topic/><P:transports/>'))!;
    expect(plan.requested).toEqual(['topic', 'transports']);
    expect(plan.addedResourcetype).toBe(true);
    expect(plan.upstreamBody).not.toContain('topic');
    expect(plan.upstreamBody).toContain('<D:resourcetype/>');
    expect(plan.upstreamBody).toContain('<D:displayname/>');
  });

  it('keeps a resourcetype the client asked for', () => {
    const plan = planPropfind(propfind('<D:resourcetype/><P:supported-triggers/>'))!;
    expect(plan.addedResourcetype).toBe(false);
    expect(plan.requested).toEqual(['supported-triggers']);
  });

  it('honours D:include of allprop (RFC 4918 §14.8)', () => {
    const plan = planPropfind(
      `<D:propfind xmlns:D="DAV:"><D:allprop/><D:include><P:topic xmlns:P="${P}"/></D:include></D:propfind>`,
    )!;
    expect(plan.requested).toEqual(['topic']);
    expect(plan.upstreamBody).not.toContain('include');
  });
});

const answer = `<?xml version='1.0' encoding='utf-8'?>
<multistatus xmlns="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><response><href>/alice/</href><propstat><prop><resourcetype><principal/><collection/></resourcetype><displayname>alice</displayname></prop><status>HTTP/1.1 200 OK</status></propstat></response><response><href>/alice/cal/</href><propstat><prop><resourcetype><C:calendar/><collection/></resourcetype><displayname>Cal</displayname></prop><status>HTTP/1.1 200 OK</status></propstat><propstat><prop><getctag/></prop><status>HTTP/1.1 404 Not Found</status></propstat></response><response><href>/alice/book/</href><propstat><prop><resourcetype><CR:addressbook xmlns:CR="urn:ietf:params:xml:ns:carddav"/><collection/></resourcetype></prop><status>HTTP/1.1 200 OK</status></propstat></response><response><href>/alice/gone/</href><status>HTTP/1.1 404 Not Found</status></response></multistatus>`;

describe('rewriteMultistatus', () => {
  it('puts values into the 200 propstat of calendars and address books, 404 elsewhere, and drops the added resourcetype', () => {
    const plan = planPropfind(propfind('<D:displayname/><P:transports/><P:topic/>'))!;
    const seen: string[] = [];
    const out = rewriteMultistatus(
      answer,
      plan,
      (href) => (seen.push(href), { ...values, topic: `<topic xmlns="${P}">${href.length}</topic>` }),
    )!;
    expect(seen).toEqual(['/alice/cal/', '/alice/book/']);
    expect(summary(out)).toEqual({
      '/alice/': {
        'HTTP/1.1 200 OK': ['{DAV:}displayname'],
        'HTTP/1.1 404 Not Found': [`{${P}}transports`, `{${P}}topic`],
      },
      '/alice/cal/': {
        'HTTP/1.1 200 OK': ['{DAV:}displayname', `{${P}}transports`, `{${P}}topic`],
        'HTTP/1.1 404 Not Found': ['{DAV:}getctag'],
      },
      '/alice/book/': { 'HTTP/1.1 200 OK': [`{${P}}transports`, `{${P}}topic`] },
      '/alice/gone/': {},
    });
    expect(out).toContain(`<topic xmlns="${P}">11</topic>`);
    expect(out).toContain('<vapid-public-key type="p256ecdsa">BKEY</vapid-public-key>');
    expect(out).toContain('<response><href>/alice/gone/</href><status>HTTP/1.1 404 Not Found</status></response>');
  });

  it('keeps the resourcetype the client asked for and the server prefixes', () => {
    const plan = planPropfind(propfind('<D:resourcetype/><P:supported-triggers/>'))!;
    const prefixed = answer
      .replace(/<(\/?)(?!C:|CR:|\?)([a-z-]+)/g, '<$1D:$2')
      .replace('xmlns="DAV:"', 'xmlns:D="DAV:"');
    const out = rewriteMultistatus(prefixed, plan, () => values)!;
    expect(out).toContain('<D:resourcetype><C:calendar/><D:collection/></D:resourcetype>');
    expect(out).toContain('<D:propstat><D:prop><P:supported-triggers'.replace('<P:', '<'));
    expect(summary(out)['/alice/']).toEqual({
      'HTTP/1.1 200 OK': ['{DAV:}resourcetype', '{DAV:}displayname'],
      'HTTP/1.1 404 Not Found': [`{${P}}supported-triggers`],
    });
  });

  it('adds no 404 propstat under Prefer: return=minimal (RFC 8144)', () => {
    const plan = planPropfind(propfind('<D:displayname/><P:topic/>'))!;
    const out = summary(rewriteMultistatus(answer, plan, () => values, { minimal: true })!);
    expect(out['/alice/']).toEqual({ 'HTTP/1.1 200 OK': ['{DAV:}displayname'] });
    expect(out['/alice/cal/']!['HTTP/1.1 200 OK']).toEqual(['{DAV:}displayname', `{${P}}topic`]);
  });

  it('returns undefined for an answer that is no multistatus', () => {
    const plan = planPropfind(propfind('<P:topic/>'))!;
    expect(rewriteMultistatus('<html/>', plan, () => values)).toBeUndefined();
    expect(rewriteMultistatus('not xml', plan, () => values)).toBeUndefined();
  });
});

describe('CC/CD 70025 properties in PROPFIND (draft-gajda-dav-push-00 §6.2.1)', () => {
  const CC = 'urn:ietf:params:xml:ns:dav-push';
  const ccPropfind = (props: string) =>
    `<D:propfind xmlns:D="DAV:" xmlns:X="${CC}" xmlns:P="${P}"><D:prop>${props}</D:prop></D:propfind>`;
  const cc = {
    'subscribe-URL': `<subscribe-URL xmlns="${CC}" xmlns:D="DAV:"><D:href>https://proxy.example/alice/cal/</D:href></subscribe-URL>`,
    'push-version': `<push-version xmlns="${CC}">1</push-version>`,
  };

  it('plans them by the name asked, in either spelling, alone or with WebDAV-Push ones', () => {
    const plan = planPropfind(ccPropfind('<D:displayname/><X:subscribe-URL/><X:push-version/><P:topic/><X:unknown/>'))!;
    expect(plan.requestedCc).toEqual(['subscribe-URL', 'push-version']);
    expect(plan.requested).toEqual(['topic']);
    expect(plan.upstreamBody).not.toContain('subscribe-URL');
    expect(plan.upstreamBody).toContain('unknown');
    expect(planPropfind(ccPropfind('<X:topic/>'))!.requestedCc).toEqual(['topic']);
  });

  it('never answers them to allprop', () => {
    expect(planPropfind('<D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>')).toBeUndefined();
  });

  it('puts them into calendars and address books, and lists them 404 elsewhere', () => {
    const plan = planPropfind(ccPropfind('<X:subscribe-URL/><X:push-version/>'))!;
    const out = rewriteMultistatus(answer, plan, () => ({ ...values, cc }))!;
    expect(summary(out)).toMatchObject({
      '/alice/': { 'HTTP/1.1 404 Not Found': [`{${CC}}subscribe-URL`, `{${CC}}push-version`] },
      '/alice/cal/': { 'HTTP/1.1 200 OK': ['{DAV:}displayname', `{${CC}}subscribe-URL`, `{${CC}}push-version`] },
      '/alice/book/': { 'HTTP/1.1 200 OK': [`{${CC}}subscribe-URL`, `{${CC}}push-version`] },
    });
    expect(out).toContain('<D:href>https://proxy.example/alice/cal/</D:href>');
  });
});
