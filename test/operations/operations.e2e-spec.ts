import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_QUEUES } from '@davpush/queue';
import { FakePushService } from '../support/fake-push-service';
import { WebPushClient } from '../support/webpush-client';
import { specSampleRegister } from '../e2e/push-documents';
import { ADMIN_TOKEN, eventually, startHarness, type Harness } from '../e2e/harness';
import { LogRecorder } from './log-recorder';
import { parsePrometheus, sumOf, valueOf } from './prometheus-text';

const REQUEST_ID = 'ops-e2e-0001';
const expires = () => new Date(Date.now() + 3 * 86_400_000).toUTCString();

interface AdminQueues {
  queues: {
    name: string;
    counts: Record<string, number>;
    oldestWaitingSeconds: number | null;
    completedPerMinute: number;
    failedPerMinute: number;
  }[];
  unavailable: unknown[];
  registrations?: { total: number; byTransport: Record<string, number> };
}

/**
 * docs/operations.md end to end: real app (api + worker) on its own Redis, a local push service scripted to
 * accept, 410, 500-then-accept and 400; then what an operator reads: probes, /metrics, the admin
 * queue view, and the JSON logs with one request id from the HTTP request into the jobs it caused.
 */
describe('operations: probes, metrics, admin queues and logs after real traffic', () => {
  let h: Harness;
  let push: FakePushService;
  let apiKey: string;
  const logs = new LogRecorder();
  const clients: Record<'ok' | 'gone' | 'flaky' | 'bad', WebPushClient> = {} as never;

  const adminQueues = async () =>
    (await (await h.request('GET', '/v1/admin/queues', { token: ADMIN_TOKEN })).json()) as AdminQueues;
  const queueView = async (name: string) => (await adminQueues()).queues.find((q) => q.name === name)!;

  beforeAll(async () => {
    // The delivery goes through a batch job (not inside the fan-out job), so the queue view shows it.
    h = await startHarness({ DAVPUSH_INLINE_DELIVERY_MAX: '0' });
    h.app.useLogger(logs);
    push = await FakePushService.start();
    ({ apiKey } = await h.createTenant('ops.example'));
    for (const k of ['ok', 'gone', 'flaky', 'bad'] as const) {
      clients[k] = push.subscribe();
      const res = await h.request('POST', '/v1/topics/ops-cal/registrations', {
        token: apiKey,
        body: specSampleRegister(clients[k], expires()),
        headers: { 'content-type': 'application/xml' },
      });
      if (res.status !== 201) throw new Error(`register ${k}: ${res.status} ${await res.text()}`);
    }
    push.gone(push.idOf(clients.gone));
    push.script(push.idOf(clients.flaky), [{ status: 500 }]);
    push.script(push.idOf(clients.bad), [{ status: 400, body: 'bad payload' }]);

    const ev = await h.request('POST', '/v1/events', {
      token: apiKey,
      body: { topic: 'ops-cal', changes: ['content'], syncToken: 'sync-1' },
      headers: { 'x-request-id': REQUEST_ID },
    });
    if (ev.status !== 202) throw new Error(`event: ${ev.status} ${await ev.text()}`);
    // Auth failures an operator alerts on, and a dashboard visit whose token must never reach a log.
    await h.request('GET', '/v1/tenants');
    await h.request('GET', '/v1/discovery?topic=x', { token: 'dpk_wrong' });
    await fetch(new URL(`/admin/queues?token=${ADMIN_TOKEN}`, h.baseUrl), { redirect: 'manual' });

    await push.waitFor({ id: push.idOf(clients.ok) });
    await push.waitFor({ id: push.idOf(clients.flaky), count: 2 });
    await push.waitFor({ id: push.idOf(clients.bad) });
    await eventually(async () => (await queueView('dead-letter')).counts.waiting === 1, 10_000, 'one dead letter');
    // One batch job (all four registrations live at one push-service origin) and the retry split off it for the 500.
    await eventually(
      async () => (await queueView('deliver-web-push')).counts.completed >= 2,
      10_000,
      'the batch and the retry finished',
    );
  }, 60_000);

  afterAll(async () => {
    await push?.stop();
    await h?.close();
  });

  it('/health/live is up, /health/ready is ok with Redis, every queue, the backlog and VAPID checked', async () => {
    expect((await h.request('GET', '/health/live')).status).toBe(200);
    const res = await h.request('GET', '/health/ready');
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      status: string;
      details: Record<string, { status: string; answered?: string[] }>;
    };
    expect(body.status).toBe('ok');
    expect(Object.keys(body.details).toSorted()).toEqual(['backlog', 'queues', 'redis', 'vapid']);
    expect(Object.values(body.details).every((d) => d.status === 'up')).toBe(true);
    expect(body.details.queues!.answered).toEqual([...ALL_QUEUES]);
  });

  it('/metrics is Prometheus text whose counters moved with the traffic, labelled by transport and outcome', async () => {
    const res = await h.request('GET', '/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await res.text();
    const m = parsePrometheus(text);
    const wp = { transport: 'web-push' };
    expect(valueOf(m, 'davpush_events_accepted_total')).toBe(1);
    expect(valueOf(m, 'davpush_deliveries_total', { ...wp, outcome: 'accepted' })).toBe(2);
    expect(valueOf(m, 'davpush_deliveries_total', { ...wp, outcome: 'gone' })).toBe(1);
    expect(valueOf(m, 'davpush_deliveries_total', { ...wp, outcome: 'transient' })).toBe(1);
    expect(valueOf(m, 'davpush_deliveries_total', { ...wp, outcome: 'rejected' })).toBe(1);
    expect(valueOf(m, 'davpush_retries_total', { ...wp, outcome: 'transient' })).toBe(1);
    expect(valueOf(m, 'davpush_registrations_pruned_total', { ...wp, reason: 'gone' })).toBe(1);
    expect(valueOf(m, 'davpush_dead_letters_total', { ...wp, reason: 'rejected' })).toBe(1);
    expect(valueOf(m, 'davpush_event_to_accepted_seconds_count', wp)).toBe(2);
    expect(valueOf(m, 'davpush_push_request_seconds_count', wp)).toBe(5);
    // Gauges computed on scrape from Redis.
    expect(valueOf(m, 'davpush_queue_jobs', { queue: 'dead-letter', state: 'waiting' })).toBe(1);
    for (const queue of ALL_QUEUES) {
      for (const state of ['waiting', 'active', 'delayed', 'failed'])
        expect({ queue, state, value: typeof valueOf(m, 'davpush_queue_jobs', { queue, state }) }).toEqual({
          queue,
          state,
          value: 'number',
        });
      expect(valueOf(m, 'davpush_queue_oldest_waiting_seconds', { queue })).toBeTypeOf('number');
    }
    expect(valueOf(m, 'davpush_registrations_live', wp)).toBe(3);
    // The one event's fan-out ran where it was accepted (README "Delivery semantics").
    expect(valueOf(m, 'davpush_fanouts_in_process_total', { result: 'completed' })).toBe(1);
    expect(valueOf(m, 'davpush_fanouts_in_process_total', { result: 'queued' })).toBe(0);
    expect(valueOf(m, 'davpush_registrations_live', { transport: 'fcm' })).toBe(0);
    // HTTP latency by route template, never by path.
    const http = 'davpush_http_request_duration_seconds_count';
    expect(valueOf(m, http, { method: 'POST', route: '/v1/events', status: '202' })).toBe(1);
    expect(valueOf(m, http, { method: 'POST', route: '/v1/topics/:topic/registrations', status: '201' })).toBe(4);
    expect(valueOf(m, http, { method: 'GET', route: '/v1/tenants', status: '401' })).toBe(1);
    expect(sumOf(m, http, { status: '401' })).toBeGreaterThanOrEqual(2);
    expect(m.filter((s) => s.name === http).every((s) => !s.labels.route!.includes('ops-cal'))).toBe(true);
    expect(valueOf(m, 'davpush_process_cpu_seconds_total')).toBeGreaterThan(0);
    // No secret or capability in any series.
    for (const secret of [ADMIN_TOKEN, apiKey, ...Object.values(clients).map((c) => push.idOf(c))])
      expect(text).not.toContain(secret);
  });

  it('GET /v1/admin/queues needs the admin token and shows counts, backlog age and per-minute throughput per queue', async () => {
    expect((await h.request('GET', '/v1/admin/queues')).status).toBe(401);
    expect((await h.request('GET', '/v1/admin/queues', { token: apiKey })).status).toBe(401);
    const view = await adminQueues();
    expect(view.queues.map((q) => q.name)).toEqual([...ALL_QUEUES]);
    expect(view.unavailable).toEqual([]);
    const deliver = view.queues.find((q) => q.name === 'deliver-web-push')!;
    expect(deliver.completedPerMinute).toBe(2);
    expect(deliver.failedPerMinute).toBe(0);
    expect(deliver.counts).toMatchObject({ waiting: 0, active: 0, completed: 2 });
    expect(deliver.oldestWaitingSeconds).toBeNull();
    // The event's fan-out ran in the process that accepted it, without a job (davpush_fanouts_in_process_total).
    expect(view.queues.find((q) => q.name === 'fanout')!.completedPerMinute).toBe(0);
    const dlq = view.queues.find((q) => q.name === 'dead-letter')!;
    expect(dlq.counts.waiting).toBe(1);
    expect(dlq.oldestWaitingSeconds).toBeGreaterThanOrEqual(0);
    expect(view.registrations).toMatchObject({ total: 3, byTransport: { 'web-push': 3, fcm: 0 } });
  });

  it('logs one access line per request and carries the request id into the jobs it caused', () => {
    const access = logs.matching({ msg: 'http request', route: '/v1/events', method: 'POST' });
    expect(access).toHaveLength(1);
    expect(access[0]).toMatchObject({ status: 202, requestId: REQUEST_ID });
    expect(access[0]!.ms).toBeTypeOf('number');
    expect(logs.matching({ msg: 'http request', route: '/v1/tenants', status: 401 })).toHaveLength(1);
    // The worker side of the same request: fan-out, the 500's retry, the 410's prune, the 400's dead letter.
    for (const msg of ['fan-out', 'delivery will be retried', 'registration pruned', 'dead-lettered']) {
      expect({ msg, logged: logs.matching({ msg, requestId: REQUEST_ID }).length > 0 }).toEqual({ msg, logged: true });
    }
    const text = logs.text();
    for (const secret of [ADMIN_TOKEN, apiKey, 'token=', ...Object.values(clients).map((c) => push.idOf(c))])
      expect(text).not.toContain(secret);
  });
});

