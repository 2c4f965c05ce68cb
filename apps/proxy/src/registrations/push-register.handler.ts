import { Injectable, Logger } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PROXY_REGISTRATION_PATH, RegistrationsService } from '@davpush/application';
import { NotFoundError } from '@davpush/domain';
import { RedisService, RegistrationStore } from '@davpush/storage';
import { parsePushRegister } from '@davpush/webdav-push';
import { ChangeNotifier } from '../changes/change.notifier';
import { asOwnDomainError, sendDomainError, sendText, sendUpstreamUnreachable } from '../http/dav-answer';
import { ProxyIdentity } from '../identity/proxy-identity.service';
import { collectionAccess, relayUnauthorized } from './collection-access';
import { UpstreamClient, UpstreamUnreachableError } from '../upstream/upstream.client';

/**
 * `POST push-register` and `DELETE` of a registration URL, answered by the proxy itself and never
 * forwarded (draft-bitfire-webdav-push-00 §"Subscription Registration", §"Removing a Subscription").
 * The client's own credentials are checked by the DAV server first: a Depth-0 PROPFIND of the
 * collection, so only a user who may read the collection can subscribe to it.
 */
@Injectable()
export class PushRegisterHandler {
  private readonly log = new Logger('Proxy');

  constructor(
    private readonly upstream: UpstreamClient,
    private readonly identity: ProxyIdentity,
    private readonly registrations: RegistrationsService,
    private readonly store: RegistrationStore,
    private readonly notifier: ChangeNotifier,
    private readonly redis: RedisService,
  ) {}

  /**
   * `201` (new) or `204` (renewed) with the absolute `Location` under DAVPUSH_PROXY_PUBLIC_URL and
   * `Expires`; a `401` of the DAV server is relayed with its `WWW-Authenticate`; a collection that is
   * no calendar or address book, or that the user cannot read, is `403 <P:push-not-available/>`.
   */
  async register(req: IncomingMessage, res: ServerResponse, path: string, body: string): Promise<void> {
    try {
      // Credentials first: who may not read the collection learns nothing, not even a body problem.
      const authorization = req.headers.authorization;
      const access = await collectionAccess(this.upstream, path, authorization);
      if (access.kind === 'unauthorized') return relayUnauthorized(res, access.wwwAuthenticate);
      const request = parsePushRegister(body);
      const topic = this.identity.topicOf(path);
      const r = await this.registrations.register(
        this.identity.tenantId,
        topic,
        request,
        this.identity.principalOf(authorization),
        'proxy',
      );
      await this.notifier.remember(topic, this.identity.canonical(path), access.state.syncToken ?? access.state.ctag);
      res.writeHead(r.created ? 201 : 204, { location: r.location, expires: r.expires, 'content-length': 0 });
      res.end();
    } catch (err) {
      this.fail(res, err);
    }
  }

  /**
   * `DELETE <public>/.davpush/registrations/<id>`: `204` for the owner (the user the DAV server
   * accepts these credentials for); `404` for an unknown or expired id and for another user's.
   */
  async remove(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    try {
      if (req.method !== 'DELETE')
        return sendText(res, 405, 'registration URLs take DELETE only\n', { allow: 'DELETE' });
      const id = path.slice(PROXY_REGISTRATION_PATH.length);
      const reg = await this.store.get(id, this.identity.tenantId);
      const collection = reg && (await this.notifier.knownPaths()).get(reg.topic);
      if (!reg || !collection) throw new NotFoundError('no such registration (unknown or expired)');
      const authorization = req.headers.authorization;
      const read = await this.upstream.collectionState(encodePath(collection), authorization);
      if (read.status === 401) return relayUnauthorized(res, read.wwwAuthenticate);
      // RegistrationsService.remove answers another principal's registration like an unknown one.
      await this.registrations.remove(id, {
        tenantId: this.identity.tenantId,
        principal: this.identity.principalOf(authorization),
        strictPrincipal: true,
      });
      res.writeHead(204, 'Unregistered');
      res.end();
    } catch (err) {
      this.fail(res, err);
    }
  }

  private fail(res: ServerResponse, err: unknown): void {
    if (res.headersSent) return void res.destroy();
    if (err instanceof UpstreamUnreachableError) {
      this.log.warn({ msg: 'DAV server did not answer', method: 'push registration', error: err.code });
      return sendUpstreamUnreachable(res, err);
    }
    // A Redis command timeout, or Redis down: 503 + Retry-After saying which (asOwnDomainError).
    if (sendDomainError(res, asOwnDomainError(err, this.redis))) return;
    // What is left is davpush's own store (Redis) failing otherwise: ours to fix, the client's to retry.
    this.log.error({ msg: 'push registration failed', error: (err as Error).message });
    sendText(res, 503, 'davpush could not store this registration now (its Redis did not answer); retry shortly\n', {
      'retry-after': '2',
    });
  }
}

/** A canonical (decoded) path as a request path again. */
export function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}
