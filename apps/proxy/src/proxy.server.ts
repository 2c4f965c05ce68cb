import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import * as http from 'node:http';
import type { Readable } from 'node:stream';
import { PROXY_REGISTRATION_PATH } from '@davpush/application';
import { AppConfig } from '@davpush/config';
import { RedisService } from '@davpush/storage';
import { CC_PUSH_NS, WEBDAV_PUSH_NS, parseBoundedXml } from '@davpush/webdav-push';
import { ChangeNotifier } from './changes/change.notifier';
import { WRITE_METHODS } from './changes/changed-collections';
import { HOOK_PATH, OutOfBandChanges } from './changes/out-of-band.service';
import { PropfindRewriter } from './discovery/propfind-rewriter.service';
import { hasBody, isXml, readPrefix, replay } from './http/body';
import { asOwnDomainError, sendDomainError, sendText, sendUpstreamUnreachable } from './http/dav-answer';
import { Forwarder } from './http/forwarder';
import { headerLines, pushClientIdOf } from './http/headers';
import { ProxyIdentity } from './identity/proxy-identity.service';
import { CcSubscribeHandler } from './registrations/cc-subscribe.handler';
import { PushRegisterHandler } from './registrations/push-register.handler';
import { UpstreamClient, UpstreamUnreachableError } from './upstream/upstream.client';
import { UpstreamMonitor } from './upstream/upstream.monitor';

/** A push-register body is under 1 KiB; bigger XML POSTs are not peeked at (draft: any other root falls through). */
const MAX_PEEK_BYTES = 64 * 1024;

/**
 * The DAV origin of proxy mode (docs/proxy.md): a plain Node HTTP server on DAVPUSH_PROXY_PORT.
 * Everything goes to the one DAV server unchanged, streamed both ways, except what WebDAV-Push adds:
 * `webdav-push` in OPTIONS' `DAV`, the push properties in PROPFIND, `push-register` POSTs and
 * registration DELETEs (answered here, never forwarded), the `Push-Dont-Notify` header (consumed),
 * and `Destination`, which names the DAV server's own origin (Radicale refuses a MOVE whose
 * Destination host differs from Host: Kozea/Radicale `radicale/app/move.py`).
 */
