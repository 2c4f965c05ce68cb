import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { Readable } from 'node:stream';
import { Pool, type Dispatcher } from 'undici';
import { AppConfig } from '@davpush/config';
import { COLLECTION_STATE_PROPFIND, readCollectionState, type CollectionState } from '@davpush/webdav-push';

export interface UpstreamRequest {
  method: string;
  /** Path and query, as the client sent them. */
  path: string;
  /** Flat `[name, value, name, value, …]` list, duplicates kept in order (Node's rawHeaders form). */
  headers: string[];
  body?: Buffer | string | Readable;
}

/** A state read that the DAV server refused: its status, and `WWW-Authenticate` for a 401. */
export interface StateRead {
  status: number;
  wwwAuthenticate?: string | string[];
  state?: CollectionState;
}

/** Network-level failures of the DAV server (undici's own codes and the socket errors it passes on). */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EPIPE',
]);

/**
 * The DAV server did not answer (refused, reset, timed out): the proxy answers `502 Bad Gateway`
 * (RFC 9110 §15.6.3), never `503`, which it keeps for its own store being out.
 */
export class UpstreamUnreachableError extends Error {
  constructor(
    readonly code: string,
    cause: unknown,
  ) {
    super(`the DAV server did not answer (${code})`, { cause });
    this.name = 'UpstreamUnreachableError';
  }
}

function asUnreachable(err: unknown): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' && (code.startsWith('UND_ERR') || UNREACHABLE_CODES.has(code))
    ? new UpstreamUnreachableError(code, err)
    : err;
}

/**
 * The one DAV server the proxy fronts (DAVPUSH_PROXY_UPSTREAM): a fixed origin, so the proxy can
 * never be used to reach anything else. undici's Pool keeps connections alive and streams bodies
 * both ways; it neither decompresses nor follows redirects, so answers pass as the server sent them.
 */
@Injectable()
export class UpstreamClient implements OnModuleDestroy {
  readonly origin: string;
  /** The upstream root path without trailing slash ('' for the server root). */
  readonly rootPath: string;
  /** Upstream origin and root: what the proxy's topics are keyed on. */
  readonly id: string;
  private readonly pool: Pool;

  constructor(config: AppConfig) {
    const url = new URL(config.proxy!.upstream);
    this.origin = url.origin;
    this.rootPath = url.pathname.replace(/\/+$/, '');
    this.id = `${this.origin}${this.rootPath}`;
    this.pool = new Pool(this.origin, {
      connections: 128,
      keepAliveTimeout: 30_000,
      headersTimeout: 120_000,
      bodyTimeout: 300_000,
    });
  }

  /** @throws UpstreamUnreachableError when the server does not answer. */
  request(req: UpstreamRequest): Promise<Dispatcher.ResponseData> {
    return this.pool
      .request({ method: req.method as Dispatcher.HttpMethod, path: req.path, headers: req.headers, body: req.body })
      .catch((err: unknown) => {
        throw asUnreachable(err);
      });
  }

  /**
   * Depth-0 PROPFIND of a collection's type and sync-token with the given `Authorization` (the
   * client's own, or the service account's), as the upstream's own access check.
   */
  async collectionState(path: string, authorization: string | undefined): Promise<StateRead> {
    try {
      return await this.readState(path, authorization);
    } catch (err) {
      throw asUnreachable(err);
    }
  }

  private async readState(path: string, authorization: string | undefined): Promise<StateRead> {
    const headers = ['content-type', 'application/xml; charset=utf-8', 'depth', '0', 'accept-encoding', 'identity'];
    if (authorization) headers.push('authorization', authorization);
    const res = await this.request({ method: 'PROPFIND', path, headers, body: COLLECTION_STATE_PROPFIND });
    const text = await res.body.text();
    if (res.statusCode !== 207) return { status: res.statusCode, wwwAuthenticate: res.headers['www-authenticate'] };
    return { status: 207, state: readCollectionState(text) };
  }

  /**
   * Start-up check: the server answers at all (any status; OPTIONS needs no credentials on
   * Radicale or Xandikos). Throws an Error naming the upstream and the cause otherwise.
   */
  async check(timeoutMs = 5000): Promise<void> {
    try {
      await this.ping(timeoutMs);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new Error(
        `the DAV server DAVPUSH_PROXY_UPSTREAM=${this.id}/ does not answer (${e.code ?? e.message}); start it first or fix the URL`,
        { cause: err },
      );
    }
  }

  /** One OPTIONS of the root (no credentials needed); throws when the server does not answer. */
  async ping(timeoutMs = 5000): Promise<void> {
    const res = await this.pool.request({
      method: 'OPTIONS',
      path: `${this.rootPath}/`,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    await res.body.dump();
  }

  async onModuleDestroy(): Promise<void> {
    await this.pool.close();
  }
}
