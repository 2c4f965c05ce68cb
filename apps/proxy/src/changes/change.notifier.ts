import { Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { EventsService, RegistrationsService } from '@davpush/application';
import type { ChangeKind } from '@davpush/domain';
import type { ProxyReadSource } from '@davpush/observability';
import { ProxyStateStore, RegistrationStore, type TokenSwap } from '@davpush/storage';
import { parsePushDontNotify } from '@davpush/webdav-push';
import { ProxyIdentity } from '../identity/proxy-identity.service';
import { UpstreamClient, UpstreamUnreachableError, type StateRead } from '../upstream/upstream.client';
import { changedCollections } from './changed-collections';
import { TokenReadReporter } from './token-read.reporter';

/** A write the DAV server answered, as the proxy saw it. */
export interface ProxiedWrite {
  method: string;
  /** Request path without query, as sent (percent-encoded). */
  path: string;
  /** Path of `Destination` (MOVE, COPY). */
  destination?: string;
  status: number;
  authorization?: string;
  principal: string;
  /** Every `Push-Dont-Notify` line of the request. */
  dontNotifyLines: string[];
  /** The writer's `Push-Client-Id` (CC/CD 70025 §7.1): its CC subscriptions are skipped. */
  pushClientId?: string;
}

const PATHS_CACHE_MS = 1000;
const PURGE_WAIT_MS = 30_000;

/**
 * Turns changes into WebDAV-Push events (docs/proxy.md "Changes"). Only collections with live
 * registrations cost anything: their new `DAV:sync-token` (RFC 6578 §4) is read and posted with
 * the exact string the DAV server shows. The last token posted per topic is kept, so a change seen
 * by the proxy, the hook and the poller is pushed once. Writes in flight are counted so the hook
 * and the poller wait for them: the writer's own event (with its Push-Dont-Notify) comes first.
 */
@Injectable()
export class ChangeNotifier implements OnApplicationShutdown {
  private readonly log = new Logger('Proxy');
  private inflight = 0;
  private waiters: (() => void)[] = [];
  private cache?: { at: number; paths: Map<string, string> };
  private stopped = false;
  /** Topics whose last push failed after its token may have been recorded: pushed at their next check, as with `always`. */
  private readonly unpushed = new Set<string>();

  constructor(
    private readonly upstream: UpstreamClient,
    private readonly identity: ProxyIdentity,
    private readonly state: ProxyStateStore,
    private readonly store: RegistrationStore,
    private readonly registrations: RegistrationsService,
    private readonly events: EventsService,
    private readonly reporter: TokenReadReporter,
  ) {}

  /** Counts a write in flight; call the returned function once it is settled (idempotent). */
  begin(): () => void {
    this.inflight++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      if (--this.inflight === 0) for (const w of this.waiters.splice(0)) w();
    };
  }

  /** Resolves once no write is in flight, or after `maxWaitMs` (a busy proxy never starves the hook). */
  idle(maxWaitMs = 10_000): Promise<void> {
    if (this.inflight === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(resolve, maxWaitMs);
      t.unref();
      this.waiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  /** topic → canonical path of every collection the proxy handed a registration for. */
  async knownPaths(): Promise<Map<string, string>> {
    if (this.cache && Date.now() - this.cache.at < PATHS_CACHE_MS) return this.cache.paths;
    const paths = await this.state.paths(this.upstream.id);
    this.cache = { at: Date.now(), paths };
    return paths;
  }

  /** Records a registered collection and, when it has none yet, the token changes are compared to. */
  async remember(topic: string, canonicalPath: string, syncToken: string | undefined): Promise<void> {
    await this.state.rememberPath(this.upstream.id, topic, canonicalPath);
    if (syncToken) await this.state.baselineToken(this.upstream.id, topic, syncToken);
    this.cache = undefined;
  }

  /** After a proxied write; never throws (it runs after the client has its answer). */
  async afterWrite(w: ProxiedWrite): Promise<void> {
    try {
      const known = await this.knownPaths();
      const knownPaths = new Set(known.values());
      const changes = changedCollections(w.method, w.path, w.status, {
        destination: w.destination,
        isCollection: (p) => knownPaths.has(this.identity.canonical(p)),
      });
      for (const change of changes) {
        const topic = this.identity.topicOf(change.path);
        if (!known.has(topic)) continue;
        if ((await this.store.countLive(this.identity.tenantId, topic)) === 0) continue;
        const dontNotify = await this.ownDontNotify(w.dontNotifyLines, topic, w.principal);
        const skipClients = w.pushClientId ? [w.pushClientId] : [];
        if (change.deleted) await this.pushDeletion(topic, dontNotify, skipClients);
        // Always posted, even when another write already pushed this token: two writers close
        // together each get their own event (with their own Push-Dont-Notify), which the fan-out
        // coalesces (libs/domain/src/change-event.ts), so neither writer misses the other's change.
        else
          await this.pushIfChanged(topic, change.path, change.kind, w.authorization, {
            source: 'write',
            dontNotify,
            always: true,
            skipClients,
          });
      }
    } catch (err) {
      this.log.warn({
        msg: 'change after a proxied write not pushed',
        method: w.method,
        error: (err as Error).message,
      });
    }
  }

  /**
   * Reads the collection's token (with `authorization`, falling back to the service account),
   * records it as pushed, and posts the event. Unless `always`, a content change whose token was
   * already pushed is not posted again; a property change always is (Radicale's sync-token covers
   * items only). A read that fails (the server does not answer, or refuses both credentials) is
   * counted and logged by TokenReadReporter, and nothing is posted. A push that fails once its
   * token was recorded is undone (see {@link unrecord}), so the change is not taken as pushed.
   *
   * @returns whether an event was posted.
   */
  async pushIfChanged(
    topic: string,
    path: string,
    kind: ChangeKind,
    authorization: string | undefined,
    opts: { source: ProxyReadSource; dontNotify?: string[]; always?: boolean; skipClients?: string[] },
  ): Promise<boolean> {
    const { source, dontNotify = [], always = false, skipClients = [] } = opts;
    const service = this.identity.serviceAuthorization();
    let read: StateRead;
    let usedService = authorization !== undefined && authorization === service;
    try {
      read = await this.upstream.collectionState(path, authorization);
      if (read.status !== 207 && service && service !== authorization) {
        usedService = true;
        read = await this.upstream.collectionState(path, service);
      }
    } catch (err) {
      if (!(err instanceof UpstreamUnreachableError)) throw err;
      this.reporter.failed({ source, code: err.code, service: usedService, serviceConfigured: !!service });
      return false;
    }
    if (read.status !== 207) {
      this.reporter.failed({ source, status: read.status, service: usedService, serviceConfigured: !!service });
      return false;
    }
    this.reporter.succeeded(usedService);
    const token = read.state?.syncToken ?? read.state?.ctag;
    let swap: TokenSwap | undefined;
    try {
      if (token !== undefined) {
        swap = await this.state.swapToken(this.upstream.id, topic, token);
        if (!swap.fresh && kind === 'content' && !always && !this.unpushed.has(topic)) return false;
      }
      await this.events.accept(this.identity.tenantId, [
        {
          topic,
          changes: [kind],
          syncToken: read.state?.syncToken,
          dontNotify: dontNotify.length > 0 ? dontNotify : undefined,
          skipClients,
        },
      ]);
    } catch (err) {
      await this.unrecord(topic, token, swap);
      throw err;
    }
    this.unpushed.delete(topic);
    // Topics are opaque; the token and the writer stay out of the log.
    this.log.debug({ msg: 'change posted', topic, kind, dontNotify: dontNotify.length });
    return true;
  }

  /**
   * After a failed push of `token`: had the swap stored it (or, when the swap itself failed, a Redis
   * timeout, may have), the next hook or poll would find it pushed and the change would never be.
   * So the swap is undone in Redis, compare-and-set (ProxyStateStore.restoreToken: only while our
   * token is still the recorded one), which other proxy processes and a restart see too; and, as
   * that undo needs the Redis that may just have failed, the topic is also kept here to be pushed at
   * its next check whatever its token. Either may push a change twice (the failed accept may have
   * stored its event after all), never lose one.
   */
  private async unrecord(topic: string, token: string | undefined, swap: TokenSwap | undefined): Promise<void> {
    this.unpushed.add(topic);
    // `fresh: false`: the token was recorded before this call, which wrote nothing to undo.
    if (token === undefined || swap?.fresh === false) return;
    await this.state
      .restoreToken(this.upstream.id, topic, token, swap?.previous)
      .catch((err: Error) =>
        this.log.warn({ msg: 'sync-token of a failed push not reset; retried from memory', error: err.message }),
      );
  }

  /** A collection deleted through the proxy: a last push, then its registrations go once it was delivered. */
  private async pushDeletion(topic: string, dontNotify: string[], skipClients: string[]): Promise<void> {
    const accepted = await this.events.accept(this.identity.tenantId, [
      { topic, changes: ['content'], dontNotify: dontNotify.length > 0 ? dontNotify : undefined, skipClients },
    ]);
    // Not awaited: the write stops counting as in flight once its event is posted.
    void this.purgeAfterDelivery(topic, accepted.events[0]!.id).catch((err: Error) =>
      this.log.warn({ msg: 'registrations of a deleted collection not removed (they expire)', error: err.message }),
    );
  }

  private async purgeAfterDelivery(topic: string, id: string): Promise<void> {
    const until = Date.now() + PURGE_WAIT_MS;
    while (Date.now() < until && !this.stopped) {
      const s = await this.events.status(this.identity.tenantId, id).catch(() => undefined);
      if (s?.state === 'done') break;
      await new Promise((r) => setTimeout(r, 250));
    }
    while (!this.stopped) {
      const { targets } = await this.store.liveTargets(this.identity.tenantId, topic, 0, 500);
      if (targets.length === 0) break;
      for (const t of targets) await this.store.remove(t.id, { tenantId: this.identity.tenantId });
    }
    await this.state.forgetPath(this.upstream.id, topic);
    this.cache = undefined;
  }

  onApplicationShutdown(): void {
    this.stopped = true;
  }

  /**
   * The writer's `Push-Dont-Notify` (draft §"Suppressing notifications"), kept to registrations of
   * this topic that the writer owns: nobody silences another user's registration, and `*` means
   * "all of mine". Invalid and foreign values are ignored, as the draft requires.
   */
  private async ownDontNotify(lines: string[], topic: string, principal: string): Promise<string[]> {
    if (lines.length === 0) return [];
    const parsed = parsePushDontNotify(lines);
    const tenantId = this.identity.tenantId;
    const own: string[] = [];
    if (parsed === '*') {
      for (let cursor: number | undefined = 0; cursor !== undefined;) {
        const page: { targets: { id: string }[]; next?: number } = await this.store.liveTargets(
          tenantId,
          topic,
          cursor,
          500,
        );
        for (const t of page.targets) {
          const reg = await this.store.get(t.id, tenantId);
          if (reg?.principal === principal) own.push(this.registrations.registrationUrl(t.id, 'proxy'));
        }
        cursor = page.next;
      }
      return own;
    }
    for (const url of parsed.slice(0, 100)) {
      const id = this.registrations.idFromUrl(url);
      const reg = id ? await this.store.get(id, tenantId) : undefined;
      if (reg && reg.topic === topic && reg.principal === principal) own.push(url);
    }
    return own;
  }
}
