import { describe, it, expect } from 'vitest';
import { KEY_ROTATION_MESSAGE, ValidationError, pushMessageFor, type PushMessage } from '@davpush/domain';
import { buildPushMessage as sut } from './push-message.builder';
import { fixture, readTree, type XmlTree } from './__fixtures__/xml-tree';
import { DOMParser } from '@xmldom/xmldom';
import { create } from 'xmlbuilder2';
import { WEBDAV_PUSH_NS } from './namespaces';
import { text as writeText, textContent } from './xml-writer';

const P = '{https://bitfire.at/webdav-push}';
const DECL = '<?xml version="1.0" encoding="UTF-8"?>';
const ROOT = '<push-message xmlns="https://bitfire.at/webdav-push" xmlns:D="DAV:">';

describe('buildPushMessage', () => {
  // The draft's push-message, byte for byte: this is what clients decrypt.
  const cases: Array<{ name: string; message: PushMessage; xml: string; tree: XmlTree }> = [
    {
      name: 'content update with sync-token',
      message: { topic: 'T', contentUpdate: { syncToken: 'http://example.com/sync/10' } },
      xml: `${DECL}${ROOT}<topic>T</topic><content-update><D:sync-token>http://example.com/sync/10</D:sync-token></content-update></push-message>`,
      tree: {
        name: `${P}push-message`,
        children: [
          { name: `${P}topic`, text: 'T' },
          { name: `${P}content-update`, children: [{ name: '{DAV:}sync-token', text: 'http://example.com/sync/10' }] },
        ],
      },
    },
    {
      name: 'content update without sync-token',
      message: { topic: 'T', contentUpdate: {} },
      xml: `${DECL}${ROOT}<topic>T</topic><content-update/></push-message>`,
      tree: { name: `${P}push-message`, children: [{ name: `${P}topic`, text: 'T' }, { name: `${P}content-update` }] },
    },
    {
      name: 'content and property update',
      message: { topic: 'T', contentUpdate: { syncToken: 'S' }, propertyUpdate: {} },
      xml: `${DECL}${ROOT}<topic>T</topic><content-update><D:sync-token>S</D:sync-token></content-update><property-update/></push-message>`,
      tree: {
        name: `${P}push-message`,
        children: [
          { name: `${P}topic`, text: 'T' },
          { name: `${P}content-update`, children: [{ name: '{DAV:}sync-token', text: 'S' }] },
          { name: `${P}property-update` },
        ],
      },
    },
    {
      name: 'property update only, empty props list',
      message: { topic: 'T', propertyUpdate: { props: [] } },
      xml: `${DECL}${ROOT}<topic>T</topic><property-update/></push-message>`,
      tree: { name: `${P}push-message`, children: [{ name: `${P}topic`, text: 'T' }, { name: `${P}property-update` }] },
    },
    {
      name: 'the key-rotation message',
      message: KEY_ROTATION_MESSAGE,
      xml: `${DECL}${ROOT}<property-update><D:prop><transports/></D:prop></property-update></push-message>`,
      tree: {
        name: `${P}push-message`,
        children: [
          { name: `${P}property-update`, children: [{ name: '{DAV:}prop', children: [{ name: `${P}transports` }] }] },
        ],
      },
    },
    {
      name: 'props in DAV:, WebDAV-Push, foreign and no namespace',
      message: {
        topic: 'T',
        propertyUpdate: {
          props: [
            '{DAV:}displayname',
            '{http://apple.com/ns/ical/}calendar-color',
            `${P}topic`,
            'plain',
            '{}empty-ns',
            '{urn:x:{y}}z',
          ],
        },
      },
      xml:
        `${DECL}${ROOT}<topic>T</topic><property-update><D:prop><D:displayname/>` +
        `<calendar-color xmlns="http://apple.com/ns/ical/"/><topic/><plain xmlns=""/><empty-ns xmlns=""/><z xmlns="urn:x:{y}"/></D:prop></property-update></push-message>`,
      tree: {
        name: `${P}push-message`,
        children: [
          { name: `${P}topic`, text: 'T' },
          {
            name: `${P}property-update`,
            children: [
              {
                name: '{DAV:}prop',
                children: [
                  { name: '{DAV:}displayname' },
                  { name: '{http://apple.com/ns/ical/}calendar-color' },
                  { name: `${P}topic` },
                  { name: 'plain' },
                  { name: 'empty-ns' },
                  { name: '{urn:x:{y}}z' },
                ],
              },
            ],
          },
        ],
      },
    },
  ];

  it.each(cases)('$name: exact bytes', ({ message, xml }) => {
    expect(sut(message)).toBe(xml);
  });

  it.each(cases)('$name: reads back by namespace and local name', ({ message, tree }) => {
    expect(readTree(sut(message))).toEqual(tree);
  });

  it('matches the spec sample of the key-rotation message (xml/push-message-vapid-key.xml)', () => {
    const tree = readTree(sut(KEY_ROTATION_MESSAGE));
    expect(tree).toEqual(readTree(fixture('spec-push-message-vapid-key.xml')));
    expect(tree.children?.some((c) => c.name === `${P}topic`)).toBe(false);
  });

  it('builds what the domain produces for a content+property change', () => {
    expect(readTree(sut(pushMessageFor('cal-1', ['content', 'property'], 'tok-7')))).toEqual({
      name: `${P}push-message`,
      children: [
        { name: `${P}topic`, text: 'cal-1' },
        { name: `${P}content-update`, children: [{ name: '{DAV:}sync-token', text: 'tok-7' }] },
        { name: `${P}property-update` },
      ],
    });
  });

  it.each([
    {
      field: 'topic',
      message: { topic: `a<b>&c"d'e</x>`, contentUpdate: {} },
      escaped: `<topic>a&lt;b&gt;&amp;c"d'e&lt;/x&gt;</topic>`,
    },
    {
      field: 'sync-token',
      message: { topic: 'T', contentUpdate: { syncToken: 'http://ex/?a=1&b=<2>' } },
      escaped: `<D:sync-token>http://ex/?a=1&amp;b=&lt;2&gt;</D:sync-token>`,
    },
    { field: 'CDATA end in topic', message: { topic: ']]>' }, escaped: `<topic>]]&gt;</topic>` },
    // xmlbuilder2 alone would leave these unescaped (see xml-writer.ts text()).
    { field: 'entity-looking topic', message: { topic: '&amp;&lt;' }, escaped: `<topic>&amp;amp;&amp;lt;</topic>` },
    {
      field: 'entity-looking sync-token',
      message: { topic: 'T', contentUpdate: { syncToken: 'x&#60;y&foo;z&#x3C;' } },
      escaped: `<D:sync-token>x&amp;#60;y&amp;foo;z&amp;#x3C;</D:sync-token>`,
    },
  ])('escapes markup in the $field', ({ message, escaped }) => {
    const xml = sut(message);
    expect(xml).toContain(escaped);
    const tree = readTree(xml);
    const text = (n: XmlTree): string[] => [...(n.text ? [n.text] : []), ...(n.children ?? []).flatMap(text)];
    expect(text(tree)).toEqual([
      message.topic,
      ...(message.contentUpdate?.syncToken ? [message.contentUpdate.syncToken] : []),
    ]);
  });

  it('is compact and small enough for one Web Push record', () => {
    const xml = sut({
      topic: 'x'.repeat(64),
      contentUpdate: { syncToken: `https://dav.example.com/sync/${'9'.repeat(40)}` },
      propertyUpdate: {},
    });
    expect(xml).not.toMatch(/>\s+</);
    expect(xml).not.toContain('\n');
    expect(Buffer.byteLength(xml)).toBeLessThan(3993);
  });

  it.each([
    {
      name: 'a control character in the topic',
      message: { topic: 'a\u0001b' },
      error: /topic contains characters that XML cannot carry/,
    },
    {
      name: 'a lone surrogate in the sync-token',
      message: { topic: 'T', contentUpdate: { syncToken: 'a\uD800' } },
      error: /sync-token contains characters/,
    },
    {
      name: 'a prop local name with a colon',
      message: { propertyUpdate: { props: ['{urn:x}a:b'] } },
      error: /property name "\{urn:x\}a:b" is not a valid XML name/,
    },
    {
      name: 'a prop local name starting with a digit',
      message: { propertyUpdate: { props: ['{DAV:}1x'] } },
      error: /not a valid XML name/,
    },
    {
      name: 'a prop with an unclosed namespace',
      message: { propertyUpdate: { props: ['{DAV:displayname'] } },
      error: /not in Clark notation/,
    },
    { name: 'an empty prop name', message: { propertyUpdate: { props: [''] } }, error: /not a valid XML name/ },
    {
      name: 'a prop namespace with an ampersand',
      message: { propertyUpdate: { props: ['{urn:a&amp;b}x'] } },
      error: /has a namespace that cannot be written/,
    },
  ])('refuses $name rather than altering it', ({ message, error }) => {
    expect(() => sut(message)).toThrow(ValidationError);
    expect(() => sut(message)).toThrow(error);
  });
});