@Injectable()
export class ProxyServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new Logger('Proxy');
  private server?: http.Server;
  private readonly publicOrigin: string;

  constructor(
    private readonly config: AppConfig,
    private readonly upstream: UpstreamClient,
    private readonly identity: ProxyIdentity,
    private readonly propfind: PropfindRewriter,
    private readonly registers: PushRegisterHandler,
    private readonly ccSubscribes: CcSubscribeHandler,
    private readonly notifier: ChangeNotifier,
    private readonly outOfBand: OutOfBandChanges,
    private readonly monitor: UpstreamMonitor,
    private readonly forwarder: Forwarder,
    private readonly redis: RedisService,
  ) {
    this.publicOrigin = new URL(config.proxy!.publicUrl).origin;
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.upstream.check();
    await this.identity.init();
    await this.monitor.checkAtStart();
    const server = http.createServer({ keepAliveTimeout: 65_000 }, (req, res) => void this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.config.proxy!.port, this.config.http.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    this.outOfBand.startPolling();
    this.monitor.watch();
    this.log.log({
      msg: 'proxy listening',
      url: this.config.proxy!.publicUrl,
      upstream: this.upstream.id,
      tenant: this.identity.tenantId,
    });
  }

  get tenantId(): string {
    return this.identity.tenantId;
  }

  async onApplicationShutdown(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    setTimeout(() => server.closeAllConnections(), this.config.shutdownTimeoutMs / 2).unref();
    await closed;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    // An absolute-form target (RFC 9112 §3.2.2) still means a path on the one DAV server.
    // `OPTIONS *` (RFC 9110 §9.3.7) asks about the server as a whole: its root answers that.
    if (req.url === '*') req.url = '/';
    else if (req.url !== undefined && !req.url.startsWith('/')) {
      if (!URL.canParse(req.url)) return sendText(res, 400, 'bad request target\n');
      const u = new URL(req.url);
      req.url = `${u.pathname}${u.search}`;
    }
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    try {
      if (path.startsWith('/.davpush/')) return await this.own(req, res, path);
      switch (req.method) {
        case 'OPTIONS':
          await this.forwarder.forward(req, res, { answerHeaders: (h, status) => advertisePush(h, status) });
          return;
        case 'PROPFIND':
          return await this.propfind.handle(req, res, this.forwarder);
        case 'POST':
          return await this.post(req, res, path);
        default:
          if (WRITE_METHODS.has(req.method!)) return await this.write(req, res, path);
          await this.forwarder.forward(req, res);
      }
    } catch (err) {
      this.fail(req, res, err);
    }
  }

  /** The proxy's own paths: the storage hook and registration URLs. Dot-paths are never DAV collections in Radicale. */
  private async own(req: http.IncomingMessage, res: http.ServerResponse, path: string): Promise<void> {
    if (path === HOOK_PATH) return this.outOfBand.hook(req, res);
    req.resume();
    if (path.startsWith(PROXY_REGISTRATION_PATH)) return this.registers.remove(req, res, path);
    sendText(res, 404, 'not found\n');
  }

  /**
   * A `push-register` (an XML body whose root is `P:push-register`) or a CC/CD 70025 `subscribe`
   * (root `subscribe` in `urn:ietf:params:xml:ns:dav-push`) is answered here; any other POST is a
   * write for the DAV server (RFC 5995 add-member, scheduling outbox, Radicale's /.web).
   */
  private async post(req: http.IncomingMessage, res: http.ServerResponse, path: string): Promise<void> {
    if (!isXml(req.headers['content-type']) || !hasBody(req)) return this.write(req, res, path);
    const prefix = await readPrefix(req, MAX_PEEK_BYTES);
    const kind = prefix.complete ? pushRequestKind(prefix.buffer) : undefined;
    if (kind === 'push-register') return this.registers.register(req, res, path, prefix.buffer.toString('utf8'));
    if (kind === 'cc-subscribe') return this.ccSubscribes.subscribe(req, res, path, prefix.buffer.toString('utf8'));
    return this.write(req, res, path, replay(prefix, req));
  }

  /** A write: forwarded, then (off the response path) the changed collections are pushed. */
  private async write(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    path: string,
    body?: Buffer | Readable,
  ): Promise<void> {
    const end = this.notifier.begin();
    try {
      const destination = this.destination(req);
      if (destination === 'foreign') {
        req.resume();
        end();
        // RFC 4918 §9.9.4 (MOVE) and §9.8.5 (COPY): 502 when the destination is on another server.
        return sendText(
          res,
          502,
          'davpush proxy: Destination names another server; moving or copying between servers is not supported\n',
        );
      }
      const status = await this.forwarder.forward(req, res, {
        body,
        headers: { destination: destination?.forUpstream },
      });
      if (status === undefined || status < 200 || status > 299) return end();
      void this.notifier
        .afterWrite({
          method: req.method!,
          path,
          destination: destination?.path,
          status,
          authorization: req.headers.authorization,
          principal: this.identity.principalOf(req.headers.authorization),
          dontNotifyLines: headerLines(req.rawHeaders, 'push-dont-notify'),
          pushClientId: pushClientIdOf(req.headers),
        })
        .finally(end);
    } catch (err) {
      end();
      throw err;
    }
  }

  /**
   * `Destination` (RFC 4918 §10.3) on the DAV server's own origin, and its path for change
   * detection. An absolute URL must name this server: the public origin, the `Host` the client
   * used, or the DAV server itself; any other host is `'foreign'` (answered 502, never rewritten).
   */
  private destination(req: http.IncomingMessage): { forUpstream: string; path: string } | 'foreign' | undefined {
    const value = req.headers.destination;
    if (typeof value !== 'string') return undefined;
    try {
      const u = new URL(value, this.publicOrigin);
      if (!/^[a-z][a-z0-9+.-]*:/i.test(value)) return { forUpstream: value, path: u.pathname };
      const ours =
        u.origin === this.publicOrigin ||
        u.origin === this.upstream.origin ||
        (req.headers.host !== undefined && u.host === req.headers.host.toLowerCase());
      if (!ours) return 'foreign';
      return { forUpstream: `${this.upstream.origin}${u.pathname}${u.search}`, path: u.pathname };
    } catch {
      return undefined;
    }
  }

  /**
   * The DAV server unreachable → `502`; davpush's own Redis failing (or any domain error) → its
   * status, `503` + Retry-After for Redis (asOwnDomainError); anything else of ours → `500`. Never
   * a credential or path in the log.
   */
  private fail(req: http.IncomingMessage, res: http.ServerResponse, err: unknown): void {
    const e = err as NodeJS.ErrnoException;
    if (err instanceof UpstreamUnreachableError) this.monitor.unreachable(err.code);
    this.log.warn({
      msg: err instanceof UpstreamUnreachableError ? 'DAV server did not answer' : 'proxy request failed',
      method: req.method,
      error: e?.code ?? e?.message,
    });
    if (res.headersSent) return void res.destroy();
    req.resume();
    if (err instanceof UpstreamUnreachableError) sendUpstreamUnreachable(res, err);
    else if (!sendDomainError(res, asOwnDomainError(err, this.redis)))
      sendText(res, 500, 'davpush proxy: internal error; it has been logged\n');
  }
}

/** `DAV: …, webdav-push` (draft §"Service Detection") on a server that speaks CalDAV or CardDAV. */
function advertisePush(headers: Record<string, string | string[]>, status: number): void {
  const dav = headers.dav;
  if (status < 200 || status > 299 || dav === undefined) return;
  const value = Array.isArray(dav) ? dav.join(', ') : dav;
  if (!/\b(calendar-access|addressbook)\b/i.test(value) || /\bwebdav-push\b/i.test(value)) return;
  headers.dav = `${value}, webdav-push`;
}

/**
 * Whether a POST body is a `push-register` (root `P:push-register`) or a CC/CD 70025 `subscribe`
 * (root `subscribe` in the CC namespace). A body that is not well-formed (or has a DOCTYPE) but
 * plainly means to be one is answered by the proxy too (a clear 400 rather than a stray object
 * stored by a server that treats POST as add-member).
 */
function pushRequestKind(body: Buffer): 'push-register' | 'cc-subscribe' | undefined {
  const text = body.toString('utf8');
  try {
    const root = parseBoundedXml(text, {
      what: 'POST body',
      maxBytes: MAX_PEEK_BYTES,
      maxDepth: 32,
      maxTextBytes: 8 * 1024,
    }).documentElement!;
    if (root.namespaceURI === WEBDAV_PUSH_NS && root.localName === 'push-register') return 'push-register';
    if (root.namespaceURI === CC_PUSH_NS && root.localName === 'subscribe') return 'cc-subscribe';
    return undefined;
  } catch {
    if (text.includes(WEBDAV_PUSH_NS) && /<(?:[A-Za-z_][\w.-]*:)?push-register[\s/>]/.test(text))
      return 'push-register';
    if (text.includes(CC_PUSH_NS) && /<(?:[A-Za-z_][\w.-]*:)?subscribe[\s/>]/.test(text)) return 'cc-subscribe';
    return undefined;
  }
}
