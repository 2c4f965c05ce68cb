import { Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { AppConfig } from '@davpush/config';
import type { ProxyReadSource } from '@davpush/observability';
import { RegistrationStore } from '@davpush/storage';
import { sendText } from '../http/dav-answer';
import { ProxyIdentity } from '../identity/proxy-identity.service';
import { encodePath } from '../registrations/push-register.handler';
import { ChangeNotifier } from './change.notifier';

/** Where Radicale's `[storage] hook` reports writes (docs/proxy.md). */
export const HOOK_PATH = '/.davpush/hooks/radicale';

/** Headers a reverse proxy or CDN adds about the client it forwards for: never sent by Radicale's hook. */
const FRONT_END_HEADERS = [
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-real-ip',
  'x-client-ip',
  'true-client-ip',
  'cf-connecting-ip',
  'fastly-client-ip',
  'x-cluster-client-ip',
  'via',
];

/** Hooks of one burst of writes are read once. */
const HOOK_DEBOUNCE_MS = 250;

/**
 * Changes that did not pass through the proxy: Radicale's storage hook (it runs after every write,
 * with the storage lock held, so the endpoint answers at once and reads nothing before answering),
 * and a poller for servers without hooks. Both re-read the tokens of collections with live
 * registrations (with the service account) and push only tokens not pushed yet; both wait until
 * proxied writes in flight have posted their own events, so the writer's Push-Dont-Notify stands.
 */
@Injectable()
export class OutOfBandChanges implements OnApplicationShutdown {
  private readonly log = new Logger('Proxy');
  private timer?: NodeJS.Timeout;
  private poller?: NodeJS.Timeout;
  private running?: Promise<void>;
  private again = false;
  /** What asked for the check that is due (the first one asking names it). */
  private due?: ProxyReadSource;
  private stopped = false;

  constructor(
    private readonly config: AppConfig,
    private readonly identity: ProxyIdentity,
    private readonly notifier: ChangeNotifier,
    private readonly store: RegistrationStore,
  ) {}

  startPolling(): void {
    const seconds = this.config.proxy!.pollSeconds;
    if (seconds <= 0) return;
    this.poller = setInterval(() => this.schedule(0, 'poller'), seconds * 1000);
    this.poller.unref();
  }

  /**
   * `POST /.davpush/hooks/radicale`: `202` at once. Callers on loopback without any front-end
   * header (FRONT_END_HEADERS) are accepted, or anyone presenting DAVPUSH_PROXY_HOOK_SECRET as a Bearer token; when the secret
   * is set it is always required.
   */
  hook(req: IncomingMessage, res: ServerResponse): void {
    req.resume();
    if (req.method !== 'POST') return sendText(res, 405, 'use POST\n', { allow: 'POST' });
    if (!this.hookAllowed(req))
      return sendText(res, 403, 'the hook endpoint takes loopback callers or the hook secret only\n');
    sendText(res, 202, 'accepted\n');
    this.schedule(HOOK_DEBOUNCE_MS, 'hook');
  }

  private hookAllowed(req: IncomingMessage): boolean {
    const secret = this.config.proxy!.hookSecret;
    if (secret) {
      const m = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
      const given = Buffer.from(m?.[1]?.trim() ?? '');
      const want = Buffer.from(secret);
      return given.length === want.length && timingSafeEqual(given, want);
    }
    // A front end on the same host (TLS terminator) connects from loopback too: any header such a
    // front end adds about the real client means the caller is not local (RFC 7239 and the de-facto ones).
    if (FRONT_END_HEADERS.some((h) => req.headers[h] !== undefined)) return false;
    const a = req.socket.remoteAddress ?? '';
    return a === '::1' || a.startsWith('127.') || a.startsWith('::ffff:127.');
  }

  /** Runs {@link reconcile} after `delayMs`; hooks arriving meanwhile share the run, later ones get another. */
  schedule(delayMs: number, source: ProxyReadSource): void {
    if (this.stopped) return;
    this.due ??= source;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const due = this.due ?? 'hook';
      this.due = undefined;
      this.running = this.reconcile(due)
        .then(() => undefined)
        .catch((err: Error) => this.log.warn({ msg: 'out-of-band change check failed', error: err.message }))
        .finally(() => {
          this.running = undefined;
          if (this.again) {
            this.again = false;
            this.schedule(HOOK_DEBOUNCE_MS, this.due ?? 'hook');
          }
        });
    }, delayMs);
    this.timer.unref();
  }

  /** Re-reads every registered collection's token; pushes the changed ones. Returns how many were pushed. */
  async reconcile(source: ProxyReadSource): Promise<number> {
    await this.notifier.idle();
    let pushed = 0;
    const service = this.identity.serviceAuthorization();
    for (const [topic, path] of await this.notifier.knownPaths()) {
      if (this.stopped) break;
      if ((await this.store.countLive(this.identity.tenantId, topic)) === 0) continue;
      if (await this.notifier.pushIfChanged(topic, encodePath(path), 'content', service, { source })) pushed++;
    }
    return pushed;
  }

  /** Waits for a running check, so nothing talks to Redis after the app closed it. */
  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.poller) clearInterval(this.poller);
    await this.running;
  }
}