describe('buildPushMessage with a cached document per topic', () => {
  const tokens = [
    '',
    'a',
    'http://x/sync/1',
    'a&b',
    'a&amp;b',
    '&#60;',
    '&foo;',
    '<x>',
    ']]>',
    `"'`,
    'ü€😀',
    'a\r\nb\tc',
  ];

  it('splices each sync-token in as xmlbuilder2 writes it (textContent)', () => {
    for (const token of tokens) {
      const el = create({ version: '1.0' }).ele('s');
      writeText(el, token, 'sync-token');
      const written = /<s>(.*)<\/s>|<s\/>/s.exec(el.end({ prettyPrint: false, headless: true }))!;
      expect({ token, content: textContent(token, 'sync-token') }).toEqual({ token, content: written[1] ?? '' });
    }
  });

  it('gives every token of one topic its own message, read back exactly', () => {
    for (const token of tokens) {
      const xml = sut({ topic: 'cal&<1>', contentUpdate: { syncToken: token }, propertyUpdate: {} });
      const doc = new DOMParser().parseFromString(xml, 'application/xml');
      const read = doc.getElementsByTagNameNS('DAV:', 'sync-token')[0]!.textContent;
      // XML parsers turn a CR LF into LF (XML 1.0 §2.11), as before the cache.
      expect(read).toBe(token.replace(/\r\n/g, '\n'));
      expect(doc.getElementsByTagNameNS(WEBDAV_PUSH_NS, 'topic')[0]!.textContent).toBe('cal&<1>');
    }
  });

  it('keeps the shapes of one topic apart (content, property, both, props, no token)', () => {
    const shapes: PushMessage[] = [
      { topic: 'same', contentUpdate: { syncToken: 's' } },
      { topic: 'same', propertyUpdate: {} },
      { topic: 'same', contentUpdate: { syncToken: 's' }, propertyUpdate: {} },
      { topic: 'same', contentUpdate: {}, propertyUpdate: { props: ['{DAV:}displayname'] } },
      { topic: 'same', contentUpdate: {} },
    ];
    const shape = (xml: string) => {
      const doc = new DOMParser().parseFromString(xml, 'application/xml');
      return {
        content: doc.getElementsByTagNameNS(WEBDAV_PUSH_NS, 'content-update').length,
        property: doc.getElementsByTagNameNS(WEBDAV_PUSH_NS, 'property-update').length,
        token: doc.getElementsByTagNameNS('DAV:', 'sync-token')[0]?.textContent ?? null,
        props: doc.getElementsByTagNameNS('DAV:', 'displayname').length,
      };
    };
    for (let round = 0; round < 2; round++)
      for (const m of shapes)
        expect(shape(sut(m))).toEqual({
          content: m.contentUpdate ? 1 : 0,
          property: m.propertyUpdate ? 1 : 0,
          token: m.contentUpdate?.syncToken ?? null,
          props: m.propertyUpdate?.props?.length ?? 0,
        });
  });

  it('still refuses a sync-token XML cannot carry, and a topic, every time', () => {
    sut({ topic: 'ok', contentUpdate: { syncToken: 'fine' } });
    expect(() => sut({ topic: 'ok', contentUpdate: { syncToken: 'bad\u0001' } })).toThrow(ValidationError);
    for (let i = 0; i < 2; i++)
      expect(() => sut({ topic: 'bad\u0001', contentUpdate: { syncToken: 's' } })).toThrow(ValidationError);
  });
});
