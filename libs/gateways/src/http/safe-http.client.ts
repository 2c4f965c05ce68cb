import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type * as http from 'node:http';
import { Agent } from 'undici';
import { AppConfig } from '@davpush/config';
import { ForbiddenAddressError, guardedLookup, isIpLiteral, isPublicAddress } from './address-guard';

export interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** At most `maxBodyBytes` of the body; push services say little worth reading. */
  body: string;
}

/** Raised when the push service does not answer in time (counted as transient). */
export class PushTimeoutError extends Error {
  readonly code = 'ETIMEDOUT';
}

/** How much of a push service's answer body is read; exported for tests. */
export const MAX_BODY_BYTES = 4096;

/**
 * Outbound HTTP for push services, by undici (half the CPU of `node:https` per request here, which
 * a busy worker spends on little else but encryption): keep-alive connections bounded per origin,
 * one deadline for the whole exchange (connect, TLS, answer, body), a size cap on what we read,
 * never a redirect (undici follows none without its redirect interceptor), and the SSRF guard on
 * the address actually connected to.
 */
@Injectable()
export class SafeHttpClient implements OnApplicationShutdown {
  private readonly agent: Agent;
  private readonly allowPrivate: boolean;
  private readonly timeoutMs: number;

  constructor(config: AppConfig) {
    this.allowPrivate = config.allowPrivatePushEndpoints;
    this.timeoutMs = config.worker.pushTimeoutMs;
    this.agent = new Agent({
      // Per origin, at least its slots (OriginGate): a push admitted to the origin never queues
      // here. Idle connections are kept: a TLS handshake costs more CPU than the push it carries.
      connections: Math.max(128, config.delivery.originConcurrency),
      pipelining: 1,
      keepAliveTimeout: 10_000,
      keepAliveMaxTimeout: 60_000,
      headersTimeout: this.timeoutMs,
      bodyTimeout: this.timeoutMs,
      // `lookup` reaches net/tls.connect: names are resolved and checked in one step (no DNS
      // rebinding between check and connect).
      connect: { timeout: this.timeoutMs, lookup: guardedLookup(this.allowPrivate) },
    });
  }

  async post(url: URL, headers: Record<string, string | number>, body: Buffer): Promise<HttpAnswer> {
    const host = url.hostname.replace(/^\[|\]$/g, '');
    // IP literals skip `lookup`, so they are checked here.
    if (!this.allowPrivate && isIpLiteral(host) && !isPublicAddress(host)) throw new ForbiddenAddressError(host, host);
    const isHttps = url.protocol === 'https:';
    if (!isHttps && !(this.allowPrivate && url.protocol === 'http:'))
      throw new ForbiddenAddressError(host, url.protocol);
    // The whole exchange is bounded, not only idle time between packets: the deadline answers
    // for itself (undici heeds an abort only once a connection is assigned, not while connecting).
    const deadline = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const err = new PushTimeoutError(`no answer within ${this.timeoutMs} ms`);
        deadline.abort(err);
        reject(err);
      }, this.timeoutMs);
    });
    try {
      return await Promise.race([this.exchange(url, headers, body, deadline.signal), late]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async exchange(
    url: URL,
    headers: Record<string, string | number>,
    body: Buffer,
    signal: AbortSignal,
  ): Promise<HttpAnswer> {
    const res = await this.agent
      .request({
        origin: url.origin,
        path: url.pathname + url.search,
        method: 'POST',
        headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, String(v)])),
        body,
        signal,
      })
      .catch((err: unknown) => {
        throw timedOut(err) ? new PushTimeoutError(`no answer within ${this.timeoutMs} ms`) : err;
      });
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const c of res.body as AsyncIterable<Buffer>) {
        chunks.push(c.subarray(0, MAX_BODY_BYTES - size));
        size += Math.min(c.length, MAX_BODY_BYTES - size);
        // Enough: a push service that streams megabytes (or for ever) gets its connection closed
        // rather than our bandwidth until the deadline. The status is all we act on anyway.
        if (size >= MAX_BODY_BYTES) {
          res.body.destroy();
          break;
        }
      }
    } catch (err) {
      throw timedOut(err) ? new PushTimeoutError(`answer not complete within ${this.timeoutMs} ms`) : err;
    }
    return {
      status: res.statusCode,
      headers: res.headers as http.IncomingHttpHeaders,
      body: Buffer.concat(chunks).toString('utf8'),
    };
  }

  onApplicationShutdown(): void {
    void this.agent.destroy();
  }
}

/** undici's own timeouts (connect, headers, body) and our deadline all mean the same: no answer in time. */
function timedOut(err: unknown): boolean {
  const code = (err as { code?: string } | undefined)?.code;
  return (
    err instanceof PushTimeoutError ||
    code === 'UND_ERR_CONNECT_TIMEOUT' ||
    code === 'UND_ERR_HEADERS_TIMEOUT' ||
    code === 'UND_ERR_BODY_TIMEOUT'
  );
}
