import * as crypto from 'node:crypto';

/**
 * The user agent's side of a Web Push subscription, with node:crypto only: the key pair and auth
 * secret a browser would hand to the application, and the decryption of what arrives
 * (RFC 8291 over RFC 8188 `aes128gcm`). Also a verifier for the VAPID header (RFC 8292).
 */
export class WebPushClient {
  private constructor(
    readonly pushResource: string,
    private readonly ecdh: crypto.ECDH,
    private readonly auth: Buffer,
  ) {}

  static create(pushResource: string): WebPushClient {
    const ecdh = crypto.createECDH('prime256v1');
    ecdh.generateKeys();
    return new WebPushClient(pushResource, ecdh, crypto.randomBytes(16));
  }

  /** `p256dh`: the 65-byte uncompressed P-256 point, base64url. */
  get publicKey(): string {
    return this.ecdh.getPublicKey('base64url');
  }

  /** `auth`: the 16-byte authentication secret, base64url. */
  get authSecret(): string {
    return this.auth.toString('base64url');
  }

  /** The subscription as `web-push` and the Push API's `toJSON()` spell it. */
  get subscription(): { endpoint: string; keys: { p256dh: string; auth: string } } {
    return { endpoint: this.pushResource, keys: { p256dh: this.publicKey, auth: this.authSecret } };
  }

  /** Decrypts one Web Push message body to UTF-8 text. Throws on anything malformed. */
  decrypt(body: Buffer): string {
    return this.decryptBytes(body).toString('utf8');
  }

  decryptBytes(body: Buffer): Buffer {
    // RFC 8188 §2.1 header: salt(16) | rs(4) | idlen(1) | keyid(idlen).
    if (body.length < 21) throw new Error(`aes128gcm: body of ${body.length} bytes is shorter than the 21-byte header`);
    const salt = body.subarray(0, 16);
    const rs = body.readUInt32BE(16);
    const idlen = body[20]!;
    if (rs < 18) throw new Error(`aes128gcm: record size ${rs} is below the minimum of 18`);
    // RFC 8291 §4: keyid is the sender's ephemeral public key, an uncompressed P-256 point.
    if (idlen !== 65) throw new Error(`aes128gcm: keyid length ${idlen}, expected 65 (uncompressed P-256 point)`);
    if (body.length < 21 + idlen + 17) throw new Error('aes128gcm: body too short for keyid, tag and delimiter');
    const asPublic = body.subarray(21, 21 + idlen);
    const record = body.subarray(21 + idlen);
    // RFC 8291 §4: a push message is a single record, so the whole rest must fit in rs.
    if (record.length > rs)
      throw new Error(`aes128gcm: ${record.length}-byte ciphertext exceeds rs ${rs} (more than one record)`);

    let shared: Buffer;
    try {
      shared = this.ecdh.computeSecret(asPublic);
    } catch (err) {
      throw new Error(`aes128gcm: keyid is not a valid P-256 public key (${(err as Error).message})`, { cause: err });
    }
    // RFC 8291 §3.3-3.4: IKM from the ECDH secret and the auth secret, then RFC 8188 §2.2-2.3.
    const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), this.ecdh.getPublicKey(), asPublic]);
    const ikm = Buffer.from(crypto.hkdfSync('sha256', shared, this.auth, keyInfo, 32));
    const cek = Buffer.from(crypto.hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: aes128gcm\0'), 16));
    const nonce = Buffer.from(crypto.hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: nonce\0'), 12));

    let plain: Buffer;
    try {
      const decipher = crypto.createDecipheriv('aes-128-gcm', cek, nonce);
      decipher.setAuthTag(record.subarray(-16));
      plain = Buffer.concat([decipher.update(record.subarray(0, -16)), decipher.final()]);
    } catch {
      throw new Error('aes128gcm: authentication failed (wrong keys or tampered body)');
    }
    // RFC 8188 §2: data | delimiter | zero padding; 0x02 marks the last (here: only) record.
    let end = plain.length - 1;
    while (end >= 0 && plain[end] === 0) end--;
    if (end < 0 || plain[end] !== 0x02) {
      throw new Error(
        `aes128gcm: missing last-record delimiter 0x02 (found ${end < 0 ? 'only padding' : `0x${plain[end]!.toString(16)}`})`,
      );
    }
    return plain.subarray(0, end);
  }
}

export interface VapidClaims {
  aud: string;
  exp: number;
  sub: string;
}

