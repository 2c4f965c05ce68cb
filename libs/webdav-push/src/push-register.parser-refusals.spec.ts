import { describe, it, expect } from 'vitest';
import { ValidationError } from '@davpush/domain';
import { parsePushRegister as sut } from './push-register.parser';
import { doc, minimalSub, NS, webPush } from './__fixtures__/push-register-docs';
import { fixture } from './__fixtures__/xml-tree';

const billionLaughs = `<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
${doc(webPush('<push-resource>&lol9;</push-resource>'))}`;

const xxe = `<?xml version="1.0"?>
<!DOCTYPE push-register [<!ENTITY xxe SYSTEM "file:///etc/hostname">]>
${doc(webPush('<push-resource>https://push.example/&xxe;</push-resource>'))}`;

describe('parsePushRegister — refused documents', () => {
  const cases: Array<{ name: string; xml: string; message: RegExp }> = [
    {
      name: 'a DOCTYPE',
      xml: `<!DOCTYPE push-register>${doc(minimalSub)}`,
      message: /^DOCTYPE and entity declarations are not allowed$/,
    },
    {
      name: 'a lower-case doctype',
      xml: `<!doctype push-register>${doc(minimalSub)}`,
      message: /DOCTYPE and entity declarations are not allowed/,
    },
    { name: 'billion laughs', xml: billionLaughs, message: /DOCTYPE and entity declarations are not allowed/ },
    { name: 'an external entity (XXE)', xml: xxe, message: /DOCTYPE and entity declarations are not allowed/ },
    {
      name: 'an ENTITY declaration without DOCTYPE',
      xml: `${doc(minimalSub)}<!ENTITY x "y">`,
      message: /DOCTYPE and entity declarations are not allowed/,
    },
    {
      name: 'a reference to an undeclared entity',
      xml: doc(webPush('<push-resource>&xxe;</push-resource>')),
      message: /^malformed XML: .*entity/,
    },
    {
      name: 'an unclosed element',
      xml: `<push-register xmlns="${NS}"><subscription>`,
      message: /^malformed XML: .*unclosed/,
    },
    {
      name: 'mismatched tags',
      xml: `<push-register xmlns="${NS}"></push-registe>`,
      message: /^malformed XML: .*mismatch/,
    },
    {
      name: 'an undeclared prefix',
      xml: `<P:push-register><P:subscription/></P:push-register>`,
      message: /^malformed XML: .*namespace/i,
    },
    { name: 'an empty body', xml: '', message: /^malformed XML: the body is empty$/ },
    { name: 'a whitespace-only body', xml: ' \r\n', message: /^malformed XML: the body is empty$/ },
    { name: 'JSON', xml: '{"subscription":{"type":"fcm"}}', message: /^malformed XML/ },
    { name: 'two root elements', xml: doc(minimalSub) + doc(minimalSub), message: /^malformed XML/ },
    {
      name: 'a repeated attribute',
      xml: doc(webPush(`<subscription-public-key type="a" type="b">k</subscription-public-key>`)),
      message: /^malformed XML: .*redefined/,
    },
    {
      name: 'another root element (a PROPFIND)',
      xml: `<D:propfind xmlns:D="DAV:"><D:prop/></D:propfind>`,
      message:
        /^root element must be push-register in namespace https:\/\/bitfire\.at\/webdav-push, not \{DAV:\}propfind$/,
    },
    {
      name: 'push-register without a namespace',
      xml: `<push-register>${minimalSub}</push-register>`,
      message: /^root element must be push-register in namespace https:\/\/bitfire\.at\/webdav-push, not no namespace/,
    },
    {
      name: 'the namespace without scheme',
      xml: doc(minimalSub, `<push-register xmlns="bitfire.at/webdav-push">`),
      message:
        /^root element must be push-register in namespace https:\/\/bitfire\.at\/webdav-push, not namespace "bitfire\.at\/webdav-push" \(.*not accepted\)$/,
    },
    {
      name: 'the namespace with http:',
      xml: doc(minimalSub, `<push-register xmlns="http://bitfire.at/webdav-push">`),
      message: /not namespace "http:\/\/bitfire\.at\/webdav-push"/,
    },
    {
      name: 'the DAV:Push namespace (spec xml/sample-registration-with-encryption.xml)',
      xml: fixture('spec-sample-registration-with-encryption.xml'),
      message:
        /^root element must be push-register in namespace https:\/\/bitfire\.at\/webdav-push, not namespace "DAV:Push" \(.*not accepted\)$/,
    },
    {
      name: 'elements nested 33 deep',
      xml: doc('<x>'.repeat(32) + '</x>'.repeat(32) + minimalSub),
      message: /^elements are nested deeper than 32 levels$/,
    },
    {
      name: 'elements nested 2000 deep',
      xml: doc('<x>'.repeat(2000) + '</x>'.repeat(2000)),
      message: /nested deeper than 32 levels/,
    },
    {
      name: 'a 17 KiB body',
      xml: doc(minimalSub) + ' '.repeat(17 * 1024),
      message: /^push-register body exceeds 16 KiB$/,
    },
    {
      name: 'a body over 16 KiB in bytes but not in characters',
      xml: doc(`<comment>${'€'.repeat(6000)}</comment>` + minimalSub),
      message: /exceeds 16 KiB/,
    },
    {
      name: 'a 9 KiB push-resource',
      xml: doc(webPush(`<push-resource>https://push.example/${'a'.repeat(9 * 1024)}</push-resource>`)),
      message: /^a text node in push-resource exceeds 8 KiB$/,
    },
    {
      name: 'a 9 KiB CDATA section in an unknown element',
      xml: doc(`<junk><![CDATA[${'a'.repeat(9 * 1024)}]]></junk>`),
      message: /text node in junk exceeds 8 KiB/,
    },
    {
      name: 'two subscription elements',
      xml: doc(minimalSub + minimalSub),
      message: /^push-register must contain exactly one subscription, not several$/,
    },
    {
      name: 'two transports in one subscription',
      xml: doc(
        `<subscription><web-push-subscription/><fcm-subscription xmlns="https://davpush.dev/ns"/></subscription>`,
      ),
      message: /exactly one subscription/,
    },
    {
      name: 'two web-push-subscriptions',
      xml: doc(`<subscription><web-push-subscription/><web-push-subscription/></subscription>`),
      message: /exactly one subscription/,
    },
    {
      name: 'two push-resources',
      xml: doc(
        webPush(`<push-resource>https://a.example/</push-resource><push-resource>https://b.example/</push-resource>`),
      ),
      message: /^web-push-subscription must contain at most one push-resource$/,
    },
    {
      name: 'two triggers',
      xml: doc(minimalSub + '<trigger/><trigger/>'),
      message: /^push-register must contain at most one trigger$/,
    },
    {
      name: 'two depths',
      xml: doc(`<trigger><content-update><D:depth>0</D:depth><D:depth>infinity</D:depth></content-update></trigger>`),
      message: /^content-update must contain at most one depth$/,
    },
  ];

  it.each(cases)('$name', ({ xml, message }) => {
    let caught: unknown;
    try {
      sut(xml);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ValidationError);
    expect((caught as ValidationError).kind).toBe('validation');
    expect((caught as ValidationError).message).toMatch(message);
  });
});

describe('parsePushRegister: pre-2025 element names', () => {
  it('reads client-public-key as the subscription public key', () => {
    const r = sut(
      '<push-register xmlns="https://bitfire.at/webdav-push"><subscription><web-push-subscription>' +
        '<push-resource>https://up.example.net/x</push-resource><client-public-key type="p256dh">BCVx</client-public-key>' +
        '<auth-secret>BTBZ</auth-secret></web-push-subscription></subscription></push-register>',
    );
    expect(r.subscription).toMatchObject({ type: 'web-push', publicKey: 'BCVx', publicKeyType: 'p256dh' });
  });
});
