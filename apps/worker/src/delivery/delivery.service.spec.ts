import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AppConfig } from '@davpush/config';
import type { Registration } from '@davpush/domain';
import { OriginGate, type PushGatewayRegistry } from '@davpush/gateways';
import type { PushMetrics } from '@davpush/observability';
import type { DeliverBatchJobData, JobPublisher } from '@davpush/queue';
import type { DeliveryLedger, RegistrationStore, SecretStore } from '@davpush/storage';
import type { DeliveryOutcomes } from './delivery-outcomes';
import { DeliveryService } from './delivery.service';

const ORIGIN = 'https://push.example';

const registration = (id: string): Registration => ({
  id,
  tenantId: 't1',
  topic: 'cal',
  subscription: {
    type: 'web-push',
    pushResource: `${ORIGIN}/p/${id}`,
    publicKey: 'k',
    authSecret: 'a',
    contentEncoding: 'aes128gcm',
  },
  trigger: { content: true, property: false, depth: 'infinite' } as unknown as Registration['trigger'],
  expiresAt: Date.now() + 3_600_000,
  createdAt: 0,
  updatedAt: 0,
  consecutiveFailures: 0,
});

/**
 * A batch delivered inline uses the registrations its fan-out read and skips the settled/handed-off
 * lookup (FreshBatch), but only while that read is fresh: one that waited over a second for its
 * origin's turn is checked again like a batch job.
 */
describe('DeliveryService with a batch delivered inline', () => {
  afterEach(() => vi.useRealTimers());

  const setup = async () => {
    const lookedUp: string[][] = [];
    const reread: string[][] = [];
    const sent: string[] = [];
    const held = new Map<string, () => void>();
    const ledger = {
      unsettled: async (_d: string, _b: string, ids: string[]) => (lookedUp.push(ids), ids),
    } as unknown as DeliveryLedger;
    const registrations = {
      getMany: async (ids: string[]) => (reread.push(ids), ids.map(registration)),
    } as unknown as RegistrationStore;
    const secrets = { topicKey: async () => Buffer.alloc(32, 1) } as unknown as SecretStore;
    const gateways = {
      for: () => ({
        routeKey: () => ORIGIN,
        // Pushes whose id starts with "hold" are prepared only when the test lets them.
        prepare: async (ready: { registration: Registration }) => {
          const id = ready.registration.id;
          if (id.startsWith('hold')) await new Promise<void>((r) => held.set(id, r));
          return { transmit: async () => (sent.push(id), { kind: 'accepted' }) };
        },
      }),
    } as unknown as PushGatewayRegistry;
    const outcomes = { handle: async () => ({ done: 'accepted' }) } as unknown as DeliveryOutcomes;
    const metrics = { delivery: () => undefined } as unknown as PushMetrics;
    const config = { delivery: { originConcurrency: 1 } } as AppConfig;
    const sut = new DeliveryService(
      config,
      registrations,
      ledger,
      secrets,
      gateways,
      {} as JobPublisher,
      metrics,
      new OriginGate(),
      outcomes,
    );
    await sut.onModuleInit();
    return { sut, lookedUp, reread, sent, held };
  };
  const batch = (ids: string[]): DeliverBatchJobData => ({
    dispatchId: 'd1',
    registrationIds: ids,
    tenantId: 't1',
    topic: 'cal',
    kinds: ['content'],
    urgency: 'high',
    deadline: Date.now() + 60_000,
    acceptedAt: Date.now(),
    route: 'route-1',
  });
  const fresh = (ids: string[]) => ({ registrations: new Map(ids.map((id) => [id, registration(id)])) });

  it('sends a batch whose turn comes at once with what the fan-out read: no lookup, no re-read', async () => {
    const { sut, lookedUp, reread, sent } = await setup();
    await sut.attemptBatch(batch(['a', 'b']), 'job-1', Date.now(), fresh(['a', 'b']));
    expect([lookedUp, reread, sent.toSorted()]).toEqual([[], [], ['a', 'b']]);
  });

  it('looks a batch up and reads it again when it waited over a second for its turn', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    const { sut, lookedUp, reread, sent, held } = await setup();
    // A batch job takes the origin's whole turn (100 pushes with one slot) and is slow to prepare.
    const ahead = Array.from({ length: 100 }, (_, i) => `hold-${i}`);
    const first = sut.attemptBatch(batch(ahead), 'job-ahead');
    const late = sut.attemptBatch(batch(['c']), 'job-late', Date.now(), fresh(['c']));
    await new Promise((r) => setImmediate(r));
    expect(sent).toEqual([]);
    vi.setSystemTime(Date.now() + 1500);
    for (const release of held.values()) release();
    await Promise.all([first, late]);
    expect(sent).toContain('c');
    // The batch job ahead was looked up as always; the late one too, once its read had gone stale.
    expect(lookedUp).toEqual([ahead, ['c']]);
    expect(reread).toEqual([ahead, ['c']]);
  });
});
