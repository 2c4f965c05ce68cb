import { createPrivateKey, sign } from 'node:crypto';
import * as fs from 'node:fs';
import type * as http from 'node:http';
import * as https from 'node:https';
import type { Credential, GoogleOAuthAccessToken } from 'firebase-admin/app';
import { ConfigError } from '@davpush/config';

/** The part of a Google service-account key file we use. */
export interface ServiceAccountKey {
  projectId: string;
  clientEmail: string;
  /** PKCS#8 PEM, RSA (Google only issues RS256 service-account keys). */
  privateKey: string;
  privateKeyId?: string;
}

/** The OAuth scope FCM HTTP v1 requires (firebase.google.com/docs/cloud-messaging/auth-server). */
export const FCM_SCOPE = 'https://www.googleapis.com/auth/firebase.messaging';
const JWT_LIFETIME_S = 3600;
const TOKEN_TIMEOUT_MS = 15_000;
const MAX_TOKEN_RESPONSE = 64 * 1024;

const problem = (file: string, what: string) =>
  // GOOGLE_APPLICATION_CREDENTIALS is only the fallback; the operator-facing name is ours.
  new ConfigError([`DAVPUSH_FCM_CREDENTIALS (${file}): ${what}`]);

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v : undefined);

/**
 * Reads and checks a service-account JSON at start-up, so a wrong path or a pasted-over key stops the
 * process with one clear message instead of failing every push later with an OAuth error.
 */
