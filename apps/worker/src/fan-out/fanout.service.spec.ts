import { describe, expect, it } from 'vitest';
import type { AppConfig } from '@davpush/config';
import type { ChangeEvent, Subscription, Transport } from '@davpush/domain';
import type { PushGatewayRegistry } from '@davpush/gateways';
import type { DeliverBatchJobData, JobPublisher } from '@davpush/queue';
import type { DispatchStore, RegistrationTarget } from '@davpush/storage';
import type { InlineDelivery, RoutedBatch } from '../delivery/inline-delivery';
import { FanoutService } from './fanout.service';

const event: ChangeEvent = {
  id: 'e1',
  tenantId: 't1',
  topic: 'cal',
  changes: ['content'],
  syncToken: 's1',
  urgency: 'normal',
  ttl: 600,
  dontNotify: [],
  receivedAt: Date.now(),
};
const webPush = (id: string, origin: string): RegistrationTarget => {
  const subscription: Subscription = {
    type: 'web-push',
    pushResource: `${origin}/push/${id}`,
    publicKey: 'k',
    authSecret: 'a',
    contentEncoding: 'aes128gcm',
  };
  const trigger = { contentUpdate: { depth: '1' } } as const;
  return {
    id,
    trigger,
    transport: 'web-push',
    subscription,
    // As DispatchStore.claimAndList reads the first page: with the whole registration.
    registration: {
      id,
      tenantId: 't1',
      topic: 'cal',
      subscription,
      trigger,
      expiresAt: 0,
      createdAt: 0,
      updatedAt: 0,
      consecutiveFailures: 0,
    },
  };
};
const fcm = (id: string): RegistrationTarget => ({
  id,
  trigger: { contentUpdate: { depth: '1' } },
  transport: 'fcm',
  subscription: { type: 'fcm', token: id } as Subscription,
});

/** The fan-out over in-memory stand-ins: which batch jobs does it queue? */
function run(
  targets: RegistrationTarget[],
  transports: Transport[],
  opts: {
    vanished?: string[];
    complete?: boolean;
    dontNotify?: string[];
    originsReady?: boolean;
    steps?: string[];
  } = {},
) {
  const published: { transport: Transport; batch: DeliverBatchJobData }[] = [];
  const marks: unknown[][] = [];
  const settled: unknown[][] = [];
  const vanished = opts.vanished ?? [];
  const targetsPage = async (_d: string, cursor: number, size: number) => {
    const page = targets.slice(cursor, cursor + size);
    return {
      targets: page,
      vanished: cursor === 0 ? vanished : [],
      read: page.length + (cursor === 0 ? vanished.length : 0),
    };
  };
  const dispatches = {
    // As the script answers: a complete dispatch's events were emptied when it completed.
    claimAndList: async (_t: string, _p: string, d: string, _now: number, _w: number, size: number) => ({
      events: opts.complete ? [] : [{ ...event, dontNotify: opts.dontNotify ?? [] }],
      complete: opts.complete ?? false,
      listed: opts.complete ? 0 : targets.length + vanished.length,
      first: await targetsPage(d, 0, size),
    }),
    recordProgress: async (...args: unknown[]) => void marks.push(args),
    settle: async (...args: unknown[]) => void settled.push(args),
    targetsPage,
  } as unknown as DispatchStore;
  const publisher = {
    deliverBatches: async (transport: Transport, batches: DeliverBatchJobData[]) =>
      void batches.forEach((batch) => published.push({ transport, batch })),
  } as unknown as JobPublisher;
  const gateway = (t: Transport) => ({
    batchSize: t === 'fcm' ? 500 : 50,
    routeKey: (s: Subscription) => (s.type === 'web-push' ? new URL(s.pushResource).origin : 'fcm'),
  });
  const gateways = {
    transports: () => transports,
    for: (t: Transport) => {
      if (!transports.includes(t)) throw new Error(`transport ${t} is not configured`);
      return gateway(t);
    },
  } as unknown as PushGatewayRegistry;
  // Inline delivery as it behaves with every origin ready (delivered here) or none (all queued).
  const inlined: RoutedBatch[] = [];
  const read: string[] = [];
  const waited: boolean[] = [];
  const inline = {
    deliver: async (batches: RoutedBatch[], registrations: ReadonlyMap<string, unknown>, waitsInLine = false) => {
      read.push(...registrations.keys());
      waited.push(waitsInLine);
      opts.steps?.push('deliver');
      if (opts.originsReady) inlined.push(...batches);
      else
        await publisher.deliverBatches(
          'web-push',
          batches.map((b) => b.batch),
        );
      return opts.originsReady ? batches.length : 0;
    },
  } as unknown as InlineDelivery;
  return {
    sut: new FanoutService(
      { coalesceMs: 1000, inlineDeliveryMax: 50 } as AppConfig,
      dispatches,
      publisher,
      gateways,
      inline,
    ),
    published,
    marks,
    settled,
    inlined,
    read,
    waited,
  };
}

