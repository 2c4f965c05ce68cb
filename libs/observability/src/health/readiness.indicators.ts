import { Injectable } from '@nestjs/common';
import { type HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { AppConfig } from '@davpush/config';
import { PushGatewayRegistry, VapidService } from '@davpush/gateways';
import { RedisService } from '@davpush/storage';
import { within } from '../stats/cached';
import { DELIVERY_PATH_QUEUES, QueueStatsService } from '../stats/queue-stats.service';
import { ReplicationStatsService } from '../stats/replication-stats.service';
import { ProxyUpstreamState } from './proxy-upstream.state';

/**
 * What a gateway may report about its credentials (FcmGateway#state() has this shape). Duck-typed
 * on purpose: any gateway that grows a `state()` is checked, without libs/gateways depending on us.
 */
export interface CredentialState {
  configured?: boolean;
  projectId?: string;
  lastTokenOk?: boolean;
  lastTokenAt?: number;
  lastError?: string;
}

export function reportsCredentialState(gateway: unknown): gateway is { state(): CredentialState } {
  return typeof (gateway as { state?: unknown } | null)?.state === 'function';
}

/** Readiness data may be read by anyone who can reach the probe: no secrets, no key material. */
const REDIS_TIMEOUT_MS = 1000;
const SNAPSHOT_TIMEOUT_MS = 2000;
/** Readiness wants fresher figures than a scrape; still shared between probes arriving together. */
const SNAPSHOT_MAX_AGE_MS = 1000;

/**
 * The readiness checks (terminus custom indicators, HealthIndicatorService). `down` (503) means this
 * process cannot do its job: Redis or a queue does not answer, or there is no VAPID key to sign with.
 * `degraded` (200) means it can, but something needs an operator: a backlog older than
 * DAVPUSH_READY_MAX_WAIT_AGE_MS, or a push credential the push service refused. Those stay 200 on
 * purpose: taking the API out of the load balancer would stop accepting events for everyone and fix nothing.
 */
@Injectable()
export class ReadinessIndicators {
  constructor(
    private readonly indicator: HealthIndicatorService,
    private readonly config: AppConfig,
    private readonly redisService: RedisService,
    private readonly stats: QueueStatsService,
    private readonly vapidService: VapidService,
    private readonly gateways: PushGatewayRegistry,
    private readonly proxyUpstream: ProxyUpstreamState,
    private readonly replication: ReplicationStatsService,
  ) {}

  /** Redis answers PING; on a Redis Cluster, also `cluster_state:ok` on every master (reported as `clusterState`). */
  async redis(): Promise<HealthIndicatorResult> {
    const check = this.indicator.check('redis');
    try {
      await within(this.redisService.ping(), REDIS_TIMEOUT_MS, 'Redis PING');
      const clusterState = await within(this.redisService.clusterState(), REDIS_TIMEOUT_MS, 'CLUSTER INFO');
      if (clusterState === undefined) return check.up();
      return clusterState === 'ok' ? check.up({ clusterState }) : check.down({ clusterState });
    } catch (err) {
      return check.down({ message: (err as Error).message });
    }
  }

  /**
   * DAVPUSH_DURABILITY=replicated only (see `durable`): every Redis master has at least one
   * online replica (`INFO replication`). Accepted writes wait for a replica of every master
   * (docs/durability.md), so one master without a replica makes every event and registration a 503
   * `replication-timeout`: `down`, naming the masters (`host:port`) and their replica counts.
   */
  async durability(): Promise<HealthIndicatorResult> {
    const check = this.indicator.check('durability');
    try {
      const masters = await within(this.replication.masters(SNAPSHOT_MAX_AGE_MS), REDIS_TIMEOUT_MS, 'INFO replication');
      const replicasOnline = Object.fromEntries(masters.map((m) => [m.master, m.online]));
      const lacking = masters.filter((m) => m.online < 1).map((m) => m.master);
      if (lacking.length > 0) {
        return check.down({
          mode: 'replicated',
          mastersWithoutReplica: lacking,
          replicasOnline,
          message:
            'every write waits for a replica of every master: events and registrations answer 503 until one is back',
        });
      }
      return check.up({ mode: 'replicated', replicasOnline });
    } catch (err) {
      return check.down({ mode: 'replicated', message: (err as Error).message });
    }
  }

  /** Whether readiness checks `durability` (DAVPUSH_DURABILITY=replicated). */
  get durable(): boolean {
    return this.replication.replicated;
  }

  /** Every queue (QueueName) answers its counts. */
  async queues(): Promise<HealthIndicatorResult> {
    const check = this.indicator.check('queues');
    try {
      const snap = await within(this.stats.snapshot(SNAPSHOT_MAX_AGE_MS), SNAPSHOT_TIMEOUT_MS, 'queue snapshot');
      if (snap.errors.length > 0)
        return check.down({ failing: Object.fromEntries(snap.errors.map((e) => [e.name, e.error])) });
      return check.up({ answered: snap.queues.map((q) => q.name) });
    } catch (err) {
      return check.down({ message: (err as Error).message });
    }
  }

  /** The oldest waiting job on the delivery path (fan-out, deliveries); dead letters wait on purpose. */
  async backlog(): Promise<HealthIndicatorResult> {
    const check = this.indicator.check('backlog');
    const thresholdMs = this.config.operations.readyMaxWaitAgeMs;
    let snap;
    try {
      snap = await within(this.stats.snapshot(SNAPSHOT_MAX_AGE_MS), SNAPSHOT_TIMEOUT_MS, 'queue snapshot');
    } catch (err) {
      // `queues` already reports it down; the backlog is unknown, not late.
      return check.up({ unknown: (err as Error).message });
    }
    const oldestWaitingMs: Record<string, number> = {};
    const late: string[] = [];
    for (const q of snap.queues) {
      if (!DELIVERY_PATH_QUEUES.includes(q.name)) continue;
      oldestWaitingMs[q.name] = q.oldestWaitingAgeMs ?? 0;
      if ((q.oldestWaitingAgeMs ?? 0) > thresholdMs) late.push(q.name);
    }
    return late.length > 0
      ? check.degraded({ thresholdMs, late, oldestWaitingMs })
      : check.up({ thresholdMs, oldestWaitingMs });
  }

  /** A VAPID key pair is loaded (generated or configured): without it no Web Push can be signed. */
  vapid(): HealthIndicatorResult {
    const check = this.indicator.check('vapid');
    try {
      const key = this.vapidService.publicKey;
      if (!key) return check.down({ message: 'no VAPID key loaded' });
      return check.up({
        subject: this.config.vapid.subjectIsPlaceholder ? 'placeholder (set DAVPUSH_VAPID_SUBJECT)' : 'configured',
      });
    } catch {
      return check.down({ message: 'no VAPID key loaded' });
    }
  }

  /** One result per registered gateway that reports credential state (FCM's OAuth token exchange). */
  credentials(): HealthIndicatorResult[] {
    const results: HealthIndicatorResult[] = [];
    for (const transport of this.gateways.transports()) {
      const gateway = this.gateways.for(transport);
      if (!reportsCredentialState(gateway)) continue;
      results.push(this.credentialResult(transport, gateway.state()));
    }
    return results;
  }

  credentialResult(key: string, state: CredentialState): HealthIndicatorResult {
    const check = this.indicator.check(key);
    if (state.configured === false)
      return check.down({ message: `${key} gateway is registered but has no credentials` });
    const info = {
      projectId: state.projectId,
      lastTokenAt: state.lastTokenAt ? new Date(state.lastTokenAt).toISOString() : undefined,
    };
    if (state.lastTokenOk === false)
      return check.degraded({ ...info, lastError: state.lastError ?? 'token exchange failed' });
    return check.up({ ...info, token: state.lastTokenOk ? 'ok' : 'not fetched yet' });
  }

  /**
   * Proxy mode only (undefined otherwise): the DAV server behind the proxy. `degraded` (200, like a
   * refused push credential: every replica shares the one DAV server, so taking this one out of the
   * load balancer fixes nothing) when it does not answer, or when the service account
   * (DAVPUSH_PROXY_SERVICE_USER/_PASSWORD) is refused, cannot read a registered collection, or is
   * missing where the server wants credentials: then
   * changes that bypass the proxy (storage hook, poller, catch-up) are not pushed.
   */
  proxy(): HealthIndicatorResult | undefined {
    if (!this.config.proxy) return undefined;
    const s = this.proxyUpstream.snapshot();
    // A process without the proxy role (`start:api` with the same environment) has nothing to say.
    if (s.reachable === undefined && s.serviceAccount === 'unknown') return undefined;
    const check = this.indicator.check('proxyUpstream');
    const info = {
      upstream:
        s.reachable === undefined
          ? 'not checked yet'
          : s.reachable
            ? 'answers'
            : `does not answer (${s.lastError ?? 'error'})`,
      since: s.since ? new Date(s.since).toISOString() : undefined,
      serviceAccount: s.serviceStatus ? `${s.serviceAccount} (${s.serviceStatus})` : s.serviceAccount,
    };
    if (s.reachable === false) return check.degraded(info);
    if (s.serviceAccount === 'refused' || s.serviceAccount === 'cannot-read' || s.serviceAccount === 'missing') {
      return check.degraded({
        ...info,
        message:
          'changes that bypass the proxy are not pushed: check DAVPUSH_PROXY_SERVICE_USER / DAVPUSH_PROXY_SERVICE_PASSWORD and its read rights',
      });
    }
    return check.up(info);
  }
}