export function loadServiceAccount(file: string): ServiceAccountKey {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw problem(file, 'file does not exist');
    if (code === 'EISDIR') throw problem(file, 'is a directory, expected a service-account JSON file');
    if (code === 'EACCES') throw problem(file, 'cannot be read (permission denied)');
    throw problem(file, `cannot be read (${code ?? 'unknown error'})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw problem(file, 'is not valid JSON');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw problem(file, 'is not a JSON object');
  const o = json as Record<string, unknown>;
  if (o.type !== 'service_account') {
    throw problem(
      file,
      `has type ${JSON.stringify(o.type ?? null)}, expected "service_account" (Firebase console → Project settings → Service accounts → Generate new private key)`,
    );
  }
  const projectId = str(o.project_id);
  const clientEmail = str(o.client_email);
  const privateKey = str(o.private_key);
  if (!projectId) throw problem(file, 'has no project_id');
  if (!clientEmail) throw problem(file, 'has no client_email');
  if (!privateKey) throw problem(file, 'has no private_key');
  let keyType: string | undefined;
  try {
    keyType = createPrivateKey(privateKey).asymmetricKeyType;
  } catch {
    throw problem(file, 'private_key is not a PEM private key');
  }
  if (keyType !== 'rsa')
    throw problem(file, `private_key is a ${keyType ?? 'non-asymmetric'} key, expected RSA (RS256)`);
  return { projectId, clientEmail, privateKey, privateKeyId: str(o.private_key_id) };
}

/** What readiness reports about the OAuth side, updated on every token fetch. */
export interface CredentialHealthState {
  lastTokenOk?: boolean;
  lastTokenAt?: number;
  lastError?: string;
  /** Whether the last failure looked temporary (5xx, 429, network) rather than a rejected key. */
  lastErrorTransient?: boolean;
}

export class CredentialHealth {
  private current: CredentialHealthState = {};

  get state(): CredentialHealthState {
    return { ...this.current };
  }

  succeeded(now = Date.now()): void {
    this.current = { lastTokenOk: true, lastTokenAt: now };
  }

  failed(err: unknown, now = Date.now()): void {
    this.current = {
      lastTokenOk: false,
      lastTokenAt: now,
      lastError: describe(err),
      lastErrorTransient: isTransientTokenError(err),
    };
  }
}

/** A token endpoint answer other than a token. `transient` decides retry versus "fix the key". */
export class TokenExchangeError extends Error {
  constructor(
    message: string,
    readonly transient: boolean,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'TokenExchangeError';
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Ours carry `transient`; google-auth-library's (gaxios) carry `response.status` or a socket `code`.
 * A 4xx from the token server (invalid_grant, deleted key) is permanent; everything else may pass.
 */
export function isTransientTokenError(err: unknown): boolean {
  if (err instanceof TokenExchangeError) return err.transient;
  const e = err as { response?: { status?: unknown }; code?: unknown } | undefined;
  const status = e?.response?.status;
  if (typeof status === 'number') return status >= 500 || status === 429 || status === 408;
  return typeof e?.code === 'string' && /^E[A-Z]+$/.test(e.code);
}

/** Wraps firebase-admin's own credential to record token health for readiness (production path). */
export function observedCredential(inner: Credential, health: CredentialHealth): Credential {
  return {
    async getAccessToken(): Promise<GoogleOAuthAccessToken> {
      try {
        const token = await inner.getAccessToken();
        health.succeeded();
        return token;
      } catch (err) {
        health.failed(err);
        throw err;
      }
    },
  };
}

/** RFC 7523 §2.1 service-account assertion, signed RS256 (RFC 7515/7518) with node:crypto. */
export function signServiceAccountJwt(
  sa: ServiceAccountKey,
  audience: string,
  nowSeconds = Math.floor(Date.now() / 1000),
): string {
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const header = b64({ alg: 'RS256', typ: 'JWT', ...(sa.privateKeyId ? { kid: sa.privateKeyId } : {}) });
  const claims = b64({
    iss: sa.clientEmail,
    scope: FCM_SCOPE,
    aud: audience,
    iat: nowSeconds,
    exp: nowSeconds + JWT_LIFETIME_S,
  });
  const signature = sign('sha256', Buffer.from(`${header}.${claims}`), sa.privateKey).toString('base64url');
  return `${header}.${claims}.${signature}`;
}

/**
 * The credential used when DAVPUSH_FCM_ENDPOINT is set. firebase-admin's `cert()` fetches tokens
 * through gaxios, which always dials oauth2.googleapis.com whatever agent it is given, so an
 * emulator could never see the exchange. This one does the same JWT-bearer grant (RFC 7523 §2.1)
 * against `<endpoint>/token`, through the agent that routes to the endpoint.
 */
export class EndpointTokenCredential implements Credential {
  constructor(
    private readonly sa: ServiceAccountKey,
    private readonly tokenUrl: URL,
    private readonly agent: http.Agent,
    private readonly health: CredentialHealth,
  ) {}

  async getAccessToken(): Promise<GoogleOAuthAccessToken> {
    try {
      const token = await this.exchange();
      this.health.succeeded();
      return token;
    } catch (err) {
      this.health.failed(err);
      throw err;
    }
  }

  private async exchange(): Promise<GoogleOAuthAccessToken> {
    const assertion = signServiceAccountJwt(this.sa, this.tokenUrl.href);
    const form = new URLSearchParams({
      grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
      assertion,
    }).toString();
    const { status, body } = await postForm(this.tokenUrl, form, this.agent);
    let json: Record<string, unknown> | undefined;
    try {
      json = JSON.parse(body) as Record<string, unknown>;
    } catch {
      json = undefined;
    }
    if (status === 200 && typeof json?.access_token === 'string' && typeof json.expires_in === 'number') {
      return { access_token: json.access_token, expires_in: json.expires_in };
    }
    const transient = status >= 500 || status === 429 || status === 408;
    const oauthError = typeof json?.error === 'string' ? ` ${json.error}` : '';
    const detail = typeof json?.error_description === 'string' ? `: ${json.error_description}` : '';
    const what =
      status === 200 ? 'answered 200 without access_token/expires_in' : `answered ${status}${oauthError}${detail}`;
    throw new TokenExchangeError(`token endpoint ${this.tokenUrl.href} ${what}`, transient, status);
  }
}

function postForm(url: URL, form: string, agent: http.Agent): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    // Always https.request: for an http:// endpoint the agent hands back a plain TCP socket.
    const req = https.request(
      {
        protocol: 'https:',
        hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'),
        port: url.port || undefined,
        path: `${url.pathname}${url.search}`,
        method: 'POST',
        agent,
        timeout: TOKEN_TIMEOUT_MS,
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'content-length': Buffer.byteLength(form),
          accept: 'application/json',
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_TOKEN_RESPONSE)
            req.destroy(new TokenExchangeError(`token endpoint ${url.href} answered more than 64 KiB`, true));
          else chunks.push(c);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new TokenExchangeError(`token endpoint ${url.href} timed out`, true)));
    req.on('error', (err) =>
      reject(
        err instanceof TokenExchangeError
          ? err
          : new TokenExchangeError(
              `token endpoint ${url.href}: ${(err as NodeJS.ErrnoException).code ?? err.message}`,
              true,
            ),
      ),
    );
    req.end(form);
  });
}