export interface VerifyVapidOptions {
  /** The application server key the subscription was made with (base64url, 65-byte point). */
  expectedPublicKey: string;
  /** The push resource's origin, e.g. `https://127.0.0.1:4433`. */
  expectedAudience: string;
  /** Unix time in seconds (a millisecond value is recognised and converted). Default: now. */
  now?: number;
}

const MAX_EXP_SECONDS = 24 * 3600;

/**
 * Checks an `Authorization: vapid t=<JWT>, k=<key>` header as a push service would (RFC 8292 §2-3):
 * the key, the ES256 signature, `aud`, `exp` (in the future, at most 24 h ahead) and `sub`.
 * Throws an Error naming the first check that failed.
 */
export function verifyVapid(
  authorization: string | undefined,
  opts: VerifyVapidOptions,
): { claims: VapidClaims; header: Record<string, unknown> } {
  if (!authorization) throw new Error('VAPID: no Authorization header');
  const m = /^vapid\s+(.*)$/is.exec(authorization.trim());
  if (!m) throw new Error(`VAPID: Authorization scheme is not "vapid": ${authorization.slice(0, 40)}`);
  const params = new Map<string, string>();
  for (const part of m[1]!.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) throw new Error(`VAPID: malformed auth-param "${part.trim()}"`);
    params.set(
      part.slice(0, eq).trim().toLowerCase(),
      part
        .slice(eq + 1)
        .trim()
        .replace(/^"(.*)"$/, '$1'),
    );
  }
  const t = params.get('t');
  const k = params.get('k');
  if (!t) throw new Error('VAPID: missing t= (the JWT)');
  if (!k) throw new Error('VAPID: missing k= (the public key)');

  const key = Buffer.from(k, 'base64url');
  if (key.length !== 65 || key[0] !== 0x04)
    throw new Error(`VAPID: k= is not a 65-byte uncompressed P-256 point (${key.length} bytes)`);
  if (!key.equals(Buffer.from(opts.expectedPublicKey, 'base64url'))) {
    throw new Error(`VAPID: k= ${k} does not match the expected public key ${opts.expectedPublicKey}`);
  }

  const parts = t.split('.');
  if (parts.length !== 3) throw new Error(`VAPID: JWT has ${parts.length} parts, expected 3`);
  const [h64, c64, s64] = parts as [string, string, string];
  const header = parseJson(h64, 'header');
  if (header.alg !== 'ES256') throw new Error(`VAPID: JWT alg is ${String(header.alg)}, expected ES256`);
  const signature = Buffer.from(s64, 'base64url');
  if (signature.length !== 64) throw new Error(`VAPID: ES256 signature is ${signature.length} bytes, expected 64`);
  const publicKey = crypto.createPublicKey({
    key: {
      kty: 'EC',
      crv: 'P-256',
      x: key.subarray(1, 33).toString('base64url'),
      y: key.subarray(33).toString('base64url'),
    },
    format: 'jwk',
  });
  const signed = Buffer.from(`${h64}.${c64}`);
  if (!crypto.verify('sha256', signed, { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature)) {
    throw new Error('VAPID: JWT signature does not verify with k=');
  }

  const claims = parseJson(c64, 'claims');
  if (claims.aud !== opts.expectedAudience) {
    throw new Error(
      `VAPID: aud ${JSON.stringify(claims.aud)} is not the push resource origin ${opts.expectedAudience}`,
    );
  }
  let now = opts.now ?? Date.now() / 1000;
  if (now > 1e11) now /= 1000;
  now = Math.floor(now);
  const exp = claims.exp;
  if (typeof exp !== 'number' || !Number.isInteger(exp))
    throw new Error(`VAPID: exp ${JSON.stringify(exp)} is not an integer`);
  if (exp <= now) throw new Error(`VAPID: exp ${exp} is not in the future (now ${now})`);
  if (exp > now + MAX_EXP_SECONDS) throw new Error(`VAPID: exp ${exp} is more than 24 h ahead (now ${now})`);
  const sub = claims.sub;
  if (typeof sub !== 'string' || !/^(mailto:|https:)/.test(sub)) {
    throw new Error(`VAPID: sub ${JSON.stringify(sub)} is neither a mailto: nor an https: URI`);
  }
  return { claims: { aud: opts.expectedAudience, exp, sub }, header };
}

function parseJson(b64: string, what: string): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(Buffer.from(b64, 'base64url').toString('utf8'));
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new Error(`VAPID: JWT ${what} is not a base64url JSON object`);
}
