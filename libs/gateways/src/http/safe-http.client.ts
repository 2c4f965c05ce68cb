import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import * as http from 'node:http';
import * as https from 'node:https';
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
 * Outbound HTTP for push services: keep-alive agents with bounded sockets per origin, connect and
 * response timeouts, a size cap on what we read, never a redirect (Node's http never follows one),
 * and the SSRF guard on the address actually connected to.
 */
@Injectable()
export class SafeHttpClient implements OnApplicationShutdown {
  private readonly httpsAgent: https.Agent;
  private readonly httpAgent: http.Agent;
  private readonly allowPrivate: boolean;
  private readonly timeoutMs: number;

  constructor(config: AppConfig) {
    this.allowPrivate = config.allowPrivatePushEndpoints;
    this.timeoutMs = config.worker.pushTimeoutMs;
    const common = {
      keepAlive: true,
      keepAliveMsecs: 10_000,
      // Per origin: one slow push service cannot take every socket. Idle sockets are kept as many
      // as may be busy: a TLS handshake costs more CPU than the push it carries.
      maxSockets: 128,
      maxFreeSockets: 128,
      timeout: this.timeoutMs,
      lookup: guardedLookup(this.allowPrivate),
      scheduling: 'lifo' as const,
    };
    this.httpsAgent = new https.Agent(common);
    this.httpAgent = new http.Agent(common);
  }

  post(url: URL, headers: Record<string, string | number>, body: Buffer): Promise<HttpAnswer> {
    const host = url.hostname.replace(/^\[|\]$/g, '');
    // IP literals skip `lookup`, so they are checked here.
    if (!this.allowPrivate && isIpLiteral(host) && !isPublicAddress(host)) {
      return Promise.reject(new ForbiddenAddressError(host, host));
    }
    const isHttps = url.protocol === 'https:';
    if (!isHttps && !(this.allowPrivate && url.protocol === 'http:')) {
      return Promise.reject(new ForbiddenAddressError(host, url.protocol));
    }
    const lib = isHttps ? https : http;
    return new Promise<HttpAnswer>((resolve, reject) => {
      const req = lib.request(
        url,
        { method: 'POST', headers, agent: isHttps ? this.httpsAgent : this.httpAgent, timeout: this.timeoutMs },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          const answer = () => ({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          });
          res.on('data', (c: Buffer) => {
            chunks.push(c.subarray(0, Math.max(0, MAX_BODY_BYTES - size)));
            size += c.length;
            if (size < MAX_BODY_BYTES) return;
            // Enough: a push service that streams megabytes (or for ever) gets its socket closed
            // rather than our bandwidth until the deadline. The status is all we act on anyway.
            resolve(answer());
            res.destroy();
          });
          res.on('end', () => resolve(answer()));
          res.on('error', reject);
        },
      );
      // The whole exchange is bounded, not only idle time between packets.
      const deadline = setTimeout(
        () => req.destroy(new PushTimeoutError(`no answer within ${this.timeoutMs} ms`)),
        this.timeoutMs,
      );
      req.on('timeout', () => req.destroy(new PushTimeoutError(`socket idle for ${this.timeoutMs} ms`)));
      req.on('error', reject);
      req.on('close', () => clearTimeout(deadline));
      req.end(body);
    });
  }

  onApplicationShutdown(): void {
    this.httpsAgent.destroy();
    this.httpAgent.destroy();
  }
}
