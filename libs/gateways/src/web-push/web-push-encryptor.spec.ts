import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '@davpush/config';
import { WebPushClient } from '../../../../test/support/webpush-client';
import { EncryptionError, WebPushEncryptor, type EncryptInput } from './web-push-encryptor';

const input = (client: WebPushClient, payload: string): EncryptInput => ({
  endpoint: client.pushResource,
  p256dh: client.publicKey,
  auth: client.authSecret,
  payload,
  options: {
    TTL: 60,
    urgency: 'high',
    topic: 'Kq0nF4p1ZbXwT6yN3mR8sV2cH5jL7dGa',
    contentEncoding: 'aes128gcm',
    headers: { Authorization: 'vapid t=x, k=y' },
  },
});

describe.each([0, 1, 2])('WebPushEncryptor with %i encryption threads', (threads) => {
  let sut: WebPushEncryptor | undefined;
  afterEach(async () => {
    await sut?.onApplicationShutdown();
  });

  it('builds requests each recipient decrypts to its own message, with the RFC 8030 headers', async () => {
    sut = new WebPushEncryptor(loadConfig({ DAVPUSH_ENCRYPT_THREADS: String(threads) }));
    expect(sut.threads).toBe(0); // none until the first push
    const clients = Array.from({ length: 60 }, (_, i) => WebPushClient.create(`https://push.example/${i}`));
    const requests = await Promise.all(
      clients.map((c, i) => sut!.encrypt(input(c, `<push-message>${i}</push-message>`))),
    );
    expect(sut.threads).toBe(threads);
    requests.forEach((r, i) => {
      expect(clients[i]!.decrypt(r.body)).toBe(`<push-message>${i}</push-message>`);
      expect(r.headers).toMatchObject({
        TTL: 60,
        Urgency: 'high',
        Topic: 'Kq0nF4p1ZbXwT6yN3mR8sV2cH5jL7dGa',
        'Content-Encoding': 'aes128gcm',
        Authorization: 'vapid t=x, k=y',
      });
      expect(r.headers['Content-Length']).toBe(r.body.length);
    });
    // A fresh ephemeral key per message, even for the same recipient.
    const again = await sut.encrypt(input(clients[0]!, 'x'));
    expect(again.body.subarray(21, 86).equals(requests[0]!.body.subarray(21, 86))).toBe(false);
  });

  it('fails only the subscription whose keys cannot be used, with an EncryptionError', async () => {
    sut = new WebPushEncryptor(loadConfig({ DAVPUSH_ENCRYPT_THREADS: String(threads) }));
    const good = WebPushClient.create('https://push.example/good');
    const broken = { ...input(good, 'x'), p256dh: Buffer.alloc(65, 4).toString('base64url') };
    const [bad, ok] = await Promise.allSettled([sut.encrypt(broken), sut.encrypt(input(good, 'fine'))]);
    expect(bad.status === 'rejected' && bad.reason).toBeInstanceOf(EncryptionError);
    expect(ok.status === 'fulfilled' && good.decrypt(ok.value.body)).toBe('fine');
  });
});

/** The pool's one thread (test-only access to the piscina pool inside). */
const threadOf = (sut: WebPushEncryptor): { terminate(): Promise<number> } =>
  (sut as unknown as { pool: { threads: { terminate(): Promise<number> }[] } }).pool.threads[0]!;

/** Records the size of every task the pool is given from now on (test-only access to the pool inside). */
function taskSizes(sut: WebPushEncryptor): number[] {
  const pool = (sut as unknown as { pool: { run: (items: unknown[]) => Promise<unknown> } }).pool;
  const run = pool.run.bind(pool);
  const sizes: number[] = [];
  pool.run = (items: unknown[]) => (sizes.push(items.length), run(items));
  return sizes;
}

