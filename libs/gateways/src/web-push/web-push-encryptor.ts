import { Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Piscina } from 'piscina';
import webpush from 'web-push';
import { AppConfig } from '@davpush/config';

/** What web-push needs to build one encrypted request (RFC 8291 aes128gcm, headers per RFC 8030). */
export interface EncryptInput {
  endpoint: string;
  p256dh: string;
  auth: string;
  payload: string;
  options: {
    TTL: number;
    urgency: webpush.Urgency;
    topic: string;
    contentEncoding: 'aes128gcm';
    headers: Record<string, string>;
  };
}

export interface EncryptedRequest {
  headers: Record<string, string | number>;
  body: Buffer;
}

/** Encryption failed for this subscription (keys that pass validation but do not work). */
export class EncryptionError extends Error {
  override readonly name = 'EncryptionError';
}

type Result = { headers: Record<string, string | number>; body: Uint8Array } | { error: string };

/**
 * The threads' whole program: web-push's own `generateRequestDetails` for a batch of pushes.
 * Written to a private file at start (piscina loads a file), so it runs the same from the compiled
 * service and from the TypeScript sources under test.
 */
const THREAD_SOURCE = `
const { workerData } = require('node:worker_threads');
const webpush = require(workerData.webPushPath);
module.exports = (items) => items.map((it) => {
  try {
    const r = webpush.generateRequestDetails({ endpoint: it.endpoint, keys: { p256dh: it.p256dh, auth: it.auth } }, it.payload, it.options);
    return { headers: r.headers, body: r.body };
  } catch (err) {
    return { error: String(err && err.name) };
  }
});
`;

interface QueuedRequest {
  input: EncryptInput;
  resolve: (r: Result | undefined) => void;
}

/** Event-loop ms a second lone pushes may be encrypted in (10 %, over any second; see WebPushEncryptor.flush). */
const LONE_BUDGET_MS = 100;

/** Pushes per task at most: ~16 × 0.25 ms of work, against a message's ~30 µs. */
const TASK_SIZE = 16;

/** A thread that dies this soon after it started, this many times in a row, is not started again. */
const QUICK_EXIT_MS = 2000;
const MAX_QUICK_EXITS = 3;

/**
 * RFC 8291 encryption, the one CPU-heavy step of a Web Push (a fresh P-256 key pair and an ECDH
 * per message), moved off the event loop onto `DAVPUSH_ENCRYPT_THREADS` worker threads of a
 * `piscina` pool so a single process uses more than one core; 0 threads encrypts inline. A push
 * whose thread died holding it is encrypted on the event loop instead; threads that keep dying at
 * start are given up for the event loop.
 */
@Injectable()
export class WebPushEncryptor implements OnApplicationShutdown {
  private readonly logger = new Logger(WebPushEncryptor.name);
  private pool?: Piscina;
  private dir?: string;
  private started = false;
  private closed = false;
  private quickExits = 0;
  private readonly startedAt = new WeakMap<object, number>();
  private queued: QueuedRequest[] = [];
  /** Event-loop ms lone pushes may still take (see flush): refills at LONE_BUDGET_MS a second, up to that. */
  private readonly lone = { creditMs: LONE_BUDGET_MS, at: 0 };

  constructor(private readonly config: AppConfig) {}

  /** Threads running now (they start with the first push: an API-only process never starts any). */
  get threads(): number {
    return this.pool?.threads.length ?? 0;
  }

  async encrypt(input: EncryptInput): Promise<EncryptedRequest> {
    if (!this.started) this.start();
    const pool = this.pool;
    if (!pool) return inline(input);
    // Requests made in the same event-loop turn travel as one task (a batch job's pushes encrypt
    // together): crossing to a thread costs per message, not per push.
    const r = await new Promise<Result | undefined>((resolve) => {
      if (this.queued.push({ input, resolve }) === 1) setImmediate(() => this.flush(pool));
    });
    // The thread died holding it (or the pool closed): encrypt it here instead. A thread's trouble
    // is ours, never a push service's failure or a reason to retry.
    if (!r) return inline(input);
    if ('error' in r) throw new EncryptionError(r.error);
    return { headers: r.headers, body: Buffer.from(r.body.buffer, r.body.byteOffset, r.body.byteLength) };
  }

