import { Injectable, Logger } from '@nestjs/common';
import { ProxyUpstreamState, PushMetrics, type ProxyReadFailure, type ProxyReadSource } from '@davpush/observability';

/** One warning per source and reason per this window; the rest are counted and summed into the next one. */
const LOG_WINDOW_MS = 60_000;

/** How a sync-token read of a registered collection ended (see ChangeNotifier.pushIfChanged). */
export interface TokenReadOutcome {
  source: ProxyReadSource;
  /** The DAV status of the last read, or undefined when the server did not answer. */
  status?: number;
  /** The network error code when the server did not answer. */
  code?: string;
  /** The last read used the service account (DAVPUSH_PROXY_SERVICE_USER). */
  service: boolean;
  /** A service account is configured at all. */
  serviceConfigured: boolean;
}

/**
 * Makes failed token reads visible: a change whose collection cannot be read is not pushed, so
 * each one counts in `davpush_proxy_token_reads_failed_total{source,reason}`, is logged (at most
 * once a minute per source and reason, never with credentials or paths), and what it says about the
 * service account goes to `/health/ready` (ProxyUpstreamState).
 */
@Injectable()
export class TokenReadReporter {
  private readonly log = new Logger('Proxy');
  private readonly lastLogged = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly metrics: PushMetrics,
    private readonly upstream: ProxyUpstreamState,
  ) {}

  succeeded(service: boolean): void {
    if (service) this.upstream.serviceAccount('accepted');
  }

  failed(o: TokenReadOutcome, now = Date.now()): void {
    const reason = failureReason(o.status);
    this.metrics.proxyTokenReadFailures.inc({ source: o.source, reason });
    if (reason === 'unreachable') this.upstream.reachable(false, o.code);
    else if (o.service && reason === 'unauthorized') this.upstream.serviceAccount('refused', o.status);
    else if (!o.serviceConfigured && reason === 'unauthorized' && o.source !== 'write')
      this.upstream.serviceAccount('missing', o.status);
    else if (o.service && (reason === 'forbidden' || reason === 'not-found'))
      this.upstream.serviceAccount('cannot-read', o.status);

    const key = `${o.source} ${reason}`;
    const last = this.lastLogged.get(key);
    if (last && now - last.at < LOG_WINDOW_MS) {
      last.suppressed++;
      return;
    }
    this.lastLogged.set(key, { at: now, suppressed: 0 });
    this.log.warn({
      msg: 'sync-token read failed; change not pushed',
      source: o.source,
      reason,
      status: o.status,
      error: o.code,
      hint: hint(reason, o),
      ...(last?.suppressed ? { sinceLastWarning: last.suppressed } : {}),
    });
  }
}

export function failureReason(status: number | undefined): ProxyReadFailure {
  if (status === undefined) return 'unreachable';
  if (status === 401) return 'unauthorized';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'not-found';
  return 'other-status';
}

function hint(reason: ProxyReadFailure, o: TokenReadOutcome): string | undefined {
  if (reason === 'unreachable') return 'the DAV server (DAVPUSH_PROXY_UPSTREAM) did not answer';
  if (reason === 'unauthorized') {
    return o.serviceConfigured
      ? 'the DAV server refused the service account: check DAVPUSH_PROXY_SERVICE_USER and DAVPUSH_PROXY_SERVICE_PASSWORD'
      : 'the DAV server wants credentials: set DAVPUSH_PROXY_SERVICE_USER and DAVPUSH_PROXY_SERVICE_PASSWORD (a read-all account, docs/proxy.md)';
  }
  if (reason === 'forbidden' || reason === 'not-found')
    return 'the service account cannot read this collection: give it read rights on every collection (docs/proxy.md)';
  return undefined;
}
