import { describe, expect, it } from 'vitest';
import type { CcTransport } from '@davpush/domain';
import { readTree, readXml, tree } from '../__fixtures__/xml-tree';
import { buildCcPreconditionError, buildInvalidTopicsError } from './invalid-topics.builder';
import {
  buildCcDiscoveryProperties as sut,
  buildCcProperty,
  ccPropertyDefinitionName,
  CC_PROPERTY_NAMES,
} from './properties.builder';

const NS = 'urn:ietf:params:xml:ns:dav-push';
const X = `{${NS}}`;

/** The two transports of the draft's §5.2.3.1 example, transport-data `...` read as empty. */
const DRAFT_TRANSPORTS: CcTransport[] = [
  {
    transport: 'web-push',
    transportUri: 'urn:uuid:01234567-0123-0123-0123-0123456789ab',
    refreshInterval: 172800,
    transportData: {},
  },
  { transport: 'fcm', transportUri: 'https://push.example.com/transport', refreshInterval: 172800, transportData: {} },
];
const DRAFT_INPUT = {
  subscribeUrl: 'https://calendar.example.com/subscribe',
  topic: '123',
  transports: DRAFT_TRANSPORTS,
};

/**
 * The draft's §5.2.3.1 PROPFIND body, repaired: `<P:subscribe-URL> />` (a start tag followed by
 * text) becomes the empty element `<P:subscribe-URL/>`.
 */
const DRAFT_PROPFIND = `<D:propfind xmlns:D="DAV:" xmlns:P="urn:ietf:params:xml:ns:dav-push">
  <D:prop>
    <P:subscribe-URL/>
    <P:supported-transport-set />
    <P:topic />
    <P:version />
  </D:prop>
</D:propfind>`;

/**
 * The draft's §5.2.3.1 multistatus, repaired: the `P` prefix it uses is declared; the
 * `transport-data` placeholders `...` are empty; the empty `<P:transport />` ("the client may bring
 * its own transport") is left out because davpush relays to no transport but its own.
 */
const DRAFT_MULTISTATUS = `<D:multistatus xmlns:D="DAV:" xmlns:P="urn:ietf:params:xml:ns:dav-push">
  <D:response>
    <D:href>/calendars/</D:href>
    <D:propstat>
      <D:prop>
        <P:subscribe-URL>
          <D:href>https://calendar.example.com/subscribe</D:href>
        </P:subscribe-URL>
        <P:supported-transport-set>
          <P:transport>
            <P:transport-uri>urn:uuid:01234567-0123-0123-0123-0123456789ab</P:transport-uri>
            <P:transport-data></P:transport-data>
            <P:refresh-interval>172800</P:refresh-interval>
          </P:transport>
          <P:transport>
            <P:transport-uri>https://push.example.com/transport</P:transport-uri>
            <P:transport-data></P:transport-data>
            <P:refresh-interval>172800</P:refresh-interval>
          </P:transport>
        </P:supported-transport-set>
        <P:topic>123</P:topic>
        <P:version>1</P:version>
      </D:prop>
      <D:status>HTTP/1.1 200 OK</D:status>
    </D:propstat>
  </D:response>
</D:multistatus>`;

