import * as crypto from 'node:crypto';
import * as http from 'node:http';
import * as http2 from 'node:http2';
import type * as net from 'node:net';
import { ensureTestCa, issueServerCert } from '../support/test-ca';
import {
  failureAnswer,
  invalidArgument,
  oauthError,
  UNAUTHENTICATED,
  unknownField,
  type FcmFailure,
  type GoogleAnswer,
} from './google-errors';

/**
 * A local FCM that behaves like Google's for what davpush uses: the OAuth JWT-bearer grant of a
 * service account (`POST /token`, RFC 7523) and FCM HTTP v1 `messages:send`, over HTTP/2 and
 * HTTP/1.1 on one TLS port (or plain HTTP for emulator-style tests). It verifies the RS256
 * assertion against the service account's public key, only accepts Bearer tokens it issued,
 * validates messages as FCM does, answers Google's error JSON, and records every request.
 */
export interface FakeFcmRequest {
  method: string;
  path: string;
  httpVersion: string;
  /** Lower-case names, pseudo-headers dropped. */
  headers: Record<string, string>;
  body: unknown;
  /** The Bearer token of a send, if any. */
  bearer?: string;
  /** The verified assertion's claims, for `/token`. */
  claims?: Record<string, unknown>;
  status: number;
  /** Arrival and answer times (ms). */
  at: number;
  answeredAt: number;
}

export interface FakeFcmOptions {
  projectId: string;
  clientEmail: string;
  /** The service account's public key, to verify the RS256 assertion. */
  publicKey: crypto.KeyObject;
  /** Plain HTTP/1.1 instead of TLS (HTTP/2 + HTTP/1.1). */
  plainHttp?: boolean;
}

const SEND_PATH = /^\/v1\/projects\/([^/]+)\/messages:send$/;
const FCM_SCOPE = 'https://www.googleapis.com/auth/firebase.messaging';
const MESSAGE_FIELDS = new Set([
  'name',
  'data',
  'notification',
  'android',
  'webpush',
  'apns',
  'fcm_options',
  'token',
  'topic',
  'condition',
]);
const ANDROID_FIELDS = new Set([
  'collapse_key',
  'priority',
  'ttl',
  'restricted_package_name',
  'data',
  'notification',
  'fcm_options',
  'direct_boot_ok',
  'bandwidth_constrained_ok',
  'restricted_satellite_ok',
]);
const MAX_DATA_BYTES = 4096;
const MAX_TTL_SECONDS = 2_419_200;

export class FakeFcm {
  readonly requests: FakeFcmRequest[] = [];
  readonly issuedTokens = new Set<string>();
  /** PEM of the CA that signed the TLS certificate (also in NODE_EXTRA_CA_CERTS under vitest.config.ts). */
  readonly ca = ensureTestCa().caCert;
  private readonly failures = new Map<string, { failure: FcmFailure; retryAfter?: string }>();
  private tokenScript: GoogleAnswer | undefined;
  private readonly sockets = new Set<net.Socket>();
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  private messageSeq = 0;

  private constructor(
    private readonly options: FakeFcmOptions,
    private readonly server: http.Server | http2.Http2SecureServer,
    readonly url: string,
  ) {}

  static async start(options: FakeFcmOptions): Promise<FakeFcm> {
    let fake!: FakeFcm;
    const handler = (
      req: http.IncomingMessage | http2.Http2ServerRequest,
      res: http.ServerResponse | http2.Http2ServerResponse,
    ) => void fake.handle(req, res);
    const server = options.plainHttp
      ? http.createServer(handler)
      : http2.createSecureServer({ ...issueServerCert(['localhost', '127.0.0.1', '::1']), allowHTTP1: true }, handler);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    fake = new FakeFcm(options, server, `${options.plainHttp ? 'http' : 'https'}://127.0.0.1:${port}`);
    server.on('connection', (s: net.Socket) => {
      fake.sockets.add(s);
      s.on('close', () => fake.sockets.delete(s));
    });
    server.on('session', (s: http2.ServerHttp2Session) => {
      fake.sessions.add(s);
      s.on('close', () => fake.sessions.delete(s));
    });
    return fake;
  }

  get sends(): FakeFcmRequest[] {
    return this.requests.filter((r) => SEND_PATH.test(r.path));
  }

  get tokenRequests(): FakeFcmRequest[] {
    return this.requests.filter((r) => r.path === '/token');
  }

