import * as crypto from 'node:crypto';
import { EventEmitter } from 'node:events';
import type * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import { ensureTestCa, issueServerCert } from './test-ca';
import { WebPushClient } from './webpush-client';

/**
 * A local HTTPS push service (RFC 8030 §5) for end-to-end tests and benchmarks. It records every
 * `POST /push/<id>`, validates requests the way real services do, answers 201 with a `Location`,
 * and can be scripted per subscription to answer 429, 5xx, 410, slowly, or never.
 * Its certificate comes from the test CA, which vitest.config.ts puts in NODE_EXTRA_CA_CERTS.
 */
export interface PushRecord {
  id: string;
  method: string;
  path: string;
  /** Lower-cased names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: Buffer;
  receivedAt: number;
  /** The status answered (or about to be, after a delay); 0 for a `hang` step. */
  status: number;
}

export type PushStep =
  | { status: number; headers?: Record<string, string>; body?: string }
  | { hang: true }
  | { delayMs: number; status: number; headers?: Record<string, string>; body?: string };

export type WaitForCondition =
  number | ((record: PushRecord) => boolean) | { id?: string; count?: number; match?: (record: PushRecord) => boolean };

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
  delayMs: number;
  hang: boolean;
}

/** RFC 8291 §4: push services must accept at least 4096 bytes of payload (rs = 4096). */
const MAX_BODY = 4096;
const MAX_STORED = 1 << 20;
const URGENCIES = new Set(['very-low', 'low', 'normal', 'high']);
const PUSH_PATH = /^\/push\/([A-Za-z0-9_-]+)$/;

export class FakePushService {
  private readonly clients = new Map<string, WebPushClient>();
  private readonly records: PushRecord[] = [];
  private readonly scripts = new Map<string, PushStep[]>();
  private readonly goneIds = new Set<string>();
  private readonly sockets = new Set<net.Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly events = new EventEmitter();
  private latencyMs = 0;
  private stopped = false;
  private outage?: { until: number; step: PushStep };

  /** PEM of the CA that signed this service's certificate (for an explicit `https.Agent({ ca })`). */
  readonly ca = ensureTestCa().caCert;

  private constructor(
    private readonly server: https.Server,
    readonly origin: string,
    readonly port: number,
  ) {
    this.events.setMaxListeners(0);
  }

  static async start(opts: { host?: string } = {}): Promise<FakePushService> {
    const host = opts.host ?? '127.0.0.1';
    const server = https.createServer({ ...issueServerCert(['localhost', '127.0.0.1', '::1']), keepAlive: true });
    // Longer than any client's idle timeout, so a client never reuses a socket the server just closed.
    server.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const { port } = server.address() as net.AddressInfo;
    const sut = new FakePushService(server, `https://${net.isIPv6(host) ? `[${host}]` : host}:${port}`, port);
    server.on('connection', (s: net.Socket) => {
      sut.sockets.add(s);
      s.once('close', () => sut.sockets.delete(s));
    });
    server.on('request', (req, res) => sut.handle(req, res));
    return sut;
  }

  /** A new subscription on this service: a user agent's keys and a push resource `${origin}/push/<id>`. */
  subscribe(): WebPushClient {
    const id = crypto.randomBytes(16).toString('base64url');
    const client = WebPushClient.create(`${this.origin}/push/${id}`);
    this.clients.set(id, client);
    return client;
  }

  /** The subscription id of a client or push resource URL. */
  idOf(clientOrUrl: WebPushClient | string): string {
    const url = typeof clientOrUrl === 'string' ? clientOrUrl : clientOrUrl.pushResource;
    const m = PUSH_PATH.exec(new URL(url).pathname);
    if (!m) throw new Error(`not a push resource of this service: ${url}`);
    return m[1]!;
  }

  /** Recorded requests, oldest first; only those for `id` when given. */
  received(id?: string): PushRecord[] {
    return id === undefined ? [...this.records] : this.records.filter((r) => r.id === id);
  }

