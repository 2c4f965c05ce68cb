import { createECDH, randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ValidRegistration } from '@davpush/domain';
import { RegistrationStore } from '@davpush/storage';
import { useClusterWorld } from './cluster-world';
import { dataMemory } from '../support/redis-memory';

const REGISTRATIONS = 10_000;
const TOPICS = 1_000;

const ecdh = createECDH('prime256v1');
ecdh.generateKeys();

/** A typical Web Push registration (as in libs/storage/src/registration-memory.int-spec.ts): a ~150 B FCM-style endpoint. */
const reg = (i: number, now: number): ValidRegistration => ({
  subscription: {
    type: 'web-push',
    pushResource:
      `https://fcm.googleapis.com/fcm/send/${randomBytes(12).toString('base64url')}:APA91b${randomBytes(80).toString('base64url')}${i}`.slice(
        0,
        152,
      ),
    publicKey: ecdh.getPublicKey('base64url'),
    authSecret: randomBytes(16).toString('base64url'),
    contentEncoding: 'aes128gcm',
  },
  trigger: { contentUpdate: { depth: '1' } },
  expiresAt: now + 7 * 86_400_000,
});

/**
 * The key layout on a real Redis Cluster (docs/cluster.md "Key layout"): 10,000 registrations over
 * 1,000 topics spread over the masters, counted on each master with SCAN, and the memory they take
 * summed over the masters.
 */
describe('registrations spread over the masters of a Redis Cluster', () => {
  const w = useClusterWorld();
  let masters: Redis[] = [];

  beforeAll(async () => {
    const nodes = w.cluster.nodes.map((n) => new Redis({ host: n.host, port: n.port }).on('error', () => undefined));
    const roles = await Promise.all(nodes.map(async (r) => ((await r.call('ROLE')) as string[])[0]));
    masters = nodes.filter((_, i) => roles[i] === 'master');
    nodes.filter((_, i) => roles[i] !== 'master').forEach((r) => r.disconnect());
  });
  // Registered after the world's: runs before it stops the cluster.
  afterAll(() => masters.forEach((r) => r.disconnect()));

  /**
   * `used_memory` less the replication and client buffers, which fill with the stream of writes
   * rather than with the data (the replication backlog grows to `repl-backlog-size`, 1 MB, per master).
   */
  const usedMemory = dataMemory;

  /** Registrations stored on one master: the fields of the topic hashes (`{tag}:r`) it holds. */
  async function registrationsOn(r: Redis): Promise<{ keys: number; registrations: number }> {
    let cursor = '0';
    let keys = 0;
    let registrations = 0;
    do {
      const [next, found] = await r.scan(cursor, 'MATCH', '{*}:r', 'COUNT', 1000);
      cursor = next;
      keys += found.length;
      for (const k of found) registrations += await r.hlen(k);
    } while (cursor !== '0');
    return { keys, registrations };
  }

  it(`puts no more than half of ${REGISTRATIONS.toLocaleString('en')} registrations over ${TOPICS.toLocaleString('en')} topics on one master`, async () => {
    expect(masters).toHaveLength(3);
    const store = w.h.app.get(RegistrationStore);
    const now = Date.now();
    await store.upsert('warm', 'up', reg(-1, now), undefined, now);
    const before = await Promise.all(masters.map(usedMemory));
    for (let i = 0; i < REGISTRATIONS; i += 250) {
      const results = await Promise.all(
        Array.from({ length: 250 }, (_, j) =>
          store.upsert('tenant0123456789abcdef', `calendar-${(i + j) % TOPICS}`, reg(i + j, now), undefined, now),
        ),
      );
      expect(results.every((r) => r.status === 'created')).toBe(true);
    }
    // Replication buffers hold writes until the replicas have them: measured once they do.
    await Promise.all(masters.map((r) => r.call('WAIT', '1', '5000')));
    await new Promise((r) => setTimeout(r, 1000));
    const after = await Promise.all(masters.map(usedMemory));
    const spread = await Promise.all(masters.map(registrationsOn));
    const perRegistration = Math.round(after.reduce((sum, m, i) => sum + m - before[i]!, 0) / REGISTRATIONS);
    process.stdout.write(
      `registrations per master: ${spread.map((s) => `${s.registrations} in ${s.keys} topic hashes`).join(', ')}; Redis per registration over the masters: ${perRegistration} B\n`,
    );
    expect(spread.reduce((sum, s) => sum + s.registrations, 0)).toBe(REGISTRATIONS + 1);
    for (const s of spread) expect(s.registrations).toBeLessThanOrEqual(REGISTRATIONS / 2);
    // The compact record stays compact on the cluster (docs/cluster.md "Key layout").
    expect(perRegistration).toBeLessThanOrEqual(500);
  }, 180_000);
});
