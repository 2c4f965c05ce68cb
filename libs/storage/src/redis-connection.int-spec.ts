import { createECDH, randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '@davpush/config';
import { StorageUnavailableError } from '@davpush/domain';
import { RedisServer } from '../../../test/support/redis-server';
import { DeliveryLedger } from './delivery-ledger';
import { DispatchStore } from './dispatch.store';
import { dispatchKeys } from './keys';
import { RedisService, StorageTimeoutError } from './redis.service';
import { RegistrationStore } from './registration.store';
import { ReplicaAck, ReplicationTimeoutError } from './replica-ack';

const COMMAND_TIMEOUT_MS = 300;
const ecdh = createECDH('prime256v1');
ecdh.generateKeys();

/**
 * DAVPUSH_REDIS_COMMAND_TIMEOUT_MS on a real redis-server frozen with SIGSTOP: the process lives and
 * its socket stays open, but nothing answers (a hung server, a silent network partition).
 */
describe('the stores’ Redis client when Redis stops answering', () => {
  let server: RedisServer;
  let redis: RedisService;
  let registrations: RegistrationStore;
  let sut: DeliveryLedger;

  const freeze = () => process.kill(server.pid!, 'SIGSTOP');
  const thaw = () => {
    if (server?.pid) process.kill(server.pid, 'SIGCONT');
  };

  beforeAll(async () => {
    server = await RedisServer.start();
    const config = loadConfig({ REDIS_URL: server.url, DAVPUSH_REDIS_COMMAND_TIMEOUT_MS: String(COMMAND_TIMEOUT_MS) });
    redis = new RedisService(config);
    registrations = new RegistrationStore(redis);
    sut = new DeliveryLedger(redis, new DispatchStore(redis, registrations, config), registrations);
  });
  // Never leave a stopped redis-server behind, whatever a test did.
  afterEach(thaw);
  afterAll(async () => {
    thaw();
    await redis?.onApplicationShutdown();
    await server?.stop();
  });

  const register = async (n: number): Promise<string[]> => {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const { id } = await registrations.upsert(
        't1',
        'cal',
        {
          subscription: {
            type: 'web-push',
            pushResource: `https://push.example/${randomBytes(6).toString('hex')}`,
            publicKey: ecdh.getPublicKey('base64url'),
            authSecret: randomBytes(16).toString('base64url'),
            contentEncoding: 'aes128gcm',
          },
          trigger: { contentUpdate: { depth: '1' } },
          expiresAt: Date.now() + 86_400_000,
        },
        undefined,
      );
      ids.push(id);
    }
    return ids;
  };

  interface Settled {
    /** `performance.now()` when the call was made and when it settled; `ms` between the two. */
    start: number;
    end: number;
    ms: number;
    /** Its rejection, undefined when it resolved. */
    error?: unknown;
  }
  const timed = async (p: Promise<unknown>): Promise<Settled> => {
    const start = performance.now();
    let error: unknown;
    try {
      await p;
    } catch (err) {
      error = err;
    }
    const end = performance.now();
    return { start, end, ms: end - start, error };
  };

  it('fails a settlement, a read and a MULTI within about the command timeout, as a 503 storage timeout', async () => {
    const [id] = await register(1);
    await sut.recordAccepted('d-read', id!); // Redis learns the script: what follows is the hot path's EVALSHA
    freeze();
    try {
      const [settled, read, handedOff] = await Promise.all([
        timed(sut.recordAccepted('d1', id!)),
        timed(registrations.get(id!)),
        timed(sut.handOff('b-d1', [id!])),
      ]);
      for (const { ms, error } of [settled, read, handedOff]) {
        expect(error).toBeInstanceOf(Error);
        expect((error as Error).message).toBe('Command timed out');
        expect(ms).toBeGreaterThanOrEqual(COMMAND_TIMEOUT_MS - 5);
        expect(ms).toBeLessThan(COMMAND_TIMEOUT_MS + 1500);
      }
      // The connection never dropped: only the timeout says Redis is not answering.
      expect(redis.client.status).toBe('ready');
      const answered = redis.asDomainError(settled.error);
      expect(answered).toBeInstanceOf(StorageTimeoutError);
      expect(answered).toBeInstanceOf(StorageUnavailableError);
      expect((answered as StorageTimeoutError).message).toMatch(/did not answer within 300 ms/);
    } finally {
      thaw();
    }
  });

  it('goes on with later settlements once Redis answers again: a write that timed out does not hold up the group commit', async () => {
    const ids = await register(3);
    await sut.recordAccepted('d-prime', ids[2]!); // Redis knows the script: the frozen EVALSHAs run once it resumes
    freeze();
    let stalled: Settled[];
    try {
      const first = timed(sut.recordAccepted('d2', ids[0]!));
      // Let the first write go out: the second call waits for it, then goes in a write of its own.
      await new Promise((r) => setTimeout(r, 20));
      const second = timed(sut.recordAccepted('d2', ids[1]!));
      stalled = await Promise.all([first, second]);
    } finally {
      thaw();
    }
    expect(stalled.map((s) => (s.error as Error | undefined)?.message)).toEqual([
      'Command timed out',
      'Command timed out',
    ]);
    // One write after the other, each bounded: the second waited for the first, then timed out itself.
    const [first, second] = stalled;
    expect(second!.end - first!.start).toBeGreaterThanOrEqual(2 * COMMAND_TIMEOUT_MS - 5);
    expect(second!.end - first!.start).toBeLessThan(2 * COMMAND_TIMEOUT_MS + 1500);

    expect((await timed(sut.recordAccepted('d2', ids[2]!))).error).toBeUndefined();
    // The timed-out writes had reached Redis' socket: they ran once it resumed. That is why a
    // timeout answers "may or may not have taken effect" (StorageTimeoutError), not "nothing was accepted".
    expect(Number(await redis.client.hget(dispatchKeys('d2').record, 'accepted'))).toBe(3);
    expect((await registrations.get(ids[0]!))?.lastSuccessAt).toBeGreaterThan(0);
  });

  it('lets Redis WAIT run to its own timeout on the same client (DAVPUSH_DURABILITY_TIMEOUT_MS below the command timeout)', async () => {
    const durabilityMs = 300;
    const config = loadConfig({
      REDIS_URL: server.url,
      DAVPUSH_DURABILITY: 'replicated',
      DAVPUSH_DURABILITY_TIMEOUT_MS: String(durabilityMs),
      DAVPUSH_REDIS_COMMAND_TIMEOUT_MS: String(durabilityMs + 1000),
    });
    const replicated = new RedisService(config);
    try {
      await replicated.client.set('written', '1');
      // No replica here: WAIT answers 0 after its timeout, long before the command timeout.
      const { ms, error } = await timed(new ReplicaAck(replicated, config).afterWrites());
      expect(error).toBeInstanceOf(ReplicationTimeoutError);
      expect((error as Error).message).toMatch(/no Redis replica acknowledged the write within 300 ms/);
      expect(ms).toBeGreaterThanOrEqual(durabilityMs - 5);
      expect(ms).toBeLessThan(durabilityMs + 1000);
    } finally {
      await replicated.onApplicationShutdown();
    }
  });
});
