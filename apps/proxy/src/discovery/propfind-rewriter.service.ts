import { Injectable } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as zlib from 'node:zlib';
import { CcGatewayService } from '@davpush/application';
import { AppConfig } from '@davpush/config';
import { FcmGateway, PushGatewayRegistry, VapidService } from '@davpush/gateways';
import {
  MAX_MULTISTATUS_BYTES,
  MAX_PROPFIND_REQUEST_BYTES,
  WEBDAV_PUSH_NS,
  buildCcProperty,
  buildDiscoveryProperties,
  planPropfind,
  rewriteMultistatus,
  type PushPropertyValues,
} from '@davpush/webdav-push';
import { hasBody, readPrefix, replay } from '../http/body';
import type { Forwarder } from '../http/forwarder';
import { upstreamRequestHeaders } from '../http/headers';
import { ProxyIdentity } from '../identity/proxy-identity.service';
import { UpstreamClient } from '../upstream/upstream.client';

/**
 * PROPFIND with the WebDAV-Push properties (draft §"Service Detection") or the CC/CD 70025 ones
 * (draft-gajda-dav-push-00 §6.2.1; only when asked for by name, never in allprop): the request goes
 * to the DAV server without them (plus `D:resourcetype`, which tells calendars and address books
 * apart), and they are put into its 207 answer. Any other PROPFIND streams through untouched.
 */
@Injectable()
export class PropfindRewriter {
  private values?: { key: string; transports: string; supportedTriggers: string };
  private readonly publicOrigin: string;

  constructor(
    private readonly upstream: UpstreamClient,
    private readonly identity: ProxyIdentity,
    private readonly vapid: VapidService,
    private readonly gateways: PushGatewayRegistry,
    private readonly fcm: FcmGateway,
    private readonly cc: CcGatewayService,
    config: AppConfig,
  ) {
    this.publicOrigin = new URL(config.proxy!.publicUrl).origin;
  }

  async handle(req: IncomingMessage, res: ServerResponse, proxy: Forwarder): Promise<void> {
    if (!hasBody(req)) return void (await proxy.forward(req, res));
    const prefix = await readPrefix(req, MAX_PROPFIND_REQUEST_BYTES);
    const plan = prefix.complete ? planPropfind(prefix.buffer.toString('utf8')) : undefined;
    if (!plan) return void (await proxy.forward(req, res, { body: replay(prefix, req) }));

    const body = Buffer.from(plan.upstreamBody, 'utf8');
    const up = await this.upstream.request({
      method: 'PROPFIND',
      path: req.url ?? '/',
      // identity: the answer is rewritten, so it must arrive readable (servers may still compress).
      headers: upstreamRequestHeaders(req.rawHeaders, {
        drop: ['accept-encoding'],
        add: [['accept-encoding', 'identity']],
        contentLength: body.length,
      }),
      body,
    });
    const answer = await readPrefix(up.body, MAX_MULTISTATUS_BYTES);
    if (up.statusCode !== 207 || !answer.complete) {
      // Nothing to add to (an error, a redirect) or too big to rewrite: as the server sent it.
      res.writeHead(up.statusCode, proxy.answerHeaders(up.headers));
      const rest = replay(answer, up.body);
      if (Buffer.isBuffer(rest)) res.end(rest);
      else rest.pipe(res);
      return;
    }
    const text = decode(answer.buffer, up.headers['content-encoding']);
    const values = await this.pushValues();
    const minimal = /\breturn=minimal\b/i.test(String(req.headers.prefer ?? '')) || req.headers.brief === 't';
    const ccTransports = plan.requestedCc.length > 0 ? await this.cc.transports() : [];
    const valuesFor = (href: string) => {
      const path = hrefPath(href);
      const topic = this.identity.topicOf(path);
      if (plan.requestedCc.length === 0) return { ...values, topic: topicElement(topic) };
      // The push-subscribe-URL is the collection itself: the proxy takes a client's `subscribe` POSTed there.
      const input = { subscribeUrl: `${this.publicOrigin}${path}`, topic, transports: ccTransports };
      return {
        ...values,
        topic: topicElement(topic),
        cc: Object.fromEntries(plan.requestedCc.map((name) => [name, buildCcProperty(name, input)!])),
      };
    };
    const rewritten = text === undefined ? undefined : rewriteMultistatus(text, plan, valuesFor, { minimal });
    if (rewritten === undefined) {
      res.writeHead(207, proxy.answerHeaders(up.headers));
      res.end(answer.buffer);
      return;
    }
    const out = Buffer.from(rewritten, 'utf8');
    // A changed body: its length, no encoding, and no validator of the server's bytes (RFC 9110 §8.8).
    const headers = proxy.answerHeaders(up.headers, ['content-length', 'content-encoding', 'etag']);
    headers['content-length'] = String(out.length);
    res.writeHead(207, headers);
    res.end(out);
  }

  /**
   * `transports` and `supported-triggers`, built once per VAPID key (and FCM project): the same
   * values the tenant API's discovery hands out, FCM included when it is configured.
   */
  private async pushValues(): Promise<Omit<PushPropertyValues, 'topic'>> {
    const { publicKey } = await this.vapid.current();
    const projectId = this.gateways.transports().includes('fcm') ? this.fcm.state().projectId : undefined;
    const key = `${publicKey} ${projectId ?? ''}`;
    if (this.values?.key !== key) {
      const built = buildDiscoveryProperties({
        vapidPublicKey: publicKey,
        topic: 'x',
        fcm: projectId ? { projectId } : undefined,
      });
      this.values = { key, transports: built.transports, supportedTriggers: built.supportedTriggers };
    }
    return { transports: this.values.transports, supportedTriggers: this.values.supportedTriggers };
  }
}

/** Topics are base64url (see proxyTopic): nothing to escape. */
const topicElement = (topic: string): string => `<topic xmlns="${WEBDAV_PUSH_NS}">${topic}</topic>`;

/** An `href` (path-only or absolute, RFC 4918 §8.3) as a path. */
function hrefPath(href: string): string {
  try {
    return new URL(href, 'http://h').pathname;
  } catch {
    return href;
  }
}

/** The answer as text, undoing a `Content-Encoding` the server applied anyway; undefined if unknown. */
function decode(body: Buffer, encoding: string | string[] | undefined): string | undefined {
  const e = (Array.isArray(encoding) ? encoding.join(',') : (encoding ?? '')).trim().toLowerCase();
  try {
    if (e === '' || e === 'identity') return body.toString('utf8');
    if (e === 'gzip' || e === 'x-gzip') return zlib.gunzipSync(body).toString('utf8');
    if (e === 'deflate') return zlib.inflateSync(body).toString('utf8');
    if (e === 'br') return zlib.brotliDecompressSync(body).toString('utf8');
  } catch {
    return undefined;
  }
  return undefined;
}
