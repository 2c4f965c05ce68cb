import { Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { ProxyUpstreamState } from '@davpush/observability';
import { OutOfBandChanges } from '../changes/out-of-band.service';
import { ProxyIdentity } from '../identity/proxy-identity.service';
import { UpstreamClient } from './upstream.client';

/** How often the DAV server is asked whether it is there (one unauthenticated OPTIONS). */
const PROBE_MS = 15_000;

/**
 * Watches the DAV server for the proxy: checks the service account at start, keeps `/health/ready`
 * informed (ProxyUpstreamState), and runs a catch-up check of every registered collection at start
 * and whenever the server answers again after not answering, so changes made while davpush (or its
 * way to the server) was down are pushed even with the poller off.
 */
@Injectable()
export class UpstreamMonitor implements OnApplicationShutdown {
  private readonly log = new Logger('Proxy');
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly upstream: UpstreamClient,
    private readonly identity: ProxyIdentity,
    private readonly state: ProxyUpstreamState,
    private readonly outOfBand: OutOfBandChanges,
  ) {}

  /**
   * Start-up: the server answered `UpstreamClient.check()` already. A configured service account
   * the server refuses (401) stops start-up with an error naming the variables; a server that wants
   * credentials when none are configured gets a warning (proxied writes still push, the hook and the
   * poller cannot read).
   */
  async checkAtStart(): Promise<void> {
    this.state.reachable(true);
    const refused = await this.checkServiceAccount();
    if (refused) {
      throw new Error(
        `DAVPUSH_PROXY_SERVICE_USER/DAVPUSH_PROXY_SERVICE_PASSWORD: the DAV server ${this.upstream.id}/ refused the service account (${refused}); ` +
          'fix the password (or the user in its htpasswd file): without it, changes that bypass the proxy are never pushed',
      );
    }
  }

  /** After the proxy listens: the catch-up check, then a probe every PROBE_MS. */
  watch(): void {
    this.outOfBand.schedule(0, 'catch-up');
    this.timer = setInterval(() => void this.probe(), PROBE_MS);
    this.timer.unref();
  }

  /** A proxied request got an answer. */
  answered(): void {
    if (this.state.reachable(true)) this.reconnected();
  }

  /** A proxied request found the server not answering. */
  unreachable(code: string): void {
    const was = this.state.snapshot().reachable;
    this.state.reachable(false, code);
    if (was !== false)
      this.log.warn({ msg: 'the DAV server does not answer; requests get 502 until it does', error: code });
  }

  private async probe(): Promise<void> {
    try {
      await this.upstream.ping();
      this.answered();
    } catch (err) {
      this.unreachable((err as NodeJS.ErrnoException).code ?? 'error');
    }
  }

  private reconnected(): void {
    this.log.log({ msg: 'the DAV server answers again; checking registered collections for changes' });
    void this.checkServiceAccount()
      .then(
        (refused) =>
          refused &&
          this.log.warn({
            msg: 'the DAV server refuses the service account',
            status: refused,
            hint: 'check DAVPUSH_PROXY_SERVICE_USER and DAVPUSH_PROXY_SERVICE_PASSWORD',
          }),
      )
      .catch(() => undefined);
    this.outOfBand.schedule(0, 'catch-up');
  }

  /**
   * A Depth-0 PROPFIND of the server's root with the service account (or without credentials when
   * none is configured). Records the result for `/health/ready`.
   *
   * @returns the status when a configured account was refused (401), else undefined.
   */
  private async checkServiceAccount(): Promise<number | undefined> {
    const service = this.identity.serviceAuthorization();
    const read = await this.upstream.collectionState(`${this.upstream.rootPath}/`, service);
    if (!service) {
      this.state.serviceAccount(read.status === 401 ? 'missing' : 'not-configured', read.status);
      if (read.status === 401) {
        this.log.warn({
          msg: 'the DAV server wants credentials but no service account is configured: changes that bypass the proxy (storage hook, poller, catch-up) cannot be read and are not pushed',
          hint: 'set DAVPUSH_PROXY_SERVICE_USER and DAVPUSH_PROXY_SERVICE_PASSWORD (a read-all account, docs/proxy.md)',
        });
      }
      return undefined;
    }
    if (read.status === 401) {
      this.state.serviceAccount('refused', 401);
      return 401;
    }
    // Any other answer means the credentials were accepted; read rights show on registered collections.
    this.state.serviceAccount('accepted');
    return undefined;
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
