import { describe, expect, it } from 'vitest';
import { clientResponseHeaders, headerLines, upstreamRequestHeaders } from './headers';

describe('upstreamRequestHeaders', () => {
  it.each([
    [
      'keeps end-to-end headers in order, repeats included',
      ['Depth', '1', 'If-Match', '"a"', 'X-A', '1', 'X-A', '2'],
      {},
      ['Depth', '1', 'If-Match', '"a"', 'X-A', '1', 'X-A', '2'],
    ],
    [
      'drops hop-by-hop, Host, framing, Expect and Push-Dont-Notify',
      [
        'Host',
        'p',
        'Connection',
        'keep-alive',
        'Keep-Alive',
        '5',
        'Transfer-Encoding',
        'chunked',
        'Expect',
        '100-continue',
        'Push-Dont-Notify',
        '*',
        'TE',
        'trailers',
        'Upgrade',
        'h2c',
        'Depth',
        '0',
      ],
      {},
      ['Depth', '0'],
    ],
    [
      'drops what Connection names',
      ['Connection', 'close, X-Secret', 'X-Secret', 's', 'Depth', '0'],
      {},
      ['Depth', '0'],
    ],
    [
      'replaces Destination and adds a length',
      ['Destination', 'http://public/a/b.ics'],
      { destination: 'http://upstream/a/b.ics', contentLength: 3 },
      ['Destination', 'http://upstream/a/b.ics', 'content-length', '3'],
    ],
    [
      'drops and adds on request',
      ['Accept-Encoding', 'gzip', 'Depth', '1'],
      { drop: ['accept-encoding'], add: [['accept-encoding', 'identity']] as [string, string][] },
      ['Depth', '1', 'accept-encoding', 'identity'],
    ],
  ])('%s', (_what, raw, opts, expected) => {
    expect(upstreamRequestHeaders(raw, opts)).toEqual(expected);
  });
});

describe('clientResponseHeaders', () => {
  it('drops hop-by-hop fields and moves a Location on the upstream origin', () => {
    const out = clientResponseHeaders(
      {
        location: 'http://up/x/',
        'transfer-encoding': 'chunked',
        connection: 'keep-alive',
        etag: '"1"',
        'set-cookie': ['a=1', 'b=2'],
      },
      (v) => v.replace('http://up', 'https://public'),
    );
    expect(out).toEqual({ location: 'https://public/x/', etag: '"1"', 'set-cookie': ['a=1', 'b=2'] });
  });
});

describe('headerLines', () => {
  it('returns every line of a field, case-insensitively', () => {
    expect(
      headerLines(['Push-Dont-Notify', '"a"', 'Depth', '0', 'push-dont-notify', '"b", "c"'], 'push-dont-notify'),
    ).toEqual(['"a"', '"b", "c"']);
  });
});