  async onApplicationShutdown(): Promise<void> {
    this.closed = true;
    await this.stop();
  }

  private flush(pool: Piscina): void {
    const batch = this.queued;
    this.queued = [];
    // A lone push (the only one of its event-loop turn: an urgent change of a small topic) is
    // encrypted right here while that takes the event loop at most LONE_BUDGET_MS in any second: on a
    // thread it would wait for the thread to wake and for two messages, which under load costs it
    // milliseconds for a fraction of a millisecond of work. Busy turns still go to the threads.
    if (batch.length === 1 && this.loneBudgetLeft()) {
      const started = performance.now();
      batch[0]!.resolve(encryptHere(batch[0]!.input));
      this.lone.creditMs -= performance.now() - started;
      return;
    }
    // Busy turns go as tasks of at most TASK_SIZE pushes, shared out by the pool: results stream
    // back every few milliseconds and go on the wire while the threads encrypt the rest (one task
    // of a turn's 300 pushes would hold them all back for the whole ~75 ms of work).
    const parts = Math.max(Math.min(pool.options.maxThreads, batch.length), Math.ceil(batch.length / TASK_SIZE));
    const size = Math.ceil(batch.length / parts);
    for (let i = 0; i < batch.length; i += size) {
      const part = batch.slice(i, i + size);
      void pool.run(part.map((q) => q.input)).then(
        (results: Result[]) => part.forEach((q, j) => q.resolve(results[j])),
        () => part.forEach((q) => q.resolve(undefined)),
      );
    }
  }

  private loneBudgetLeft(): boolean {
    const now = performance.now();
    const refill = ((now - this.lone.at) * LONE_BUDGET_MS) / 1000;
    this.lone.creditMs = Math.min(LONE_BUDGET_MS, this.lone.creditMs + refill);
    this.lone.at = now;
    return this.lone.creditMs > 0;
  }

  private start(): void {
    this.started = true;
    const n = this.config.delivery.encryptThreads;
    if (n === 0) return;
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'davpush-encrypt-'));
    const filename = path.join(this.dir, 'encrypt-thread.js');
    fs.writeFileSync(filename, THREAD_SOURCE);
    const pool = new Piscina({
      filename,
      minThreads: n,
      maxThreads: n,
      idleTimeout: Infinity,
      workerData: { webPushPath: require.resolve('web-push') },
    });
    pool.on('workerCreate', (w: object) => this.startedAt.set(w, Date.now()));
    pool.on('workerDestroy', (w: object) => this.onThreadGone(w));
    pool.on('error', (err: Error) => this.logger.error({ msg: 'encryption thread failed', error: err.message }));
    this.pool = pool;
  }

  private onThreadGone(w: object): void {
    if (this.closed || !this.pool) return;
    // One that never became ready died at start too.
    const readyAt = this.startedAt.get(w);
    const quick = readyAt === undefined || Date.now() - readyAt < QUICK_EXIT_MS;
    this.quickExits = quick ? this.quickExits + 1 : 0;
    if (this.quickExits < MAX_QUICK_EXITS) return; // piscina starts a replacement
    // A thread that cannot even start would be restarted forever: encrypt on the event loop instead.
    this.logger.error({ msg: 'encryption threads keep failing at start; encrypting on the event loop' });
    void this.stop();
  }

  private async stop(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    try {
      await pool?.destroy();
    } finally {
      if (this.dir) fs.rmSync(this.dir, { recursive: true, force: true });
      this.dir = undefined;
    }
  }
}

/** The threads' program (THREAD_SOURCE) for one push, on the event loop. */
function encryptHere(input: EncryptInput): Result {
  try {
    const r = webpush.generateRequestDetails(
      { endpoint: input.endpoint, keys: { p256dh: input.p256dh, auth: input.auth } },
      input.payload,
      input.options,
    );
    return { headers: r.headers as Record<string, string | number>, body: r.body as Buffer };
  } catch (err) {
    return { error: (err as Error).name };
  }
}

function inline(input: EncryptInput): EncryptedRequest {
  const r = encryptHere(input);
  if ('error' in r) throw new EncryptionError(r.error);
  return { headers: r.headers, body: r.body as Buffer };
}
