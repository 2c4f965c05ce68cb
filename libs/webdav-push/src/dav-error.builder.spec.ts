import { describe, it, expect } from 'vitest';
import type { Precondition } from '@davpush/domain';
import { buildDavError, buildDavErrorMessage } from './dav-error.builder';
import { readTree } from './__fixtures__/xml-tree';

const P = '{https://bitfire.at/webdav-push}';
const DECL = '<?xml version="1.0" encoding="UTF-8"?>';

describe('buildDavError', () => {
  const sut = buildDavError;

  it.each<{ precondition: Precondition; elements: string[]; xml: string }>([
    {
      precondition: 'invalid-subscription',
      elements: [`${P}invalid-subscription`],
      xml: `${DECL}<D:error xmlns:D="DAV:" xmlns:P="https://bitfire.at/webdav-push"><P:invalid-subscription/></D:error>`,
    },
    {
      precondition: 'push-not-available',
      elements: [`${P}push-not-available`],
      xml: `${DECL}<D:error xmlns:D="DAV:" xmlns:P="https://bitfire.at/webdav-push"><P:push-not-available/></D:error>`,
    },
    {
      // Prose name and the RNG's spelling (libs/webdav-push/src/dav-error.builder.ts): clients may look for either.
      precondition: 'no-supported-trigger',
      elements: [`${P}no-supported-trigger`, `${P}no-trigger-supported`],
      xml: `${DECL}<D:error xmlns:D="DAV:" xmlns:P="https://bitfire.at/webdav-push"><P:no-supported-trigger/><P:no-trigger-supported/></D:error>`,
    },
  ])('$precondition', ({ precondition, elements, xml }) => {
    expect(sut(precondition)).toBe(xml);
    expect(readTree(sut(precondition))).toEqual({ name: '{DAV:}error', children: elements.map((name) => ({ name })) });
  });

  it('adds the description as D:responsedescription, escaped', () => {
    const why = `push-resource "<http://x/?a&b>" must be https`;
    const xml = sut('invalid-subscription', why);
    expect(xml).toBe(
      `${DECL}<D:error xmlns:D="DAV:" xmlns:P="https://bitfire.at/webdav-push"><P:invalid-subscription/>` +
        `<D:responsedescription>push-resource "&lt;http://x/?a&amp;b&gt;" must be https</D:responsedescription></D:error>`,
    );
    expect(readTree(xml)).toEqual({
      name: '{DAV:}error',
      children: [{ name: `${P}invalid-subscription` }, { name: '{DAV:}responsedescription', text: why }],
    });
  });
});

describe('buildDavErrorMessage', () => {
  const sut = buildDavErrorMessage;

  it('is a D:error with only a responsedescription', () => {
    const xml = sut('malformed XML: unclosed xml tag(s): push-register');
    expect(xml).toBe(
      `${DECL}<D:error xmlns:D="DAV:"><D:responsedescription>malformed XML: unclosed xml tag(s): push-register</D:responsedescription></D:error>`,
    );
    expect(readTree(xml)).toEqual({
      name: '{DAV:}error',
      children: [{ name: '{DAV:}responsedescription', text: 'malformed XML: unclosed xml tag(s): push-register' }],
    });
  });

  it('escapes entity-looking text too', () => {
    const why = 'value &amp; &#60; &foo; was refused';
    expect(readTree(sut(why)).children![0]!.text).toBe(why);
  });

  it('escapes markup and never fails on characters XML cannot carry', () => {
    const xml = sut('bad <input> & \u0000 \uD800 here');
    expect(xml).toContain('bad &lt;input&gt; &amp; \uFFFD \uFFFD here');
    expect(readTree(xml, { allowWarnings: true }).children![0]!.text).toBe('bad <input> & \uFFFD \uFFFD here');
  });
});
