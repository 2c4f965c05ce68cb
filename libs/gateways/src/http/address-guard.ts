import * as dns from 'node:dns';
import type { LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';

/** Raised instead of connecting to a loopback/private/link-local/metadata address (SSRF). */
export class ForbiddenAddressError extends Error {
  readonly code = 'EDAVPUSH_FORBIDDEN_ADDRESS';
  constructor(
    readonly host: string,
    readonly address: string,
  ) {
    super(`${host} resolves to a non-public address`);
    this.name = 'ForbiddenAddressError';
  }
}

/** Global unicast IPv6 (RFC 4291 §2.4): everything else is loopback, link-local, ULA, reserved … */
const IPV6_GLOBAL_UNICAST = ipaddr.parseCIDR('2000::/3');

/**
 * Only globally routable unicast addresses are public. ipaddr.js names every special range
 * (private, loopback, linkLocal incl. 169.254.169.254, carrierGradeNat, uniqueLocal incl.
 * fd00:ec2::254, multicast, unspecified, reserved, 6to4/teredo/NAT64 wrappers …); anything not
 * `unicast` is refused. IPv4-mapped IPv6 (::ffff:127.0.0.1) is judged as the IPv4 address it carries.
 * IPv6 must also lie in 2000::/3: ipaddr.js calls e.g. the deprecated IPv4-compatible ::7f00:1
 * "unicast", and nothing outside 2000::/3 is a push service on the internet.
 */
export function isPublicAddress(ip: string): boolean {
  if (!ipaddr.isValid(ip)) return false;
  let addr = ipaddr.parse(ip);
  if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress())
    addr = (addr as ipaddr.IPv6).toIPv4Address();
  if (addr.range() !== 'unicast') return false;
  return addr.kind() === 'ipv4' || (addr as ipaddr.IPv6).match(IPV6_GLOBAL_UNICAST);
}

export const isIpLiteral = (host: string): boolean => ipaddr.isValid(host.replace(/^\[|\]$/g, ''));

/** `dns.lookup`'s shape with `all: true`: injectable so tests can make any name resolve anywhere. */
export type Resolver = (
  hostname: string,
  options: dns.LookupAllOptions,
  callback: (err: NodeJS.ErrnoException | null, addresses: dns.LookupAddress[]) => void,
) => void;

const systemResolver: Resolver = (hostname, options, callback) => dns.lookup(hostname, options, callback);

/**
 * A `lookup` for sockets: resolves, refuses if ANY address is non-public, and hands the socket only
 * checked addresses, so the connection goes to exactly what was checked (no DNS-rebinding window).
 */
export function guardedLookup(allowPrivate: boolean, resolve: Resolver = systemResolver): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname, { ...(options as dns.LookupOptions), all: true }, (err, list) => {
      if (err) return callback(err, '', 0);
      const bad = allowPrivate ? undefined : list.find((a) => !isPublicAddress(a.address));
      if (bad) return callback(new ForbiddenAddressError(hostname, bad.address) as NodeJS.ErrnoException, '', 0);
      if (list.length === 0)
        return callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), '', 0);
      if ((options as dns.LookupOptions).all)
        return (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, list);
      return callback(null, list[0]!.address, list[0]!.family);
    });
  };
}

/**
 * The registration-time check: resolve the push resource's host and refuse non-public addresses.
 * The URL must be WHATWG-parsed (it is: `new URL`), which has already turned the decimal, octal
 * and hex IPv4 spellings (`2130706433`, `0x7f.1`, `0177.0.0.1`) into dotted quads.
 */
export async function assertPublicDestination(
  url: URL,
  allowPrivate: boolean,
  resolve: Resolver = systemResolver,
): Promise<void> {
  if (allowPrivate) return;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIpLiteral(host)) {
    if (!isPublicAddress(host)) throw new ForbiddenAddressError(host, host);
    return;
  }
  const list = await new Promise<dns.LookupAddress[]>((ok, fail) =>
    resolve(host, { all: true, verbatim: true }, (err, addresses) => (err ? fail(err) : ok(addresses))),
  );
  if (list.length === 0) throw Object.assign(new Error(`no address for ${host}`), { code: 'ENOTFOUND' });
  const bad = list.find((a) => !isPublicAddress(a.address));
  if (bad) throw new ForbiddenAddressError(host, bad.address);
}
