import { Injectable } from '@nestjs/common';

/**
 * What the proxy's service account (DAVPUSH_PROXY_SERVICE_USER) last got from the DAV server:
 * `accepted` (a 207), `refused` (401: wrong user or password), `cannot-read` (403/404 on a
 * registered collection: its rights do not cover it), `not-configured` (and the server reads without
 * credentials), `missing` (not configured, but the server wants credentials: 401), or `unknown`.
 */
export type ServiceAccountState = 'unknown' | 'not-configured' | 'missing' | 'accepted' | 'refused' | 'cannot-read';

/** A snapshot for `/health/ready`: no credentials, no paths. */
export interface ProxyUpstreamSnapshot {
  reachable?: boolean;
  /** The error code of the last failed attempt (`ECONNREFUSED`, …) while unreachable. */
  lastError?: string;
  /** Milliseconds since the epoch of the last change of `reachable`. */
  since?: number;
  serviceAccount: ServiceAccountState;
  /** The DAV status behind `refused` / `cannot-read`. */
  serviceStatus?: number;
}

/**
 * The proxy's view of its DAV server, shared with the readiness probe: the proxy (apps/proxy) writes
 * it, ReadinessIndicators reads it. Here because libs never import apps; without proxy mode it stays
 * untouched and the probe skips it.
 */
@Injectable()
export class ProxyUpstreamState {
  private state: ProxyUpstreamSnapshot = { serviceAccount: 'unknown' };

  /** @returns whether this report flipped the server from unreachable to reachable (not the first report). */
  reachable(ok: boolean, error?: string, now = Date.now()): boolean {
    const was = this.state.reachable;
    // Called for every proxied answer: no new object unless something changed.
    if (was === ok && (ok || this.state.lastError === error)) return false;
    this.state = {
      ...this.state,
      reachable: ok,
      since: was === ok ? this.state.since : now,
      lastError: ok ? undefined : error,
    };
    return ok && was === false;
  }

  serviceAccount(state: ServiceAccountState, status?: number): void {
    this.state = {
      ...this.state,
      serviceAccount: state,
      serviceStatus: state === 'refused' || state === 'cannot-read' || state === 'missing' ? status : undefined,
    };
  }

  snapshot(): ProxyUpstreamSnapshot {
    return { ...this.state };
  }
}