describe('readiness without a worker: degraded backlog, then shutting down', () => {
  let h: Harness;
  let apiKey: string;

  beforeAll(async () => {
    // No coalescing delay: the fan-out job waits at once (delayed jobs are only promoted by workers).
    h = await startHarness(
      { DAVPUSH_READY_MAX_WAIT_AGE_MS: '1000', DAVPUSH_COALESCE_MS: '0', DAVPUSH_SHUTDOWN_DRAIN_MS: '1500' },
      { api: true, worker: false },
    );
    ({ apiKey } = await h.createTenant());
  });
  afterAll(async () => {
    await h?.close().catch(() => undefined);
  });

  it('turns degraded (200) once a fan-out job waits longer than DAVPUSH_READY_MAX_WAIT_AGE_MS', async () => {
    const ready = async () => {
      const res = await h.request('GET', '/health/ready');
      return {
        status: res.status,
        body: (await res.json()) as { status: string; details: { backlog: { status: string; late?: string[] } } },
      };
    };
    expect((await ready()).body.status).toBe('ok');
    // A topic with a registration: an event for a topic without one queues nothing.
    const c = WebPushClient.create('https://127.0.0.1:9/push/nobody-works');
    const reg = await h.request('POST', '/v1/topics/nobody-works/registrations', {
      token: apiKey,
      body: {
        subscription: {
          type: 'web-push',
          pushResource: c.pushResource,
          publicKey: c.publicKey,
          authSecret: c.authSecret,
        },
      },
    });
    expect(reg.status).toBe(201);
    expect(
      (await h.request('POST', '/v1/events', { token: apiKey, body: { topic: 'nobody-works', changes: ['content'] } }))
        .status,
    ).toBe(202);
    const degraded = await eventually(
      async () => {
        const r = await ready();
        return r.body.status === 'degraded' ? r : undefined;
      },
      10_000,
      'readiness to turn degraded',
    );
    expect(degraded.status).toBe(200);
    expect(degraded.body.details.backlog).toMatchObject({ status: 'degraded', late: ['fanout'] });
    const m = parsePrometheus(await (await h.request('GET', '/metrics')).text());
    expect(valueOf(m, 'davpush_queue_oldest_waiting_seconds', { queue: 'fanout' })).toBeGreaterThan(1);
    expect(valueOf(m, 'davpush_queue_jobs', { queue: 'fanout', state: 'waiting' })).toBe(1);
  });

  it('answers 503 shutting_down while it drains after close() begins, with liveness still up', async () => {
    const closing = h.close();
    await new Promise((r) => setTimeout(r, 200));
    const res = await h.request('GET', '/health/ready');
    expect(res.status).toBe(503);
    expect(((await res.json()) as { status: string }).status).toBe('shutting_down');
    expect((await h.request('GET', '/health/live')).status).toBe(200);
    await closing;
  });
});
