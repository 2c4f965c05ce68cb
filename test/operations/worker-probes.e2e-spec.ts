import { type INestApplication, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '@davpush/config';
import { ProbesModule } from '@davpush/observability';
import { CoreModule } from '@davpush/runtime';
import { WorkerModule } from '../../apps/worker/src';
import { FakePushService } from '../support/fake-push-service';
import { specSampleRegister } from '../e2e/push-documents';
import { ADMIN_TOKEN, freePort, startHarness, type Harness } from '../e2e/harness';
import { parsePrometheus, valueOf } from './prometheus-text';

/**
 * Scale-out (`npm run start:api` + `npm run start:worker`): each process has its own /metrics.
 * The worker's app is composed as apps/worker/src/main.ts does (CoreModule + WorkerModule +
 * ProbesModule on DAVPUSH_WORKER_PORT); the api is the harness with the worker role off.
 */
describe('a worker started alone serves probes and its own metrics', () => {
  let api: Harness;
  let worker: INestApplication;
  let workerUrl: string;
  let push: FakePushService;
  let dataDir: string;

  beforeAll(async () => {
    api = await startHarness({}, { api: true, worker: false });
    push = await FakePushService.start();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'davpush-worker-'));
    const port = await freePort();
    const config = loadConfig({
      HOST: '127.0.0.1',
      REDIS_URL: api.redis.url,
      DAVPUSH_DATA_DIR: dataDir,
      DAVPUSH_ADMIN_TOKEN: ADMIN_TOKEN,
      DAVPUSH_VAPID_SUBJECT: 'mailto:ops@davpush.test',
      DAVPUSH_ALLOW_PRIVATE_PUSH_ENDPOINTS: '1',
      DAVPUSH_COALESCE_MS: '50',
      DAVPUSH_WORKER_PORT: String(port),
    });
    @Module({ imports: [CoreModule.forRoot(config), WorkerModule, ProbesModule] })
    class WorkerRoot {}
    worker = await NestFactory.create(WorkerRoot, { bodyParser: false, logger: false, abortOnError: false });
    await worker.listen(config.operations.workerPort, config.http.host);
    workerUrl = `http://127.0.0.1:${port}`;
  }, 60_000);

  afterAll(async () => {
    await worker?.close();
    await push?.stop();
    await api?.close();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const scrape = async (base: string) => parsePrometheus(await (await fetch(`${base}/metrics`)).text());

  it('answers /health/live and /health/ready on its own port, and nothing of the API', async () => {
    expect((await fetch(`${workerUrl}/health/live`)).status).toBe(200);
    const ready = await fetch(`${workerUrl}/health/ready`);
    expect(ready.status).toBe(200);
    expect(((await ready.json()) as { status: string }).status).toBe('ok');
    expect(
      (await fetch(`${workerUrl}/v1/tenants`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).status,
    ).toBe(404);
    expect((await fetch(`${workerUrl}/admin/queues?token=${ADMIN_TOKEN}`, { redirect: 'manual' })).status).toBe(404);
  });

  it('counts deliveries in the worker process and events in the api process; both see the shared queues', async () => {
    const { apiKey } = await api.createTenant();
    const client = push.subscribe();
    await api.request('POST', '/v1/topics/split/registrations', {
      token: apiKey,
      body: specSampleRegister(client, new Date(Date.now() + 3 * 86_400_000).toUTCString()),
      headers: { 'content-type': 'application/xml' },
    });
    expect(
      (await api.request('POST', '/v1/events', { token: apiKey, body: { topic: 'split', changes: ['content'] } }))
        .status,
    ).toBe(202);
    await push.waitFor({ id: push.idOf(client) });

    const [w, a] = await Promise.all([scrape(workerUrl), scrape(api.baseUrl)]);
    expect(valueOf(w, 'davpush_deliveries_total', { transport: 'web-push', outcome: 'accepted' })).toBe(1);
    // Every known series is exported from the start, at zero, in every process.
    expect(valueOf(a, 'davpush_deliveries_total', { transport: 'web-push', outcome: 'accepted' })).toBe(0);
    expect(valueOf(a, 'davpush_events_accepted_total')).toBe(1);
    expect(valueOf(w, 'davpush_events_accepted_total')).toBe(0);
    for (const m of [w, a]) {
      expect(valueOf(m, 'davpush_queue_jobs', { queue: 'deliver-web-push', state: 'waiting' })).toBe(0);
      expect(valueOf(m, 'davpush_registrations_live', { transport: 'web-push' })).toBe(1);
    }
  });
});
