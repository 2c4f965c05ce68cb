import type * as dns from 'node:dns';
import { describe, expect, it } from 'vitest';
import { assertPublicDestination, guardedLookup, isPublicAddress as sut, type Resolver } from './address-guard';

describe('isPublicAddress', () => {
  it.each([
    ['8.8.8.8', true],
    ['2001:4860:4860::8888', true],
    ['127.0.0.1', false],
    ['127.255.255.254', false],
    ['10.1.2.3', false],
    ['172.16.0.1', false],
    ['192.168.1.1', false],
    ['169.254.169.254', false], // cloud metadata
    ['100.64.0.1', false], // CGNAT
    ['0.0.0.0', false],
    ['0.1.2.3', false], // "this network"
    ['224.0.0.1', false],
    ['239.255.255.250', false],
    ['255.255.255.255', false],
    ['192.0.0.170', false], // IETF protocol assignments
    ['198.18.0.1', false], // benchmarking
    ['240.0.0.1', false], // reserved
    ['::1', false],
    ['::', false],
    ['fe80::1', false],
    ['fc00::1', false],
    ['fd00:ec2::254', false], // AWS metadata over IPv6
    ['fec0::1', false], // deprecated site-local
    ['ff02::1', false],
    ['::ffff:127.0.0.1', false], // IPv4-mapped loopback
    ['::ffff:7f00:1', false],
    ['::ffff:169.254.169.254', false],
    ['::ffff:10.0.0.1', false],
    ['::ffff:8.8.8.8', true],
    ['::7f00:1', false], // deprecated IPv4-compatible: ipaddr.js calls it unicast
    ['64:ff9b::a00:1', false], // NAT64 of 10.0.0.1
    ['2002:7f00:1::', false], // 6to4 of 127.0.0.1
    ['2001:db8::1', false], // documentation
    ['100::1', false], // discard-only
    ['not-an-ip', false],
    ['', false],
  ])('%s → %s', (ip, expected) => expect(sut(ip)).toBe(expected));
});

/** A resolver that knows only the names it is given (no network, no /etc/hosts). */
function fakeResolver(table: Record<string, string[]>): Resolver {
  return (hostname, _options, callback) => {
    const list = table[hostname];
    if (!list)
      return callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), []);
    callback(
      null,
      list.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })),
    );
  };
}

const names = fakeResolver({
  'push.example': ['93.184.215.14', '2606:2800:21f:cb07:6820:80da:af6b:8b2c'],
  'rebind.example': ['127.0.0.1'],
  'mixed.example': ['93.184.215.14', '10.0.0.7'],
  'metadata.example': ['169.254.169.254'],
  'v6-loopback.example': ['::1'],
});

describe('assertPublicDestination', () => {
  it('refuses literal and resolved private destinations', async () => {
    await expect(assertPublicDestination(new URL('https://127.0.0.1/x'), false)).rejects.toThrow(/non-public/);
    await expect(assertPublicDestination(new URL('https://[::ffff:7f00:1]/x'), false)).rejects.toThrow(/non-public/);
    await expect(assertPublicDestination(new URL('https://localhost/x'), false)).rejects.toThrow(/non-public/);
    await expect(assertPublicDestination(new URL('https://localhost/x'), true)).resolves.toBeUndefined();
  });

  // WHATWG URL parsing is what makes these safe: it normalises every IPv4 spelling to a dotted quad.
  it.each([
    ['https://2130706433/', '127.0.0.1'],
    ['https://0x7f.1/', '127.0.0.1'],
    ['https://0177.0.0.1/', '127.0.0.1'],
    ['https://0x7f000001/', '127.0.0.1'],
    ['https://127.1/', '127.0.0.1'],
    ['https://127.0.0.1./', '127.0.0.1'],
    ['https://%31%32%37.0.0.1/', '127.0.0.1'],
    ['https://0/', '0.0.0.0'],
    ['https://[::ffff:127.0.0.1]/', '[::ffff:7f00:1]'],
    ['https://[0:0:0:0:0:ffff:a9fe:a9fe]/', '[::ffff:a9fe:a9fe]'],
  ])('%s normalises to %s and is refused', async (raw, hostname) => {
    const url = new URL(raw);
    expect(url.hostname).toBe(hostname);
    await expect(assertPublicDestination(url, false, names)).rejects.toThrow(/non-public/);
  });

  it('judges every address a name resolves to, through the injected resolver', async () => {
    await expect(assertPublicDestination(new URL('https://push.example/p'), false, names)).resolves.toBeUndefined();
    for (const host of ['rebind.example', 'mixed.example', 'metadata.example', 'v6-loopback.example']) {
      await expect(assertPublicDestination(new URL(`https://${host}/p`), false, names)).rejects.toThrow(
        `${host} resolves to a non-public address`,
      );
    }
    await expect(assertPublicDestination(new URL('https://nowhere.example/p'), false, names)).rejects.toMatchObject({
      code: 'ENOTFOUND',
    });
  });
});

describe('guardedLookup (the address actually connected to)', () => {
  const lookup = (host: string, resolver: Resolver | undefined, all: boolean, allowPrivate = false) =>
    new Promise<{ err: NodeJS.ErrnoException | null; address: string | dns.LookupAddress[] }>((resolve) =>
      guardedLookup(allowPrivate, resolver)(host, { all }, (err, address) => resolve({ err, address })),
    );

  it('hands the socket only checked public addresses', async () => {
    expect(await lookup('push.example', names, false)).toEqual({ err: null, address: '93.184.215.14' });
    const all = await lookup('push.example', names, true);
    expect(all.err).toBeNull();
    expect((all.address as dns.LookupAddress[]).map((a) => a.address)).toHaveLength(2);
  });

  it.each(['rebind.example', 'mixed.example', 'metadata.example', 'v6-loopback.example'])(
    'refuses %s at connect time',
    async (host) => {
      for (const all of [false, true]) {
        const r = await lookup(host, names, all);
        expect(r.err).toMatchObject({ code: 'EDAVPUSH_FORBIDDEN_ADDRESS' });
      }
    },
  );

  it('lets private addresses through only when explicitly allowed', async () => {
    expect(await lookup('rebind.example', names, false, true)).toEqual({ err: null, address: '127.0.0.1' });
  });

  it('refuses localhost through the system resolver (what SafeHttpClient uses)', async () => {
    expect((await lookup('localhost', undefined, false)).err).toMatchObject({ code: 'EDAVPUSH_FORBIDDEN_ADDRESS' });
  });
});
