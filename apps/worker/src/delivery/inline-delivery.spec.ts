import { describe, expect, it } from 'vitest';
import type { AppConfig } from '@davpush/config';
import type { OriginGate } from '@davpush/gateways';
import type { DeliverBatchJobData, JobPublisher } from '@davpush/queue';
import type { DeliveryService } from './delivery.service';
import { InlineDelivery, type RoutedBatch } from './inline-delivery';

/**
 * Which batches of a small fan-out are delivered inline and which are queued: a fan-out job (it
 * holds a worker slot) only for its share of the slots and a turn that comes at once; an in-process
 * fan-out that gave its slot back while its origin's line has room.
 */
describe('InlineDelivery', () => {
  const setup = (o: { answering?: boolean; turnNow?: boolean; lineRoom?: boolean; slots?: number } = {}) => {
    const sent: string[] = [];
    const queued: string[] = [];
    const holds: (() => void)[] = [];
    const delivery = {
      hasTurnNow: () => o.turnNow ?? true,
      lineHasRoom: () => o.lineRoom ?? true,
      // Each inline batch waits until the test lets it finish: it holds its place meanwhile.
      attemptBatch: (batch: DeliverBatchJobData) =>
        new Promise<void>((resolve) =>
          holds.push(() => {
            sent.push(batch.registrationIds[0]!);
            resolve();
          }),
        ),
    } as unknown as DeliveryService;
    const gate = { answering: () => o.answering ?? true, answersPerSecond: () => 1000 } as unknown as OriginGate;
    const publisher = {
      deliverBatches: async (_t: string, batches: DeliverBatchJobData[]) =>
        void queued.push(...batches.map((b) => b.registrationIds[0]!)),
    } as unknown as JobPublisher;
    const config = { fanoutConcurrency: o.slots ?? 4 } as AppConfig;
    const sut = new InlineDelivery(config, delivery, gate, publisher);
    return { sut, sent, queued, holds };
  };
  const batch = (id: string): RoutedBatch => ({
    origin: 'https://push.example',
    batch: {
      dispatchId: `d-${id}`,
      registrationIds: [id],
      tenantId: 't',
      topic: id,
      kinds: ['content'],
      urgency: 'high',
      deadline: Date.now() + 60_000,
      acceptedAt: Date.now(),
      route: 'r',
    },
  });
  const settle = () => new Promise((r) => setImmediate(r));

  it('a fan-out job: at most half the fan-out slots deliver to one origin at once, the others queue their batches', async () => {
    const { sut, sent, queued, holds } = setup({ slots: 4 });
    const runs = ['a', 'b', 'c'].map((id) => sut.deliver([batch(id)], new Map()));
    await settle();
    expect(queued).toEqual(['c']);
    holds.forEach((finish) => finish());
    await Promise.all(runs);
    expect(sent.toSorted()).toEqual(['a', 'b']);
  });

  it('a fan-out job queues a batch whose turn would not come at once', async () => {
    const { sut, queued } = setup({ turnNow: false });
    await sut.deliver([batch('a')], new Map());
    expect(queued).toEqual(['a']);
  });

  it('an in-process fan-out waits in the line of a busy origin, past the share of slots and past its turn', async () => {
    const { sut, sent, queued, holds } = setup({ slots: 4, turnNow: false });
    const runs = ['a', 'b', 'c', 'd', 'e'].map((id) => sut.deliver([batch(id)], new Map(), true));
    await settle();
    expect(queued).toEqual([]);
    holds.forEach((finish) => finish());
    await Promise.all(runs);
    expect(sent.toSorted()).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('at most twice the fan-out slots of in-process fan-outs wait on one origin; the next is queued until one is done', async () => {
    const { sut, queued, holds } = setup({ slots: 2 });
    const runs = ['a', 'b', 'c', 'd', 'e'].map((id) => sut.deliver([batch(id)], new Map(), true));
    await settle();
    expect(queued).toEqual(['e']);
    holds[0]!();
    await runs[0];
    const f = sut.deliver([batch('f')], new Map(), true);
    await settle();
    expect(queued).toEqual(['e']);
    holds.slice(1).forEach((finish) => finish());
    await Promise.all([...runs, f]);
  });

  it("an in-process fan-out queues its batch when the origin's line is full, or the origin does not answer", async () => {
    const full = setup({ lineRoom: false });
    await full.sut.deliver([batch('a')], new Map(), true);
    expect(full.queued).toEqual(['a']);
    const silent = setup({ answering: false });
    await silent.sut.deliver([batch('b')], new Map(), true);
    expect(silent.queued).toEqual(['b']);
  });
});