describe('FanoutService batches', () => {
  it('skips registrations whose CC/CD 70025 client id the event names, and only those', async () => {
    const mine = { ...webPush('w1', 'https://push-a.example'), clientId: 'xyz' };
    const other = { ...fcm('f1'), clientId: 'abc' };
    const none = webPush('w2', 'https://push-a.example');
    const { sut, published } = run([mine, other, none], ['web-push', 'fcm'], { dontNotify: ['client:xyz'] });
    expect(await sut.fanOut('d1', { tenantId: 't1', topic: 'cal' })).toEqual({ queued: 2, skipped: 1 });
    expect(published.flatMap((p) => p.batch.registrationIds).toSorted()).toEqual(['f1', 'w2']);
  });

  it('groups Web Push by push-service origin, at most 50 per batch, and FCM up to 500', async () => {
    const targets = [
      ...Array.from({ length: 120 }, (_, i) => webPush(`a${i}`, 'https://push-a.example')),
      ...Array.from({ length: 3 }, (_, i) => webPush(`b${i}`, 'https://push-b.example')),
      ...Array.from({ length: 700 }, (_, i) => fcm(`f${i}`)),
    ];
    const { sut, published } = run(targets, ['web-push', 'fcm']);
    expect(await sut.fanOut('d1', { tenantId: 't1', topic: 'cal' })).toEqual({ queued: 823, skipped: 0 });
    const sizes = published.map(
      ({ transport, batch }) => `${transport}:${batch.registrationIds[0]!.charAt(0)}:${batch.registrationIds.length}`,
    );
    expect(sizes.toSorted()).toEqual(
      ['fcm:f:200', 'fcm:f:500', 'web-push:a:20', 'web-push:a:50', 'web-push:a:50', 'web-push:b:3'].toSorted(),
    );
    // Every registration exactly once.
    expect(published.flatMap((p) => p.batch.registrationIds).toSorted()).toEqual(targets.map((t) => t.id).toSorted());
  });

  it('skips registrations of a transport that is no longer configured, and still delivers the rest', async () => {
    const { sut, published, marks } = run([fcm('f1'), webPush('w1', 'https://push-a.example')], ['web-push']);
    expect(await sut.fanOut('d1', { tenantId: 't1', topic: 'cal' })).toEqual({ queued: 1, skipped: 1 });
    expect(published.map((p) => p.batch.registrationIds)).toEqual([['w1']]);
    expect(marks.at(-1)!.slice(2)).toEqual([{ queued: 1, skipped: 1, complete: true }]);
  });

  it('counts registrations removed since the list was made, and settles them as skipped', async () => {
    const { sut, published, marks, settled } = run([webPush('w1', 'https://push-a.example')], ['web-push'], {
      vanished: ['gone-1'],
    });
    expect(await sut.fanOut('d1', { tenantId: 't1', topic: 'cal' })).toEqual({ queued: 2, skipped: 0 });
    expect(published.map((p) => p.batch.registrationIds)).toEqual([['w1']]);
    expect(settled).toEqual([['d1', 'gone-1', 'skipped']]);
    expect(marks.at(-1)!.slice(2)).toEqual([{ queued: 2, skipped: 0, complete: true }]);
  });

  it('does nothing again for a dispatch whose fan-out already finished', async () => {
    const { sut, published, marks } = run([webPush('w1', 'https://push-a.example')], ['web-push'], { complete: true });
    expect(await sut.fanOut('d1', { tenantId: 't1', topic: 'cal' })).toEqual({ queued: 0, skipped: 0 });
    expect(published).toEqual([]);
    expect(marks).toEqual([]);
  });

  it("hands a topic of at most one Web Push batch to inline delivery, with each batch's origin, and marks it complete after", async () => {
    const targets = [
      webPush('w1', 'https://push-a.example'),
      webPush('w2', 'https://push-b.example'),
      webPush('w3', 'https://push-a.example'),
    ];
    const { sut, published, inlined, marks, read } = run(targets, ['web-push'], { originsReady: true });
    expect(await sut.fanOut('d1', { tenantId: 't1', topic: 'cal' })).toEqual({ queued: 3, skipped: 0 });
    expect(published).toEqual([]);
    expect(inlined.map((b) => `${b.origin} ${b.batch.registrationIds.join(',')}`).toSorted()).toEqual([
      'https://push-a.example w1,w3',
      'https://push-b.example w2',
    ]);
    expect(marks.map((m) => (m[2] as { complete: boolean }).complete)).toEqual([false, true]);
    // Sent with the registrations as the fan-out read them, not read again.
    expect(read.toSorted()).toEqual(['w1', 'w2', 'w3']);
  });

  it('tells an in-process caller when only inline delivery is left, before it starts, and lets its batches wait in line', async () => {
    const steps: string[] = [];
    const { sut, waited, marks } = run([webPush('w1', 'https://push-a.example')], ['web-push'], {
      originsReady: true,
      steps,
    });
    await sut.fanOut(
      'd1',
      { tenantId: 't1', topic: 'cal' },
      { onDelivering: () => steps.push(`marks ${marks.length}`) },
    );
    // Called once, after the fan-out's own work (its first progress write is under way), before delivery.
    expect(steps).toEqual(['marks 1', 'deliver']);
    expect(waited).toEqual([true]);
    // A fan-out job holds its slot: its batches do not wait in line.
    const job = run([webPush('w1', 'https://push-a.example')], ['web-push'], { originsReady: true });
    await job.sut.fanOut('d1', { tenantId: 't1', topic: 'cal' });
    expect(job.waited).toEqual([false]);
    // A fan-out that queues its batches is not told: it holds its slot to the end.
    const told: string[] = [];
    const big = run(
      Array.from({ length: 51 }, (_, i) => webPush(`a${i}`, 'https://push-a.example')),
      ['web-push'],
      { originsReady: true },
    );
    await big.sut.fanOut('d1', { tenantId: 't1', topic: 'cal' }, { onDelivering: () => told.push('told') });
    expect([told, big.published.length]).toEqual([[], 2]);
  });

  it('queues instead of delivering inline on a re-run, past one batch, or with FCM registrations', async () => {
    const one = [webPush('w1', 'https://push-a.example')];
    const rerun = run(one, ['web-push'], { originsReady: true });
    await rerun.sut.fanOut('d1', { tenantId: 't1', topic: 'cal' }, { rerun: true });
    expect([rerun.inlined.length, rerun.published.length]).toEqual([0, 1]);
    const big = run(
      Array.from({ length: 51 }, (_, i) => webPush(`a${i}`, 'https://push-a.example')),
      ['web-push'],
      { originsReady: true },
    );
    await big.sut.fanOut('d1', { tenantId: 't1', topic: 'cal' });
    expect([big.inlined.length, big.published.length]).toEqual([0, 2]);
    const mixed = run([...one, fcm('f1')], ['web-push', 'fcm'], { originsReady: true });
    await mixed.sut.fanOut('d1', { tenantId: 't1', topic: 'cal' });
    expect([mixed.inlined.length, mixed.published.length]).toEqual([0, 2]);
  });
});