describe('CC/CD 70025 discovery properties (draft-gajda-dav-push-00 §5.2.3.1, §6.2.1)', () => {
  it('answers every property the draft example PROPFIND asks for, under the name asked', () => {
    const prop = readXml(DRAFT_PROPFIND).getElementsByTagNameNS('DAV:', 'prop')[0]!;
    const asked = Array.from(prop.childNodes)
      .filter((n) => n.nodeType === 1)
      .map((n) => n as unknown as { namespaceURI: string; localName: string });
    expect(asked.map((n) => n.localName)).toEqual(['subscribe-URL', 'supported-transport-set', 'topic', 'version']);
    for (const { namespaceURI, localName } of asked) {
      expect(namespaceURI).toBe(NS);
      expect(readTree(buildCcProperty(localName, DRAFT_INPUT)!).name).toBe(`${X}${localName}`);
    }
  });

  it('builds the props of the draft example multistatus, element for element', () => {
    const prop = readXml(DRAFT_MULTISTATUS).getElementsByTagNameNS('DAV:', 'prop')[0]!;
    const expected = Array.from(prop.childNodes)
      .filter((n) => n.nodeType === 1)
      .map((n) => tree(n as never));
    const built = ['subscribe-URL', 'supported-transport-set', 'topic', 'version'].map((name) =>
      readTree(buildCcProperty(name, DRAFT_INPUT)!),
    );
    expect(built).toEqual(expected);
  });

  it('emits the spelling of the definitions, exact bytes, transport-data flat and text-only', () => {
    const transports: CcTransport[] = [
      {
        transport: 'web-push',
        transportUri: 'https://davpush.example/v1/gateway/transports/web-push',
        refreshInterval: 172800,
        transportData: { 'vapid-public-key': 'BKEY' },
      },
    ];
    expect(sut({ subscribeUrl: 'https://cal.example/subscribe?a=1&b=2', topic: 'T&1', transports })).toEqual({
      pushSubscribeUrl:
        '<push-subscribe-URL xmlns="urn:ietf:params:xml:ns:dav-push" xmlns:D="DAV:"><D:href>https://cal.example/subscribe?a=1&amp;b=2</D:href></push-subscribe-URL>',
      supportedTransportSet:
        '<supported-transport-set xmlns="urn:ietf:params:xml:ns:dav-push"><transport><transport-uri>https://davpush.example/v1/gateway/transports/web-push</transport-uri>' +
        '<transport-data xmlns:X="https://davpush.dev/ns"><X:vapid-public-key>BKEY</X:vapid-public-key></transport-data><refresh-interval>172800</refresh-interval></transport></supported-transport-set>',
      topic: '<topic xmlns="urn:ietf:params:xml:ns:dav-push">T&amp;1</topic>',
      pushVersion: '<push-version xmlns="urn:ietf:params:xml:ns:dav-push">1</push-version>',
    });
  });

  it.each(Object.keys(CC_PROPERTY_NAMES))('maps %s to its definition name', (name) => {
    expect(ccPropertyDefinitionName(name)).toMatch(/^(push-subscribe-URL|supported-transport-set|topic|push-version)$/);
  });

  it('knows nothing else', () => {
    expect(buildCcProperty('transports', DRAFT_INPUT)).toBeUndefined();
    expect(buildCcProperty('__proto__', DRAFT_INPUT)).toBeUndefined();
    expect(ccPropertyDefinitionName('constructor')).toBeUndefined();
  });

  it('refuses a topic XML cannot carry', () => {
    expect(() => sut({ ...DRAFT_INPUT, topic: 'a\u0001b' })).toThrow(/XML cannot carry/);
  });
});

describe('buildInvalidTopicsError (draft §6.2.2 invalid-topics precondition)', () => {
  it('lists each refused topic in a DAV:error', () => {
    expect(readTree(buildInvalidTopicsError(['123', 'a<b'], 'why'))).toEqual({
      name: '{DAV:}error',
      children: [
        {
          name: `${X}invalid-topics`,
          children: [
            { name: `${X}topic`, text: '123' },
            { name: `${X}topic`, text: 'a<b' },
          ],
        },
        { name: '{DAV:}responsedescription', text: 'why' },
      ],
    });
  });

  it('can always be built, even for a topic XML cannot carry', () => {
    expect(
      readTree(buildInvalidTopicsError(['a\u0001b']), { allowWarnings: true }).children![0]!.children![0]!.text,
    ).toBe('a\uFFFDb');
  });
});

describe('buildCcPreconditionError (a refused subscribe, in the CC namespace)', () => {
  it.each(['invalid-subscription', 'push-not-available'] as const)(
    'names %s in urn:ietf:params:xml:ns:dav-push, never the WebDAV-Push namespace',
    (precondition) => {
      const xml = buildCcPreconditionError(precondition, 'why');
      expect(readTree(xml)).toEqual({
        name: '{DAV:}error',
        children: [{ name: `${X}${precondition}` }, { name: '{DAV:}responsedescription', text: 'why' }],
      });
      expect(xml).not.toContain('bitfire.at');
    },
  );
});
