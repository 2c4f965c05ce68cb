import { Injectable, Logger } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CcGatewayService } from '@davpush/application';
import { DomainError, InvalidTopicsError, PreconditionFailedError } from '@davpush/domain';
import { RedisService } from '@davpush/storage';
import {
  buildCcPreconditionError,
  buildDavErrorMessage,
  buildInvalidTopicsError,
  parseCcSubscribe,
} from '@davpush/webdav-push';
import { ChangeNotifier } from '../changes/change.notifier';
import { asOwnDomainError, retryAfterOf, sendDavError, sendText, STATUS_OF } from '../http/dav-answer';
import { pushClientIdOf } from '../http/headers';
import { ProxyIdentity } from '../identity/proxy-identity.service';
import { UpstreamClient } from '../upstream/upstream.client';
import { collectionAccess, relayUnauthorized } from './collection-access';
import { encodePath } from './push-register.handler';

/**
 * A client's CC/CD 70025 `subscribe` (draft-gajda-dav-push-00 §5.2.3.2, §6.2.2) POSTed to a
 * collection's `push-subscribe-URL`, which in proxy mode is the collection itself: answered by the
 * proxy and never forwarded, relayed to the gateway use case for the proxy's tenant, as the
 * application server of the draft does. The client's own credentials are checked by the DAV server
 * first (a Depth-0 PROPFIND), as for `push-register`.
 */
@Injectable()
export class CcSubscribeHandler {
  private readonly log = new Logger('Proxy');

  constructor(
    private readonly upstream: UpstreamClient,
    private readonly identity: ProxyIdentity,
    private readonly gateway: CcGatewayService,
    private readonly notifier: ChangeNotifier,
    private readonly redis: RedisService,
  ) {}

  /**
   * `204` with `Expires` (IMF-fixdate, the granted expiry), or `204` without it for an unsubscribe.
   * Topics the user may subscribe to: the collection's own, and those of collections registered
   * through the proxy before that these credentials can read too (each re-checked). Any other
   * topic → `403` `invalid-topics` listing it, nothing stored. A `401` of the DAV server is relayed;
   * a resource that is no calendar or address book → `403` `P:push-not-available`. Errors are
   * DAV:errors in the CC namespace (docs/cc70025.md).
   */
  async subscribe(req: IncomingMessage, res: ServerResponse, path: string, body: string): Promise<void> {
    try {
      const authorization = req.headers.authorization;
      const access = await collectionAccess(this.upstream, path, authorization);
      if (access.kind === 'unauthorized') return relayUnauthorized(res, access.wwwAuthenticate);
      const request = parseCcSubscribe(body);
      const own = this.identity.topicOf(path);
      const collections = new Map<string, { path: string; token?: string }>([
        [own, { path: this.identity.canonical(path), token: access.state.syncToken ?? access.state.ctag }],
      ]);
      const known = await this.notifier.knownPaths();
      for (const topic of new Set(request.topics)) {
        const other = topic === own ? undefined : known.get(topic);
        if (other === undefined) continue;
        const r = await this.upstream.collectionState(encodePath(other), authorization);
        if (r.status === 207 && r.state?.pushCapable)
          collections.set(topic, { path: other, token: r.state.syncToken ?? r.state.ctag });
      }
      const r = await this.gateway.subscribe(this.identity.tenantId, request, {
        principal: this.identity.principalOf(authorization),
        clientId: pushClientIdOf(req.headers),
        topics: [...collections.keys()],
      });
      if (r.outcome.kind === 'unsubscribed') {
        res.writeHead(204, { 'content-length': 0 });
        return void res.end();
      }
      for (const topic of new Set(request.topics)) {
        const c = collections.get(topic)!;
        await this.notifier.remember(topic, c.path, c.token);
      }
      res.writeHead(204, { expires: new Date(r.outcome.expiresAt).toUTCString(), 'content-length': 0 });
      res.end();
    } catch (err) {
      this.fail(res, err);
    }
  }

  private fail(res: ServerResponse, err: unknown): void {
    if (res.headersSent) return void res.destroy();
    if (err instanceof InvalidTopicsError)
      return sendDavError(res, 403, buildInvalidTopicsError(err.topics, err.message));
    // A Redis command timeout, or Redis down, is a 503 + Retry-After saying which (asOwnDomainError).
    const domain = asOwnDomainError(err, this.redis);
    if (domain instanceof DomainError) {
      const body =
        domain instanceof PreconditionFailedError
          ? buildCcPreconditionError(domain.precondition, domain.message)
          : buildDavErrorMessage(domain.message);
      return sendDavError(res, STATUS_OF[domain.kind], body, retryAfterOf(domain));
    }
    this.log.error({ msg: 'CC subscription failed', error: (err as Error).message });
    sendText(res, 503, 'davpush could not handle this subscription now; retry shortly\n', { 'retry-after': '2' });
  }
}
