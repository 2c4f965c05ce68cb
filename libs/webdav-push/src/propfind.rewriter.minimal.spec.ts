import { DOMParser } from '@xmldom/xmldom';
import { describe, expect, it } from 'vitest';
import { planPropfind, rewriteMultistatus } from './propfind.rewriter';

const P = 'https://bitfire.at/webdav-push';
const values = {
  transports: `<transports xmlns="${P}"/>`,
  topic: `<topic xmlns="${P}">T</topic>`,
  supportedTriggers: `<supported-triggers xmlns="${P}"/>`,
};
const request = `<D:propfind xmlns:D="DAV:" xmlns:P="${P}"><D:prop><P:topic/><P:transports/></D:prop></D:propfind>`;
const answer = (props: string) =>
  `<D:multistatus xmlns:D="DAV:"><D:response><D:href>/alice/</D:href><D:propstat><D:prop>${props}</D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response></D:multistatus>`;

/** `Prefer: return=minimal` (RFC 8144 §2.1) never leaves a `D:response` without propstat or status (RFC 4918 §14.24). */
describe('rewriteMultistatus, minimal answers', () => {
  it('lists the push properties as 404 when nothing else is left of a non-calendar', () => {
    const plan = planPropfind(request)!;
    const out = rewriteMultistatus(answer('<D:resourcetype><D:collection/></D:resourcetype>'), plan, () => values, {
      minimal: true,
    })!;
    const response = new DOMParser()
      .parseFromString(out, 'application/xml')
      .getElementsByTagNameNS('DAV:', 'response')[0]!;
    const propstats = response.getElementsByTagNameNS('DAV:', 'propstat');
    expect(propstats.length).toBe(1);
    expect(propstats[0]!.getElementsByTagNameNS('DAV:', 'status')[0]!.textContent).toBe('HTTP/1.1 404 Not Found');
    expect(propstats[0]!.getElementsByTagNameNS(P, 'topic').length).toBe(1);
    expect(propstats[0]!.getElementsByTagNameNS(P, 'transports').length).toBe(1);
    expect(response.getElementsByTagNameNS('DAV:', 'resourcetype').length).toBe(0);
  });

  it('still leaves out the 404 propstat when other properties remain', () => {
    const plan = planPropfind(
      `<D:propfind xmlns:D="DAV:" xmlns:P="${P}"><D:prop><D:displayname/><P:topic/></D:prop></D:propfind>`,
    )!;
    const out = rewriteMultistatus(
      answer('<D:displayname>Home</D:displayname><D:resourcetype><D:collection/></D:resourcetype>'),
      plan,
      () => values,
      { minimal: true },
    )!;
    expect(out).not.toContain('404');
    expect(out).not.toContain(P);
    expect(out).toContain('<D:displayname>Home</D:displayname>');
  });
});