  /**
   * Resolves with the matching records once the condition holds: a total count, a predicate (at
   * least one match), or `{ id, count, match }`. Rejects after `timeoutMs` saying what arrived.
   */
  waitFor(condition: WaitForCondition, timeoutMs = 10_000): Promise<PushRecord[]> {
    const c =
      typeof condition === 'number'
        ? { count: condition }
        : typeof condition === 'function'
          ? { match: condition }
          : condition;
    const count = c.count ?? 1;
    const check = () => {
      const hits = this.records.filter((r) => (c.id === undefined || r.id === c.id) && (!c.match || c.match(r)));
      return hits.length >= count ? hits : undefined;
    };
    const now = check();
    if (now) return Promise.resolve(now);
    return new Promise((resolve, reject) => {
      const onRecord = () => {
        const hits = check();
        if (!hits) return;
        cleanup();
        resolve(hits);
      };
      const timer = setTimeout(() => {
        cleanup();
        const what = `${count} request(s)${c.id ? ` to ${c.id}` : ''}${c.match ? ' matching the predicate' : ''}`;
        const got = this.records.map((r) => `${r.method} ${r.path} → ${r.status}`).join('; ') || 'none';
        reject(
          new Error(`FakePushService.waitFor: timed out after ${timeoutMs} ms waiting for ${what}; received: ${got}`),
        );
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.events.off('record', onRecord);
      };
      this.events.on('record', onRecord);
    });
  }

  /**
   * Queues answers for the next requests to subscription `idOrStar` ("*": any known subscription
   * without steps of its own). Each request consumes one step; afterwards the default applies.
   */
  script(idOrStar: string, steps: PushStep[]): void {
    const queue = this.scripts.get(idOrStar) ?? [];
    queue.push(...steps);
    this.scripts.set(idOrStar, queue);
  }

  /**
   * An outage: every request until `until` (epoch ms; Infinity for ever) gets `step` — e.g. 503, or
   * `{ hang: true }` for a service that takes the connection and never answers. Scripts still win.
   */
  outageUntil(until: number, step: PushStep): void {
    this.outage = { until, step };
  }

  /** Every further request to `id` is answered 410 Gone (the user unsubscribed). */
  gone(id: string): void {
    this.goneIds.add(id);
  }

  /** Delay added before every answer. */
  setLatency(ms: number): void {
    this.latencyMs = ms;
  }

  /** Forgets records, scripts, gone subscriptions and latency; subscriptions stay known. */
  reset(): void {
    this.records.length = 0;
    this.scripts.clear();
    this.goneIds.clear();
    this.latencyMs = 0;
    this.outage = undefined;
  }

  /** Decrypts a recorded body with the keys of the subscription it was sent to. */
  decryptRecord(record: PushRecord): string {
    const client = this.clients.get(record.id);
    if (!client) throw new Error(`no subscription ${record.id} on this fake push service`);
    return client.decrypt(record.body);
  }

  /** Closes the server, dropping open and hanging connections. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0]!;
    const m = PUSH_PATH.exec(path);
    if (!m || req.method !== 'POST') {
      req.resume();
      const status = m ? 405 : 404;
      res
        .writeHead(status, { 'content-type': 'text/plain', ...(m ? { allow: 'POST' } : {}) })
        .end(m ? 'use POST\n' : 'not found\n');
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      if (size + c.length <= MAX_STORED) chunks.push(c);
      size += c.length;
    });
    req.on('end', () => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers))
        if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
      const id = m[1]!;
      const answer = this.decide(id, headers, size);
      const record: PushRecord = {
        id,
        method: 'POST',
        path,
        headers,
        body: Buffer.concat(chunks),
        receivedAt: Date.now(),
        status: answer.hang ? 0 : answer.status,
      };
      this.records.push(record);
      this.events.emit('record', record);
      if (answer.hang) return;
      const send = () => {
        if (!res.destroyed) res.writeHead(answer.status, answer.headers).end(answer.body);
      };
      const delay = answer.delayMs + this.latencyMs;
      if (delay <= 0) return send();
      const t = setTimeout(() => {
        this.timers.delete(t);
        send();
      }, delay);
      this.timers.add(t);
    });
  }

  private decide(id: string, headers: Record<string, string>, size: number): Answer {
    if (!this.clients.has(id)) return plain(404, 'no such subscription');
    if (this.goneIds.has(id)) return plain(410, 'push subscription has unsubscribed or expired');
    const outage = this.outage && Date.now() < this.outage.until ? this.outage.step : undefined;
    const step = this.scripts.get(id)?.shift() ?? this.scripts.get('*')?.shift() ?? outage;
    if (step) {
      if ('hang' in step) return { status: 0, headers: {}, body: '', delayMs: 0, hang: true };
      return {
        status: step.status,
        headers: step.headers ?? {},
        body: step.body ?? '',
        delayMs: 'delayMs' in step && typeof step.delayMs === 'number' ? step.delayMs : 0,
        hang: false,
      };
    }
    return (
      validate(headers, size) ?? {
        status: 201,
        headers: { location: `${this.origin}/message/${crypto.randomUUID()}`, ttl: headers.ttl! },
        body: '',
        delayMs: 0,
        hang: false,
      }
    );
  }
}

/** What real push services refuse (RFC 8030 §5.2-5.4, RFC 8291 §4). */
function validate(headers: Record<string, string>, size: number): Answer | undefined {
  const ttl = headers.ttl;
  if (ttl === undefined) return plain(400, 'missing TTL header');
  if (!/^\d+$/.test(ttl.trim())) return plain(400, `TTL must be a non-negative integer, got ${JSON.stringify(ttl)}`);
  // A push without payload needs no encoding (RFC 8030 §5); one with payload must be aes128gcm.
  if (size > 0 && headers['content-encoding']?.toLowerCase() !== 'aes128gcm') {
    return plain(400, `Content-Encoding must be aes128gcm, got ${JSON.stringify(headers['content-encoding'] ?? null)}`);
  }
  if (size > MAX_BODY) return plain(413, `payload of ${size} bytes exceeds ${MAX_BODY}`);
  const urgency = headers.urgency;
  if (urgency !== undefined && !URGENCIES.has(urgency))
    return plain(400, `Urgency must be very-low, low, normal or high, got ${JSON.stringify(urgency)}`);
  const topic = headers.topic;
  if (topic !== undefined && (topic.length > 32 || !/^[A-Za-z0-9_-]+$/.test(topic))) {
    return plain(400, `Topic must be at most 32 base64url characters, got ${JSON.stringify(topic)}`);
  }
  return undefined;
}

function plain(status: number, message: string): Answer {
  return { status, headers: { 'content-type': 'text/plain' }, body: `${message}\n`, delayMs: 0, hang: false };
}
