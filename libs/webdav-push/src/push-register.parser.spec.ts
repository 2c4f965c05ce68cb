import { describe, it, expect } from 'vitest';
import type { RegistrationRequest } from '@davpush/domain';
import { parsePushRegister as sut } from './push-register.parser';
import { doc, minimalSub, NS, webPush } from './__fixtures__/push-register-docs';
import { fixture } from './__fixtures__/xml-tree';

const KEY = 'BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4';
const AUTH = 'BTBZMqHH6r4Tts7J_aSIgg';

const specSample = fixture('spec-sample-push-register.xml');

/** What the spec's own sample says, whatever prefixes carry it. */
const specSampleParsed: RegistrationRequest = {
  subscription: {
    type: 'web-push',
    pushResource: 'https://up.example.net/yohd4yai5Phiz1wi',
    contentEncoding: 'aes128gcm',
    publicKey: KEY,
    publicKeyType: 'p256dh',
    authSecret: AUTH,
  },
  // `infinite` is passed on raw: the domain's parseDepth maps the pre-2025-04 spelling.
  trigger: {
    contentUpdate: { depth: 'infinite' },
    propertyUpdate: { depth: '0', props: ['{DAV:}displayname', '{DAV:}owner'] },
  },
  expires: 'Wed, 20 Dec 2023 10:03:31 GMT',
};

/** The sample with explicit prefixes `wp:` and `dav:` instead of a default namespace and `D:`. */
const otherPrefixes = specSample
  .replace(/<(\/?)(?![A-Za-z]+:)([a-z-]+)/g, '<$1wp:$2')
  .replace(`xmlns="${NS}"`, `xmlns:wp="${NS}"`)
  .replace(/(<\/?)D:/g, '$1dav:')
  .replace('xmlns:D=', 'xmlns:dav=');

/** The sample with DAV: elements in a default namespace declared on each of them. */
const davDefaultNs = specSample
  .replace(/<D:([a-z-]+)(\/?)>/g, '<$1 xmlns="DAV:"$2>')
  .replace(/<\/D:([a-z-]+)>/g, '</$1>');

/** The PROPFIND style of the draft: DAV: is the default namespace, WebDAV-Push is `P:`. */
const pPrefixDavDefault = otherPrefixes
  .replace(/(<\/?)wp:/g, '$1P:')
  .replace('xmlns:wp=', 'xmlns:P=')
  .replace(/(<\/?)dav:/g, '$1')
  .replace('xmlns:dav=', 'xmlns=');

// DAVx5 (Android XmlSerializer): single-quoted declaration, no trigger, no content-encoding,
// expires = IMF-fixdate three days ahead (RFC 9110 §5.6.7).
const davx5Body = (p: string) =>
  `<${p}subscription><${p}web-push-subscription>` +
  `<${p}push-resource>https://ntfy.example.org/upAbC123?up=1&amp;x=2</${p}push-resource>` +
  `<${p}subscription-public-key type="p256dh">${KEY}</${p}subscription-public-key>` +
  `<${p}auth-secret>${AUTH}</${p}auth-secret>` +
  `</${p}web-push-subscription></${p}subscription>` +
  `<${p}expires>Sat, 21 Nov 2026 10:00:00 GMT</${p}expires>`;
const davx5Parsed: RegistrationRequest = {
  subscription: {
    type: 'web-push',
    pushResource: 'https://ntfy.example.org/upAbC123?up=1&x=2',
    contentEncoding: undefined,
    publicKey: KEY,
    publicKeyType: 'p256dh',
    authSecret: AUTH,
  },
  trigger: undefined,
  expires: 'Sat, 21 Nov 2026 10:00:00 GMT',
};

