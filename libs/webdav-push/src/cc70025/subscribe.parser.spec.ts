import { describe, expect, it } from 'vitest';
import { ValidationError } from '@davpush/domain';
import { parseCcSubscribe as sut } from './subscribe.parser';

const NS = 'urn:ietf:params:xml:ns:dav-push';

/** The draft's §5.2.3.2 example as printed: `<P:topic>` never closed, two end tags in the D: prefix. */
const DRAFT_AS_PRINTED = `<P:subscribe xmlns:P="urn:ietf:params:xml:ns:dav-push">
  <P:topic>123<P:topic>
  <P:topic>abc<P:topic>
  <P:selected-transport>
    <P:transport-uri
      >https://push.example.com/transport</D:transport-uri>
    <P:client-data>XYZ</D:client-data>
  </P:selected-transport>
  <P:expires>2017-10-07T12:00:00Z</P:expires>
</P:subscribe>`;

/** Repaired: `</P:topic>` end tags, and `</P:transport-uri>`/`</P:client-data>` in the P namespace. */
const DRAFT_REPAIRED = DRAFT_AS_PRINTED.replace(/<P:topic>(\w+)<P:topic>/g, '<P:topic>$1</P:topic>')
  .replace('</D:transport-uri>', '</P:transport-uri>')
  .replace('</D:client-data>', '</P:client-data>');

const EXPECTED = {
  topics: ['123', 'abc'],
  transportUri: 'https://push.example.com/transport',
  clientData: 'XYZ',
  expires: '2017-10-07T12:00:00Z',
};

describe('parseCcSubscribe (draft-gajda-dav-push-00 §5.2.3.2, §6.2.2)', () => {
  it.each([
    ['the draft example, repaired (end tags fixed, see DRAFT_REPAIRED)', DRAFT_REPAIRED],
    [
      'a default namespace and an XML declaration',
      `<?xml version="1.0" encoding="UTF-8"?><subscribe xmlns="${NS}"><topic>123</topic><topic>abc</topic><selected-transport><transport-uri>https://push.example.com/transport</transport-uri><client-data>XYZ</client-data></selected-transport><expires>2017-10-07T12:00:00Z</expires></subscribe>`,
    ],
    [
      'children in another order, foreign elements ignored',
      `<X:subscribe xmlns:X="${NS}" xmlns:o="urn:other"><X:expires>2017-10-07T12:00:00Z</X:expires><o:note>hi</o:note><X:selected-transport><X:client-data>XYZ</X:client-data><X:transport-uri>https://push.example.com/transport</X:transport-uri></X:selected-transport><X:topic>123</X:topic><X:topic>abc</X:topic></X:subscribe>`,
    ],
    [
      '`transport` where `selected-transport` is meant (the JSON example spelling)',
      `<subscribe xmlns="${NS}"><topic>123</topic><topic>abc</topic><transport><transport-uri>https://push.example.com/transport</transport-uri><client-data>XYZ</client-data></transport><expires>2017-10-07T12:00:00Z</expires></subscribe>`,
    ],
    [
      'client-data in CDATA',
      `<subscribe xmlns="${NS}"><topic>123</topic><topic>abc</topic><selected-transport><transport-uri>https://push.example.com/transport</transport-uri><client-data><![CDATA[XYZ]]></client-data></selected-transport><expires>2017-10-07T12:00:00Z</expires></subscribe>`,
    ],
  ])('reads %s', (_what, xml) => {
    expect(sut(xml)).toEqual(EXPECTED);
  });

  const S = (inner: string) => `<subscribe xmlns="${NS}">${inner}</subscribe>`;
  const T = '<selected-transport><transport-uri>u</transport-uri><client-data>d</client-data></selected-transport>';
  const E = '<expires>2017-10-07T12:00:00Z</expires>';
  it.each([
    ['the draft example exactly as printed (not well-formed)', DRAFT_AS_PRINTED, /malformed XML/],
    ['another root', `<push-register xmlns="https://bitfire.at/webdav-push"/>`, /root element must be subscribe/],
    ['the right name in no namespace', '<subscribe><topic>1</topic></subscribe>', /root element must be subscribe/],
    ['no topic', S(T + E), /at least one topic/],
    ['no selected-transport', S(`<topic>1</topic>${E}`), /selected-transport/],
    ['two transports', S(`<topic>1</topic>${T}${T}${E}`), /exactly one selected-transport/],
    ['no expires', S(`<topic>1</topic>${T}`), /must contain expires/],
    ['two expires', S(`<topic>1</topic>${T}${E}${E}`), /at most one expires/],
    [
      'an empty client-data',
      S(`<topic>1</topic><selected-transport><transport-uri>u</transport-uri><client-data/></selected-transport>${E}`),
      /client-data is empty/,
    ],
    [
      'markup inside client-data',
      S(
        `<topic>1</topic><selected-transport><transport-uri>u</transport-uri><client-data><x/></client-data></selected-transport>${E}`,
      ),
      /text only/,
    ],
    ['a DOCTYPE', `<!DOCTYPE s [<!ENTITY a "b">]>${S('')}`, /DOCTYPE/],
    ['too many topics', S('<topic>t</topic>'.repeat(257) + T + E), /more than 256 topics/],
    ['over 16 KiB', S(`<topic>${'x'.repeat(17 * 1024)}</topic>`), /16 KiB/],
  ])('refuses %s', (_what, xml, message) => {
    expect(() => sut(xml)).toThrow(ValidationError);
    expect(() => sut(xml)).toThrow(message);
  });
});
