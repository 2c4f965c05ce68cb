import { Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { Worker } from 'node:worker_threads';
import webpush from 'web-push';
import { AppConfig } from '@davpush/config';

/** What web-push needs to build one encrypted request (RFC 8291 aes128gcm, headers per RFC 8030). */
export interface EncryptInput {
  endpoint: string;
  p256dh: string;
  auth: string;
  payload: string;
  options: { TTL: number; urgency: webpush.Urgency; topic: string; contentEncoding: 'aes128gcm'; headers: Record<string, string> };
}

export interface EncryptedRequest {
  headers: Record<string, string | number>;
  body: Buffer;
}

/** Encryption failed for this subscription (keys that pass validation but do not work). */
export class EncryptionError extends Error {
  override readonly name = 'EncryptionError';
}

type Result = { headers: Record<string, string | number>; body: ArrayBuffer } | { error: string };

/**
 * The thread's whole program: web-push's own `generateRequestDetails`, a batch per message, the
 * encrypted bodies transferred back without a copy. A string (eval) so it runs the same from the
 * compiled service and from the TypeScript sources under test.
 */
const THREAD_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const webpush = require(workerData.webPushPath);
parentPort.on('message', ({ id, items }) => {
  const results = [];
  const transfer = [];
  for (const it of items) {
    try {
      const r = webpush.generateRequestDetails({ endpoint: it.endpoint, keys: { p256dh: it.p256dh, auth: it.auth } }, it.payload, it.options);
      const body = r.body.buffer.slice(r.body.byteOffset, r.body.byteOffset + r.body.length);
      results.push({ headers: r.headers, body });
      transfer.push(body);
    } catch (err) {
      results.push({ error: String(err && err.name) });
    }
  }
  parentPort.postMessage({ id, results }, transfer);
});
`;

/** A thread that dies this soon after it started, this many times in a row, is not started again. */
const QUICK_EXIT_MS = 2000;
const MAX_QUICK_EXITS = 3;

interface QueuedRequest {
  input: EncryptInput;
  resolve: (r: EncryptedRequest) => void;
  reject: (e: Error) => void;
}

interface Lane {
  worker: Worker;
  startedAt: number;
  pending: Map<number, { inputs: EncryptInput[]; settle: (results: Result[] | Error) => void }>;
  load: number;
}

/**
 * RFC 8291 encryption, the one CPU-heavy step of a Web Push (a fresh P-256 key pair and an ECDH
 * per message), moved off the event loop onto `DAVPUSH_ENCRYPT_THREADS` worker threads so a
 * single process uses more than one core. Requests made in the same event-loop turn travel as
 * one message (a batch job's pushes encrypt together); 0 threads encrypts inline.
 */
@Injectable()
export class WebPushEncryptor implements OnApplicationShutdown {
  private readonly logger = new Logger(WebPushEncryptor.name);
  private readonly lanes: Lane[] = [];
  private queued: QueuedRequest[] = [];
  private scheduled = false;
  private nextId = 1;
  private closed = false;
  private quickExits = 0;

  private started = false;

  constructor(private readonly config: AppConfig) {}

  /** Threads running now (they start with the first push: an API-only process never starts any). */
  get threads(): number {
    return this.lanes.length;
  }

  encrypt(input: EncryptInput): Promise<EncryptedRequest> {
    if (!this.started) {
      this.started = true;
      for (let i = 0; i < this.config.delivery.encryptThreads; i++) this.lanes.push(this.spawn());
    }
    if (this.lanes.length === 0) return Promise.resolve().then(() => inline(input));
    return new Promise((resolve, reject) => {
      this.queued.push({ input, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  async onApplicationShutdown(): Promise<void> {
    this.closed = true;
    await Promise.all(this.lanes.map((l) => l.worker.terminate()));
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.queued;
    this.queued = [];
    if (batch.length === 0) return;
    if (this.lanes.length === 0) {
      for (const q of batch) {
        try {
          q.resolve(inline(q.input));
        } catch (err) {
          q.reject(err as Error);
        }
      }
      return;
    }
    // Large batches are shared out; each part goes to the least loaded thread as one message
    // (crossing to a thread costs per message, not per push).
    const parts = Math.min(this.lanes.length, Math.ceil(batch.length / 16));
    const size = Math.ceil(batch.length / parts);
    for (let i = 0; i < batch.length; i += size) this.post(batch.slice(i, i + size));
  }

  private post(batch: QueuedRequest[]): void {
    const lane = this.lanes.reduce((a, b) => (b.load < a.load ? b : a));
    const id = this.nextId++;
    lane.load += batch.length;
    const inputs = batch.map((q) => q.input);
    lane.pending.set(id, {
      inputs,
      settle: (results) => {
        batch.forEach((q, i) => {
          const r = results instanceof Error ? undefined : results[i];
          if (r && 'error' in r) q.reject(new EncryptionError(r.error));
          else if (r) q.resolve({ headers: r.headers, body: Buffer.from(r.body) });
          else {
            // The thread died holding it: encrypt it here instead. A thread's trouble is ours,
            // never a push service's failure or a reason to retry.
            try {
              q.resolve(inline(q.input));
            } catch (err) {
              q.reject(err as Error);
            }
          }
        });
      },
    });
    // oxlint-disable-next-line unicorn/require-post-message-target-origin -- a worker thread, not a window
    lane.worker.postMessage({ id, items: inputs });
  }

  private spawn(): Lane {
    const worker = new Worker(THREAD_SOURCE, { eval: true, workerData: { webPushPath: require.resolve('web-push') } });
    worker.unref();
    const lane: Lane = { worker, startedAt: Date.now(), pending: new Map(), load: 0 };
    worker.on('message', ({ id, results }: { id: number; results: Result[] }) => {
      const p = lane.pending.get(id);
      if (!p) return;
      lane.pending.delete(id);
      lane.load -= p.inputs.length;
      p.settle(results);
    });
    worker.on('error', (err) => this.logger.error({ msg: 'encryption thread failed', error: err.message }));
    // An answer that cannot be read: restart the thread (its exit re-encrypts what it held here).
    worker.on('messageerror', () => void worker.terminate());
    worker.on('exit', () => {
      // Whatever it held is encrypted on the event loop; a replacement takes its place.
      for (const p of lane.pending.values()) p.settle(new Error('encryption thread exited'));
      lane.pending.clear();
      lane.load = 0;
      if (this.closed) return;
      const i = this.lanes.indexOf(lane);
      if (i < 0) return;
      this.quickExits = Date.now() - lane.startedAt < QUICK_EXIT_MS ? this.quickExits + 1 : 0;
      if (this.quickExits < MAX_QUICK_EXITS) {
        try {
          this.lanes[i] = this.spawn();
          return;
        } catch (err) {
          // No thread to be had (out of memory or descriptors): fall through to one lane less.
          this.logger.error({ msg: 'encryption thread could not be restarted', error: (err as Error).message });
        }
      }
      // A thread that cannot even start would be restarted forever: encrypt on the event loop instead.
      this.lanes.splice(i, 1);
      if (this.lanes.length === 0) this.logger.error({ msg: 'encryption threads keep failing at start; encrypting on the event loop' });
    });
    return lane;
  }
}

function inline(input: EncryptInput): EncryptedRequest {
  try {
    const r = webpush.generateRequestDetails({ endpoint: input.endpoint, keys: { p256dh: input.p256dh, auth: input.auth } }, input.payload, input.options);
    return { headers: r.headers as Record<string, string | number>, body: r.body as Buffer };
  } catch (err) {
    throw new EncryptionError((err as Error).name);
  }
}