describe('parsePushRegister — accepted documents', () => {
  const cases: Array<{ name: string; xml: string; expected: RegistrationRequest }> = [
    { name: 'the spec sample (xml/sample-push-register.xml)', xml: specSample, expected: specSampleParsed },
    { name: 'the spec sample with prefixes wp: and dav:', xml: otherPrefixes, expected: specSampleParsed },
    {
      name: 'the spec sample with DAV: as per-element default namespace',
      xml: davDefaultNs,
      expected: specSampleParsed,
    },
    {
      name: 'the spec sample with P: prefix and DAV: as default namespace',
      xml: pPrefixDavDefault,
      expected: specSampleParsed,
    },
    {
      name: 'the older spec sample (xml/sample-registration.xml): sync-level is not depth',
      xml: fixture('spec-sample-registration.xml'),
      expected: {
        subscription: {
          type: 'web-push',
          pushResource: 'https://up.example.net/yohd4yai5Phiz1wi',
          contentEncoding: undefined,
          publicKey: undefined,
          publicKeyType: undefined,
          authSecret: undefined,
        },
        trigger: {
          contentUpdate: { depth: undefined },
          propertyUpdate: { depth: '0', props: ['{DAV:}displayname', '{DAV:}owner'] },
        },
        expires: 'Wed, 20 Dec 2023 10:03:31 GMT',
      },
    },
    {
      name: 'DAVx5 form, default namespace',
      xml: `<?xml version='1.0' encoding='UTF-8' ?><push-register xmlns="${NS}">${davx5Body('')}</push-register>`,
      expected: davx5Parsed,
    },
    {
      name: 'DAVx5 form, P: prefix',
      xml: `<?xml version='1.0' encoding='UTF-8' ?><P:push-register xmlns:P="${NS}">${davx5Body('P:')}</P:push-register>`,
      expected: davx5Parsed,
    },
    {
      name: 'FCM subscription in our namespace',
      xml: doc(
        `<subscription><F:fcm-subscription><F:token>\n  fcm-token:APA91b\n</F:token></F:fcm-subscription></subscription>` +
          `<trigger><content-update><D:depth>1</D:depth></content-update></trigger>`,
        `<push-register xmlns="${NS}" xmlns:D="DAV:" xmlns:F="https://davpush.dev/ns">`,
      ),
      expected: {
        subscription: { type: 'fcm', token: 'fcm-token:APA91b' },
        trigger: { contentUpdate: { depth: '1' } },
        expires: undefined,
      },
    },
    {
      name: 'FCM subscription without a token',
      xml: doc(`<subscription><fcm-subscription xmlns="https://davpush.dev/ns"/></subscription>`),
      expected: { subscription: { type: 'fcm', token: undefined }, trigger: undefined, expires: undefined },
    },
    {
      name: 'property-update with props in several namespaces',
      xml: doc(
        minimalSub +
          `<trigger><property-update><D:depth>0</D:depth><D:prop>` +
          `<D:displayname/><A:calendar-color xmlns:A="http://apple.com/ns/ical/"/><C:getctag xmlns:C="http://calendarserver.org/ns/">ignored text</C:getctag><plain xmlns=""/>` +
          `</D:prop></property-update></trigger>`,
      ),
      expected: {
        subscription: {
          type: 'web-push',
          pushResource: 'https://push.example/x',
          contentEncoding: undefined,
          publicKey: undefined,
          publicKeyType: undefined,
          authSecret: undefined,
        },
        trigger: {
          propertyUpdate: {
            depth: '0',
            props: [
              '{DAV:}displayname',
              '{http://apple.com/ns/ical/}calendar-color',
              '{http://calendarserver.org/ns/}getctag',
              'plain',
            ],
          },
        },
        expires: undefined,
      },
    },
    {
      name: 'unknown elements everywhere are ignored, CDATA is text',
      xml: doc(
        `<future-thing><subscription/></future-thing>` +
          `<subscription><web-push-subscription><push-resource><![CDATA[https://push.example/x]]></push-resource><X:extra xmlns:X="urn:x"/></web-push-subscription><other-transport/></subscription>` +
          `<trigger><D:subscription/><content-update><D:depth> 1 </D:depth><D:sync-token>t</D:sync-token></content-update><deletion/></trigger>` +
          `<D:expires>ignored: wrong namespace</D:expires>`,
      ),
      expected: {
        subscription: {
          type: 'web-push',
          pushResource: 'https://push.example/x',
          contentEncoding: undefined,
          publicKey: undefined,
          publicKeyType: undefined,
          authSecret: undefined,
        },
        trigger: { contentUpdate: { depth: '1' } },
        expires: undefined,
      },
    },
    {
      name: 'subscription with only an unknown transport',
      xml: doc(`<subscription><apns-subscription>abc</apns-subscription></subscription>`),
      expected: { subscription: { type: 'unknown' }, trigger: undefined, expires: undefined },
    },
    {
      name: 'no subscription, empty trigger, empty expires',
      xml: doc(`<trigger/><expires> </expires>`),
      expected: { subscription: undefined, trigger: {}, expires: '' },
    },
    {
      name: 'a BOM and leading whitespace before the declaration',
      xml: `\uFEFF\n  <?xml version="1.0" encoding="utf-8"?>\n${doc(minimalSub)}`,
      expected: {
        subscription: {
          type: 'web-push',
          pushResource: 'https://push.example/x',
          contentEncoding: undefined,
          publicKey: undefined,
          publicKeyType: undefined,
          authSecret: undefined,
        },
        trigger: undefined,
        expires: undefined,
      },
    },
  ];

  it.each(cases)('$name', ({ xml, expected }) => {
    expect(sut(xml)).toEqual(expected);
  });

  it('really rewrites the prefixes of the sample variants', () => {
    expect(otherPrefixes).toContain('<wp:push-register xmlns:wp=');
    expect(otherPrefixes).toContain('<dav:displayname/>');
    expect(davDefaultNs).toContain('<depth xmlns="DAV:">0</depth>');
    expect(pPrefixDavDefault).toContain('<P:push-register xmlns:P="https://bitfire.at/webdav-push" xmlns="DAV:">');
    expect(pPrefixDavDefault).toContain('<displayname/>');
  });

  it.each([
    { depth: '<D:depth>0</D:depth>', expected: '0' },
    { depth: '<D:depth>1</D:depth>', expected: '1' },
    { depth: '<D:depth>infinity</D:depth>', expected: 'infinity' },
    { depth: '<D:depth>infinite</D:depth>', expected: 'infinite' },
    { depth: '<D:depth>\n  infinity\n</D:depth>', expected: 'infinity' },
    { depth: '<D:depth/>', expected: '' },
    { depth: '<D:depth>2</D:depth>', expected: '2' },
    { depth: '', expected: undefined },
  ])('passes depth $depth on as $expected for both trigger types', ({ depth, expected }) => {
    const xml = doc(
      `<trigger><content-update>${depth}</content-update><property-update>${depth}</property-update></trigger>`,
    );
    expect(sut(xml).trigger).toEqual({ contentUpdate: { depth: expected }, propertyUpdate: { depth: expected } });
  });

  it('keeps an empty D:prop apart from an absent one', () => {
    expect(sut(doc(`<trigger><property-update><D:prop/></property-update></trigger>`)).trigger).toEqual({
      propertyUpdate: { depth: undefined, props: [] },
    });
    expect(sut(doc(`<trigger><property-update/></trigger>`)).trigger).toEqual({ propertyUpdate: { depth: undefined } });
  });

  it('reads subscription-public-key without a type attribute as publicKeyType undefined', () => {
    const result = sut(doc(webPush(`<subscription-public-key>${KEY}</subscription-public-key>`)));
    expect(result.subscription).toMatchObject({ type: 'web-push', publicKey: KEY, publicKeyType: undefined });
  });

  it('accepts elements nested exactly 32 deep', () => {
    const deep = '<x>'.repeat(31) + '</x>'.repeat(31);
    expect(sut(doc(deep + minimalSub)).subscription).toMatchObject({ pushResource: 'https://push.example/x' });
  });

  it('accepts a body of exactly 16 KiB', () => {
    const base = doc(minimalSub);
    expect(sut(base + ' '.repeat(16 * 1024 - base.length)).subscription).toMatchObject({ type: 'web-push' });
  });
});