describe('WebPushEncryptor lone pushes', () => {
  it('encrypts a lone push on the event loop within its budget, and the pushes of a busy turn on the threads', async () => {
    const sut = new WebPushEncryptor(loadConfig({ DAVPUSH_ENCRYPT_THREADS: '1' }));
    try {
      const client = WebPushClient.create('https://push.example/a');
      await sut.encrypt(input(client, 'start'));
      const tasks = taskSizes(sut);
      expect(client.decrypt((await sut.encrypt(input(client, 'lone'))).body)).toBe('lone');
      expect(tasks).toHaveLength(0);
      const turn = await Promise.all([1, 2, 3].map((i) => sut.encrypt(input(client, `busy ${i}`))));
      expect(turn.map((r) => client.decrypt(r.body))).toEqual(['busy 1', 'busy 2', 'busy 3']);
      expect(tasks).toHaveLength(1);
      // Its event-loop budget for this second spent, a lone push goes to the thread too.
      const clock = vi.spyOn(performance, 'now').mockReturnValue(5_000_000); // no refill meanwhile
      try {
        Object.assign((sut as unknown as { lone: object }).lone, { at: 5_000_000, creditMs: -1 });
        expect(client.decrypt((await sut.encrypt(input(client, 'over budget'))).body)).toBe('over budget');
        expect(tasks).toHaveLength(2);
      } finally {
        clock.mockRestore();
      }
    } finally {
      await sut.onApplicationShutdown();
    }
  });
});

describe('WebPushEncryptor busy turns', () => {
  it('sends a turn of 40 pushes as tasks of at most 16 (results come back per task), each push its own request', async () => {
    const sut = new WebPushEncryptor(loadConfig({ DAVPUSH_ENCRYPT_THREADS: '1' }));
    try {
      const client = WebPushClient.create('https://push.example/a');
      await sut.encrypt(input(client, 'start'));
      const sizes = taskSizes(sut);
      const turn = await Promise.all(Array.from({ length: 40 }, (_, i) => sut.encrypt(input(client, `push ${i}`))));
      expect(sizes).toEqual([14, 14, 12]);
      expect(turn.map((r) => client.decrypt(r.body))).toEqual(Array.from({ length: 40 }, (_, i) => `push ${i}`));
    } finally {
      await sut.onApplicationShutdown();
    }
  });
});

describe('WebPushEncryptor thread failure', () => {
  it('encrypts what a dying thread held on the event loop, and replaces the thread', async () => {
    const sut = new WebPushEncryptor(loadConfig({ DAVPUSH_ENCRYPT_THREADS: '1' }));
    try {
      const client = WebPushClient.create('https://push.example/a');
      await sut.encrypt(input(client, 'start'));
      // Two in one turn go to the thread (a lone push is encrypted on the event loop).
      const held = Promise.all([sut.encrypt(input(client, 'lost')), sut.encrypt(input(client, 'lost too'))]);
      await new Promise((r) => setImmediate(r)); // the pushes are posted to the thread
      await threadOf(sut).terminate();
      expect((await held).map((r) => client.decrypt(r.body))).toEqual(['lost', 'lost too']);
      expect(client.decrypt((await sut.encrypt(input(client, 'after'))).body)).toBe('after');
    } finally {
      await sut.onApplicationShutdown();
    }
  });

  it('stops restarting a thread that keeps dying at start, and encrypts on the event loop instead', async () => {
    const sut = new WebPushEncryptor(loadConfig({ DAVPUSH_ENCRYPT_THREADS: '1' }));
    try {
      const client = WebPushClient.create('https://push.example/a');
      await sut.encrypt(input(client, 'start'));
      for (let i = 0; i < 3; i++) {
        // A push gets a thread started (piscina starts replacements on demand); it dies right away.
        if (i > 0) await Promise.all([sut.encrypt(input(client, `again ${i}`)), sut.encrypt(input(client, 'too'))]);
        await threadOf(sut).terminate();
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(sut.threads).toBe(0);
      expect(client.decrypt((await sut.encrypt(input(client, 'inline'))).body)).toBe('inline');
    } finally {
      await sut.onApplicationShutdown();
    }
  });
});
