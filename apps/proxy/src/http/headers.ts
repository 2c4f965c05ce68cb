import type { IncomingHttpHeaders } from 'node:http';
import { isPushClientId } from '@davpush/domain';

/**
 * Hop-by-hop fields (RFC 9110 §7.6.1) never cross the proxy, plus what undici sets itself (`host`,
 * framing, `expect`: Node already answered `100 Continue`) and `push-dont-notify`, which the proxy
 * consumes (WebDAV-Push draft §"Suppressing notifications"; kept out of the DAV server's logs).
 */
const REQUEST_DROPPED = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'expect',
  'host',
  'content-length',
  'push-dont-notify',
]);

const RESPONSE_DROPPED = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** Names listed in `Connection` are hop-by-hop too (RFC 9110 §7.6.1). */
function connectionOptions(raw: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() !== 'connection') continue;
    for (const name of raw[i + 1]!.split(',')) out.add(name.trim().toLowerCase());
  }
  return out;
}

export interface RequestHeaderOptions {
  /** Replace the `Destination` value (RFC 4918 §10.3). */
  destination?: string;
  /** Drop these too (lower-case). */
  drop?: readonly string[];
  /** Append these. */
  add?: readonly [string, string][];
  /** The body length, when the proxy sends a body of its own or the client's has one. */
  contentLength?: number;
}

/** The client's raw header list as it goes upstream: order and repeats kept, hop-by-hop dropped. */
export function upstreamRequestHeaders(raw: readonly string[], opts: RequestHeaderOptions = {}): string[] {
  const hop = connectionOptions(raw);
  const drop = new Set(opts.drop ?? []);
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (REQUEST_DROPPED.has(name) || hop.has(name) || drop.has(name)) continue;
    if (name === 'destination' && opts.destination !== undefined) {
      out.push(raw[i]!, opts.destination);
      continue;
    }
    out.push(raw[i]!, raw[i + 1]!);
  }
  if (opts.contentLength !== undefined) out.push('content-length', String(opts.contentLength));
  for (const [k, v] of opts.add ?? []) out.push(k, v);
  return out;
}

/**
 * The DAV server's answer headers for the client: hop-by-hop dropped, a `Location` on the
 * upstream origin moved to the public one (both upstreams send path-only redirects, but others
 * may not), `drop` removed.
 */
export function clientResponseHeaders(
  headers: Record<string, string | string[] | undefined>,
  rewriteLocation: (value: string) => string,
  drop: readonly string[] = [],
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || RESPONSE_DROPPED.has(name) || drop.includes(name)) continue;
    out[name] = name === 'location' && typeof value === 'string' ? rewriteLocation(value) : value;
  }
  return out;
}

/** Every line of a request header, in order (RFC 9110 §5.3: repeated lines form one list). */
export function headerLines(raw: readonly string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() === name) out.push(raw[i + 1]!);
  return out;
}

/**
 * The client's `Push-Client-Id` (CC/CD 70025, draft-gajda-dav-push-00 §7.1): one token, given once;
 * anything else is ignored (it could name no subscription).
 */
export function pushClientIdOf(headers: IncomingHttpHeaders): string | undefined {
  const v = headers['push-client-id'];
  if (typeof v !== 'string') return undefined;
  const id = v.trim();
  return isPushClientId(id) ? id : undefined;
}