  /** Every send to `token` gets this Google error until `reset()`. */
  failToken(token: string, failure: FcmFailure, retryAfter?: string): void {
    this.failures.set(token, { failure, retryAfter });
  }

  /** Sends to `token` succeed again. */
  recoverToken(token: string): void {
    this.failures.delete(token);
  }

  /** Every `/token` exchange gets this answer (e.g. `oauthError('invalid_grant', …)`) until `reset()`. */
  scriptTokenEndpoint(answer: GoogleAnswer | undefined): void {
    this.tokenScript = answer;
  }

  /** Forget issued tokens: later sends with them get 401 UNAUTHENTICATED, as after a revocation. */
  revokeTokens(): void {
    this.issuedTokens.clear();
  }

  reset(): void {
    this.requests.length = 0;
    this.failures.clear();
    this.tokenScript = undefined;
  }

  async close(): Promise<void> {
    for (const s of this.sessions) s.destroy();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(
    req: http.IncomingMessage | http2.Http2ServerRequest,
    res: http.ServerResponse | http2.Http2ServerResponse,
  ): Promise<void> {
    const at = Date.now();
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const headers = Object.fromEntries(
      Object.entries(req.headers)
        .filter(([k]) => !k.startsWith(':'))
        .map(([k, v]) => [k.toLowerCase(), Array.isArray(v) ? v.join(', ') : String(v)]),
    );
    const record: FakeFcmRequest = {
      method: req.method ?? '',
      path: req.url ?? '',
      httpVersion: req.httpVersion,
      headers,
      body: raw,
      status: 0,
      at,
      answeredAt: 0,
    };
    this.requests.push(record);
    const scheme = this.options.plainHttp ? 'http' : 'https';
    const answer =
      req.method === 'POST' && record.path === '/token'
        ? this.token(raw, `${scheme}://${headers.host ?? req.headers[':authority']}/token`, record)
        : req.method === 'POST' && SEND_PATH.test(record.path)
          ? this.send(raw, record)
          : { status: 404, headers: { 'content-type': 'text/html' }, body: '<html><body>404 Not Found</body></html>' };
    record.status = answer.status;
    record.answeredAt = Date.now();
    res.writeHead(answer.status, answer.headers);
    res.end(answer.body);
  }

  /** RFC 7523 §2.1 grant with Google's checks (developers.google.com/identity/protocols/oauth2/service-account#httprest). */
  private token(raw: string, expectedAud: string, record: FakeFcmRequest): GoogleAnswer {
    const form = new URLSearchParams(raw);
    record.body = Object.fromEntries(form);
    if (this.tokenScript) return this.tokenScript;
    if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer')
      return oauthError('unsupported_grant_type', `Invalid grant_type: ${form.get('grant_type') ?? ''}`);
    const parts = (form.get('assertion') ?? '').split('.');
    if (parts.length !== 3) return oauthError('invalid_request', 'Invalid JWT: not three segments.');
    const [h, c, s] = parts as [string, string, string];
    let header: Record<string, unknown>;
    let claims: Record<string, unknown>;
    try {
      header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8')) as Record<string, unknown>;
      claims = JSON.parse(Buffer.from(c, 'base64url').toString('utf8')) as Record<string, unknown>;
    } catch {
      return oauthError('invalid_request', 'Invalid JWT: malformed JSON.');
    }
    if (header.alg !== 'RS256') return oauthError('invalid_grant', 'Invalid JWT Signature.');
    if (!crypto.verify('sha256', Buffer.from(`${h}.${c}`), this.options.publicKey, Buffer.from(s, 'base64url'))) {
      return oauthError('invalid_grant', 'Invalid JWT Signature.');
    }
    record.claims = claims;
    const now = Math.floor(Date.now() / 1000);
    const iat = Number(claims.iat);
    const exp = Number(claims.exp);
    if (claims.iss !== this.options.clientEmail) return oauthError('invalid_grant', 'Invalid grant: account not found');
    if (claims.aud !== expectedAud) return oauthError('invalid_grant', 'Invalid JWT: Failed audience check.');
    if (!(iat <= now + 60 && exp > now && exp - iat <= 3600)) {
      return oauthError(
        'invalid_grant',
        'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.',
      );
    }
    if (
      !String(claims.scope ?? '')
        .split(' ')
        .includes(FCM_SCOPE)
    )
      return oauthError('invalid_scope', 'Invalid OAuth scope or ID token audience provided.');
    const accessToken = `ya29.fake-${crypto.randomBytes(24).toString('base64url')}`;
    this.issuedTokens.add(accessToken);
    return {
      status: 200,
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify({ access_token: accessToken, expires_in: 3600, token_type: 'Bearer' }),
    };
  }

  private send(raw: string, record: FakeFcmRequest): GoogleAnswer {
    const bearer = /^Bearer (.+)$/.exec(record.headers.authorization ?? '')?.[1];
    record.bearer = bearer;
    if (!bearer || !this.issuedTokens.has(bearer)) return UNAUTHENTICATED;
    const project = SEND_PATH.exec(record.path)![1];
    if (project !== this.options.projectId) return failureAnswer('SENDER_ID_MISMATCH');
    let body: { message?: Record<string, unknown>; validate_only?: unknown };
    try {
      body = JSON.parse(raw) as typeof body;
    } catch {
      return invalidArgument('', 'Invalid JSON payload received.');
    }
    record.body = body;
    for (const k of Object.keys(body)) if (k !== 'message' && k !== 'validate_only') return unknownField(k, '');
    const message = body.message;
    if (typeof message !== 'object' || message === null)
      return invalidArgument('message', 'Request contains an invalid argument.');
    const problem = validateMessage(message);
    if (problem) return problem;
    const token = message.token as string | undefined;
    const scripted = token !== undefined ? this.failures.get(token) : undefined;
    if (scripted) return failureAnswer(scripted.failure, scripted.retryAfter);
    return {
      status: 200,
      headers: { 'content-type': 'application/json; charset=UTF-8' },
      body: JSON.stringify({ name: `projects/${project}/messages/${++this.messageSeq}` }),
    };
  }
}

/** FCM v1 `Message` checks davpush's messages could trip (firebase.google.com/docs/reference/fcm/rest/v1/projects.messages). */
function validateMessage(m: Record<string, unknown>): GoogleAnswer | undefined {
  for (const k of Object.keys(m)) if (!MESSAGE_FIELDS.has(k)) return unknownField(k, 'message');
  const targets = ['token', 'topic', 'condition'].filter((k) => typeof m[k] === 'string' && m[k] !== '');
  if (targets.length !== 1) return invalidArgument('message', 'Exactly one of token, topic or condition must be set.');
  if (m.data !== undefined) {
    if (typeof m.data !== 'object' || m.data === null)
      return invalidArgument('message.data', "Invalid value at 'message.data'.");
    let size = 0;
    for (const [k, v] of Object.entries(m.data)) {
      if (typeof v !== 'string')
        return invalidArgument(`message.data[${k}]`, `Invalid value at 'message.data[${k}].value' (TYPE_STRING).`);
      size += Buffer.byteLength(k) + Buffer.byteLength(v);
    }
    if (size > MAX_DATA_BYTES) return invalidArgument('message', 'Android message is too big');
  }
  const android = m.android as Record<string, unknown> | undefined;
  if (android !== undefined) {
    for (const k of Object.keys(android)) if (!ANDROID_FIELDS.has(k)) return unknownField(k, 'message.android');
    // The enum is NORMAL|HIGH; Google's JSON parser takes the lower-case names firebase-admin sends.
    if (android.priority !== undefined && !/^(normal|high)$/i.test(String(android.priority))) {
      return invalidArgument(
        'message.android.priority',
        `Invalid value at 'message.android.priority' (type.googleapis.com/google.firebase.fcm.v1.AndroidMessagePriority), "${String(android.priority)}"`,
      );
    }
    if (android.ttl !== undefined) {
      const match = /^(\d+)(\.\d{1,9})?s$/.exec(String(android.ttl));
      if (!match)
        return invalidArgument(
          'message.android.ttl',
          `Invalid value at 'message.android.ttl' (type.googleapis.com/google.protobuf.Duration), "${String(android.ttl)}"`,
        );
      if (Number(match[1]) > MAX_TTL_SECONDS)
        return invalidArgument('message.android.ttl', 'The TTL must not exceed 4 weeks.');
    }
    if (android.collapse_key !== undefined && typeof android.collapse_key !== 'string')
      return invalidArgument('message.android.collapse_key', 'Invalid collapse key.');
  }
  return undefined;
}
