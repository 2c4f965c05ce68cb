import { Injectable } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AppConfig } from '@davpush/config';
import { UpstreamClient } from '../upstream/upstream.client';
import { UpstreamMonitor } from '../upstream/upstream.monitor';
import { hasBody, readPrefix } from './body';
import { sendText } from './dav-answer';
import { clientResponseHeaders, upstreamRequestHeaders, type RequestHeaderOptions } from './headers';

/** What {@link Forwarder.forward} may change on the way. */
export interface ForwardOptions {
  body?: Buffer | string | Readable;
  headers?: RequestHeaderOptions;
  /** Adjusts the answer's headers (lower-case names) before they are sent. */
  answerHeaders?: (headers: Record<string, string | string[]>, status: number) => void;
}

/**
 * The proxy's pass-through to the one DAV server, as the proxy server and the handlers that change
 * some requests (PROPFIND) use it: requests and answers streamed both ways, `Location` moved to the
 * public origin, hop-by-hop headers dropped.
 */
@Injectable()
export class Forwarder {
  private readonly publicOrigin: string;

  constructor(
    private readonly config: AppConfig,
    private readonly upstream: UpstreamClient,
    private readonly monitor: UpstreamMonitor,
  ) {
    this.publicOrigin = new URL(config.proxy!.publicUrl).origin;
  }

  /**
   * Sends the request to the DAV server and streams its answer back. Resolves with the status once
   * the head is sent (the body keeps streaming), or undefined when the server could not be reached
   * (the client then got `502`).
   */
  async forward(req: IncomingMessage, res: ServerResponse, opts: ForwardOptions = {}): Promise<number | undefined> {
    let body = opts.body;
    let contentLength = opts.headers?.contentLength;
    if (body === undefined && hasBody(req)) {
      const len = req.headers['content-length'];
      const cap = this.config.proxy!.chunkedBufferBytes;
      if (len === undefined && cap > 0) {
        // A chunked body (RFC 9112 §7.1) for a server that wants Content-Length: buffered, bounded.
        const prefix = await readPrefix(req, cap);
        if (!prefix.complete) {
          req.resume();
          sendText(
            res,
            413,
            `davpush proxy: a chunked request body over ${cap} bytes (DAVPUSH_PROXY_CHUNKED_BUFFER_BYTES); send it with Content-Length\n`,
            { connection: 'close' },
          );
          return undefined;
        }
        body = prefix.buffer;
        contentLength = prefix.buffer.length;
      } else {
        body = req;
        if (len !== undefined && req.headers['transfer-encoding'] === undefined) contentLength = Number(len);
      }
    } else if (Buffer.isBuffer(body) || typeof body === 'string') {
      contentLength = Buffer.byteLength(body);
    }
    const up = await this.upstream.request({
      method: req.method!,
      path: req.url ?? '/',
      headers: upstreamRequestHeaders(req.rawHeaders, { ...opts.headers, contentLength }),
      body,
    });
    this.monitor.answered();
    const headers = this.answerHeaders(up.headers);
    opts.answerHeaders?.(headers, up.statusCode);
    res.writeHead(up.statusCode, headers);
    pipeline(up.body, res).catch(() => res.destroy());
    return up.statusCode;
  }

  /** The DAV server's answer headers for the client (hop-by-hop dropped, `Location` on the public origin). */
  answerHeaders(
    headers: Record<string, string | string[] | undefined>,
    drop: readonly string[] = [],
  ): Record<string, string | string[]> {
    return clientResponseHeaders(
      headers,
      (v) => (v.startsWith(this.upstream.origin) ? `${this.publicOrigin}${v.slice(this.upstream.origin.length)}` : v),
      drop,
    );
  }
}
