import dc from 'node:diagnostics_channel';
import type * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import type { Duplex } from 'node:stream';
import { parseRetryAfter } from '@davpush/domain';

/**
 * DAVPUSH_FCM_ENDPOINT routing. firebase-admin 13 has no base-URL option for messaging: every send
 * goes to the constant `https://fcm.googleapis.com/v1/...` (libraries.md §1). With the legacy
 * HTTP/1.1 transport it does pass `AppOptions.httpAgent` to https.request, and Node's Agent builds
 * the socket from `{...requestOptions, ...agent.options}`, so host, port and servername set on the
 * agent win while the request line and Host header stay Google's. Only the endpoint's origin is
 * used for sends (an agent cannot rewrite paths); its path prefix applies to `/token` only.
 */
export interface EndpointRoute {
  /** The endpoint as configured. */
  url: URL;
  /** `<endpoint>/token`: the OAuth JWT-bearer grant, and the JWT `aud`. */
  tokenUrl: URL;
  agent: https.Agent;
}

/** Matches firebase-admin's HTTP/2 `peerMaxConcurrentStreams`, so both paths load a server alike. */
const MAX_SOCKETS = 100;

/**
 * An https.Agent that, for an `http://` endpoint (an emulator without TLS), hands firebase-admin's
 * https.request a plain TCP socket: the SDK only ever builds https requests.
 */
class EndpointAgent extends https.Agent {
  constructor(
    options: https.AgentOptions,
    private readonly plain: boolean,
  ) {
    super(options);
  }

  override createConnection(
    options: https.RequestOptions,
    callback?: (err: Error | null, stream: Duplex) => void,
  ): Duplex | null | undefined {
    if (!this.plain) return super.createConnection(options, callback);
    return net.createConnection({ host: options.host ?? undefined, port: Number(options.port) });
  }
}

export function endpointRoute(endpoint: string, ca?: string | Buffer): EndpointRoute {
  const url = new URL(endpoint);
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new Error(`DAVPUSH_FCM_ENDPOINT: ${url.protocol} is not supported (use https: or http:)`);
  const plain = url.protocol === 'http:';
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = Number(url.port || (plain ? 80 : 443));
  const base = new URL(url.href.endsWith('/') ? url.href : `${url.href}/`);
  const agent = new EndpointAgent(
    {
      keepAlive: true,
      maxSockets: MAX_SOCKETS,
      host,
      port,
      // SNI must not carry an IP address (RFC 6066 §3); '' disables it and Node then checks the
      // certificate against `host`, so an IP endpoint needs an IP subjectAltName.
      servername: net.isIP(host) ? '' : host,
      ...(ca ? { ca } : {}),
    },
    plain,
  );
  return { url, tokenUrl: new URL('token', base), agent };
}

/**
 * firebase-admin 13 drops the HTTP response when it maps an FCM error (FirebaseMessagingError has
 * code and message only; v14 adds `httpResponse`), so a 429's Retry-After would be lost. On the
 * HTTP/1.1 endpoint path Node publishes every response on the `http.client.response.finish`
 * diagnostics channel (Node ≥ 18.15); we keep the Retry-After of 429s and 503s that came through
 * our agent. Node 20 has no such channel for HTTP/2, so on Google's default transport the
 * classifier falls back to FCM's documented minimum delay instead.
 */
export class RetryAfterProbe {
  /** Ordered by arrival; `seq` numbers them (a millisecond clock would let a previous call's answer in). */
  private readonly seen: { seq: number; status: number; ms: number }[] = [];
  private seq = 0;
  private readonly onResponse = (message: unknown): void => {
    const { request, response } = message as {
      request: http.ClientRequest & { agent?: unknown };
      response: http.IncomingMessage;
    };
    if (request.agent !== this.agent || (response.statusCode !== 429 && response.statusCode !== 503)) return;
    const ms = parseRetryAfter(response.headers['retry-after']);
    if (ms === undefined) return;
    this.seen.push({ seq: ++this.seq, status: response.statusCode, ms });
    if (this.seen.length > 1000) this.seen.splice(0, this.seen.length - 1000);
  };

  constructor(private readonly agent: http.Agent) {
    dc.subscribe('http.client.response.finish', this.onResponse);
  }

  /** A point to look back to: taken before a batch is sent. */
  mark(): number {
    return this.seq;
  }

  /**
   * The longest Retry-After on `status` answers that arrived after `mark`. FCM throttles per project
   * (and per device), so every throttled message of a batch waits at least as long as the longest hint.
   */
  maxSince(mark: number, status: 429 | 503): number | undefined {
    let max: number | undefined;
    for (const s of this.seen) if (s.status === status && s.seq > mark && (max === undefined || s.ms > max)) max = s.ms;
    return max;
  }

  close(): void {
    dc.unsubscribe('http.client.response.finish', this.onResponse);
  }
}
