import { createECDH, createPublicKey, randomBytes, verify, type ECDH } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { decrypt } from 'http_ece';

/** What arrived at the receiver, checked and decrypted. */
export interface ReceivedPush {
  /** The decrypted body (for davpush: a WebDAV-Push `push-message` document). */
  body: string;
  headers: { ttl?: string; urgency?: string; topic?: string };
  /** The VAPID JWT's claims, after its ES256 signature verified with the key in `k=`. */
  vapid: { publicKey: string; aud: string; sub: string; exp: number };
}

/** Largest body accepted: RFC 8030 §7.2 lets a push service refuse more than 4096 bytes. */
const MAX_BODY = 4096;

/**
 * A push service and user agent in one, on loopback, for trying davpush without any outside
 * service: it hands out a subscription (push resource, RFC 8291 p256dh key and auth secret), and
 * checks what is pushed to it the way a push service and a browser would: the VAPID signature
 * (RFC 8292 §2–3, with the key the subscription was made for) and the aes128gcm encryption
 * (RFC 8291 §3–4, decrypted with the http_ece package that web-push itself uses).
 */
export class PushReceiver {
  private readonly ecdh: ECDH = createECDH('prime256v1');
  private readonly secret = randomBytes(16);
  private readonly path = `/push/${randomBytes(16).toString('base64url')}`;
  private waiting: { resolve(p: ReceivedPush): void; reject(e: Error): void }[] = [];
  private readonly received: (ReceivedPush | Error)[] = [];

  private constructor(
    private readonly server: http.Server,
    private readonly expectedVapidKey: string,
  ) {
    this.ecdh.generateKeys();
  }

  /** Listens on 127.0.0.1 (a random port); pushes signed with another VAPID key than `vapidPublicKey` are refused with 403. */
  static async start(vapidPublicKey: string): Promise<PushReceiver> {
    let receiver!: PushReceiver;
    const server = http.createServer((req, res) => receiver.handle(req, res));
    receiver = new PushReceiver(server, vapidPublicKey);
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  get origin(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** The subscription a client would hand to its calendar server (base64url keys). */
  get subscription(): { pushResource: string; publicKey: string; authSecret: string } {
    return {
      pushResource: `${this.origin}${this.path}`,
      publicKey: this.ecdh.getPublicKey().toString('base64url'),
      authSecret: this.secret.toString('base64url'),
    };
  }

  /** The next push (or the reason the last one was refused); rejects after `ms`. */
  next(ms: number): Promise<ReceivedPush> {
    const ready = this.received.shift();
    if (ready) return ready instanceof Error ? Promise.reject(ready) : Promise.resolve(ready);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting = this.waiting.filter((w) => w !== entry);
        reject(new Error(`no push arrived within ${ms / 1000} s`));
      }, ms);
      const entry = {
        resolve: (p: ReceivedPush) => (clearTimeout(timer), resolve(p)),
        reject: (e: Error) => (clearTimeout(timer), reject(e)),
      };
      this.waiting.push(entry);
    });
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private deliver(result: ReceivedPush | Error): void {
    const w = this.waiting.shift();
    if (!w) this.received.push(result);
    else if (result instanceof Error) w.reject(result);
    else w.resolve(result);
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (req.method !== 'POST' || req.url !== this.path) {
      res.writeHead(404).end();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY) chunks.push(c);
    });
    req.on('end', () => {
      try {
        if (size > MAX_BODY)
          throw Object.assign(new Error(`push body of ${size} bytes is over ${MAX_BODY}`), { status: 413 });
        const push = this.check(req, Buffer.concat(chunks));
        res.writeHead(201, { Location: `${this.path}/messages/${randomBytes(8).toString('hex')}` }).end();
        this.deliver(push);
      } catch (err) {
        res
          .writeHead((err as { status?: number }).status ?? 400, { 'Content-Type': 'text/plain' })
          .end((err as Error).message);
        this.deliver(err as Error);
      }
    });
  }

  private check(req: http.IncomingMessage, body: Buffer): ReceivedPush {
    const refuse = (status: number, message: string) => Object.assign(new Error(message), { status });
    if (req.headers['content-encoding'] !== 'aes128gcm')
      throw refuse(415, `Content-Encoding is ${req.headers['content-encoding'] ?? 'missing'}, not aes128gcm`);
    const vapid = this.checkVapid(String(req.headers.authorization ?? ''));
    if (vapid.publicKey !== this.expectedVapidKey)
      throw refuse(403, 'the push is signed with another VAPID key than the one the subscription was made for');
    let plain: Buffer;
    try {
      plain = decrypt(body, { version: 'aes128gcm', privateKey: this.ecdh, authSecret: this.secret });
    } catch (err) {
      throw refuse(400, `the body does not decrypt (RFC 8291): ${(err as Error).message}`);
    }
    const h = (name: string) => (typeof req.headers[name] === 'string' ? (req.headers[name] as string) : undefined);
    return {
      body: plain.toString('utf8'),
      headers: { ttl: h('ttl'), urgency: h('urgency'), topic: h('topic') },
      vapid,
    };
  }

  /** `Authorization: vapid t=<JWT>, k=<key>` (RFC 8292 §3): ES256 signature, audience and expiry. */
  private checkVapid(authorization: string): ReceivedPush['vapid'] {
    const refuse = (message: string) => Object.assign(new Error(`VAPID: ${message}`), { status: 401 });
    const m = /^vapid t=([\w-]+\.[\w-]+\.[\w-]+),\s*k=([\w-]+)$/.exec(authorization);
    if (!m) throw refuse('no "Authorization: vapid t=…, k=…" header');
    const [header, payload, signature] = m[1]!.split('.') as [string, string, string];
    const raw = Buffer.from(m[2]!, 'base64url');
    if (raw.length !== 65 || raw[0] !== 4) throw refuse('k is not an uncompressed P-256 public key');
    const key = createPublicKey({
      key: {
        kty: 'EC',
        crv: 'P-256',
        x: raw.subarray(1, 33).toString('base64url'),
        y: raw.subarray(33).toString('base64url'),
      },
      format: 'jwk',
    });
    const signed = verify(
      'sha256',
      Buffer.from(`${header}.${payload}`),
      { key, dsaEncoding: 'ieee-p1363' },
      Buffer.from(signature, 'base64url'),
    );
    if (!signed) throw refuse('the JWT signature does not verify with k');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as {
      aud?: string;
      sub?: string;
      exp?: number;
    };
    if (claims.aud !== this.origin) throw refuse(`aud is ${claims.aud}, not ${this.origin}`);
    if (
      typeof claims.exp !== 'number' ||
      claims.exp * 1000 < Date.now() ||
      claims.exp * 1000 > Date.now() + 24 * 3600_000
    )
      throw refuse('exp is not within the next 24 hours');
    return { publicKey: m[2]!, aud: claims.aud, sub: String(claims.sub), exp: claims.exp };
  }
}
