import { describe, it, expect } from 'vitest';
import { SUPPORTED_TRIGGERS, ValidationError } from '@davpush/domain';
import { buildDiscoveryProperties as sut } from './properties.builder';
import { readTree, readXml, tree } from './__fixtures__/xml-tree';

const P = '{https://bitfire.at/webdav-push}';
const F = '{https://davpush.dev/ns}';
const KEY = 'BA1Hxzyi1RUM1b5wjxsn7nGxAszw2u61m164i3MrAIxHF6YK5h4SDYic-dRuU_RCPCfA5aq9ojSwk5Y2EmClBPs';

describe('buildDiscoveryProperties', () => {
  it.each([
    {
      name: 'web-push only',
      input: { vapidPublicKey: KEY, topic: 'O7M1nQ7cKkKTKsoS_j6Z3w' },
      transports: `<transports xmlns="https://bitfire.at/webdav-push"><web-push><vapid-public-key type="p256ecdsa">${KEY}</vapid-public-key></web-push></transports>`,
    },
    {
      name: 'web-push and FCM',
      input: { vapidPublicKey: KEY, topic: 'O7M1nQ7cKkKTKsoS_j6Z3w', fcm: { projectId: 'davpush-demo' } },
      transports:
        `<transports xmlns="https://bitfire.at/webdav-push"><web-push><vapid-public-key type="p256ecdsa">${KEY}</vapid-public-key></web-push>` +
        `<fcm xmlns="https://davpush.dev/ns"><project-id>davpush-demo</project-id></fcm></transports>`,
    },
  ])('$name: exact bytes', ({ input, transports }) => {
    expect(sut(input)).toEqual({
      transports,
      topic: '<topic xmlns="https://bitfire.at/webdav-push">O7M1nQ7cKkKTKsoS_j6Z3w</topic>',
      supportedTriggers:
        '<supported-triggers xmlns="https://bitfire.at/webdav-push" xmlns:D="DAV:">' +
        '<content-update><D:depth>infinity</D:depth></content-update>' +
        '<property-update><D:depth>0</D:depth></property-update></supported-triggers>',
    });
  });

  it('reads back by namespace and local name, depths from SUPPORTED_TRIGGERS', () => {
    const props = sut({ vapidPublicKey: KEY, topic: 't-1', fcm: { projectId: 'p-1' } });
    expect(readTree(props.transports)).toEqual({
      name: `${P}transports`,
      children: [
        { name: `${P}web-push`, children: [{ name: `${P}vapid-public-key`, attrs: { type: 'p256ecdsa' }, text: KEY }] },
        { name: `${F}fcm`, children: [{ name: `${F}project-id`, text: 'p-1' }] },
      ],
    });
    expect(readTree(props.topic)).toEqual({ name: `${P}topic`, text: 't-1' });
    expect(readTree(props.supportedTriggers)).toEqual({
      name: `${P}supported-triggers`,
      children: [
        {
          name: `${P}content-update`,
          children: [{ name: '{DAV:}depth', text: SUPPORTED_TRIGGERS.contentUpdate.depth }],
        },
        {
          name: `${P}property-update`,
          children: [{ name: '{DAV:}depth', text: SUPPORTED_TRIGGERS.propertyUpdate.depth }],
        },
      ],
    });
  });

  it('keeps its meaning when embedded in a host PROPFIND answer with other prefixes', () => {
    const props = sut({ vapidPublicKey: KEY, topic: 't-1' });
    // A host that binds the default namespace to DAV: and `P:` to something else entirely.
    const multistatus =
      `<multistatus xmlns="DAV:" xmlns:P="urn:not-webdav-push"><response><href>/cal/</href><propstat><prop>` +
      `${props.transports}${props.topic}${props.supportedTriggers}<P:topic>decoy</P:topic>` +
      `</prop><status>HTTP/1.1 200 OK</status></propstat></response></multistatus>`;
    const prop = tree(readXml(multistatus)).children![0]!.children![1]!.children![0]!;
    expect(prop.name).toBe('{DAV:}prop');
    expect(prop.children!.map((c) => c.name)).toEqual([
      `${P}transports`,
      `${P}topic`,
      `${P}supported-triggers`,
      '{urn:not-webdav-push}topic',
    ]);
    expect(prop.children![1]).toEqual({ name: `${P}topic`, text: 't-1' });
    expect(prop.children![2]!.children![0]!.children![0]!.name).toBe('{DAV:}depth');
  });

  it('has no XML declaration and no whitespace between elements', () => {
    for (const xml of Object.values(sut({ vapidPublicKey: KEY, topic: 't', fcm: { projectId: 'p' } }))) {
      expect(xml.startsWith('<?xml')).toBe(false);
      expect(xml).not.toMatch(/>\s+</);
    }
  });

  it('escapes markup in the topic and project id', () => {
    const props = sut({ vapidPublicKey: KEY, topic: `<a href="x">&amp;</a>`, fcm: { projectId: `p"<&>` } });
    expect(props.topic).toBe(
      '<topic xmlns="https://bitfire.at/webdav-push">&lt;a href="x"&gt;&amp;amp;&lt;/a&gt;</topic>',
    );
    expect(readTree(props.topic).text).toBe(`<a href="x">&amp;</a>`);
    expect(readTree(props.transports).children![1]!.children![0]!.text).toBe(`p"<&>`);
  });

  it('refuses a topic XML cannot carry', () => {
    expect(() => sut({ vapidPublicKey: KEY, topic: 'a\u0000b' })).toThrow(ValidationError);
  });
});
