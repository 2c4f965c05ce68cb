import { Injectable, type OnModuleInit } from '@nestjs/common';
import webpush from 'web-push';
import { AppConfig } from '@davpush/config';
import { SecretStore, type VapidKeyPair } from '@davpush/storage';

/** A signed JWT is reused until this close to its expiry (RFC 8292 allows exp ≤ 24 h). */
const JWT_LIFETIME_S = 12 * 3600;
const REFRESH_BEFORE_S = 3600;
/** How often other processes notice a key rotation. */
const RELOAD_MS = 15_000;

/**
 * The VAPID key pair and the per-origin Authorization header cache. Signing costs ~0.8 ms of CPU
 * (ES256 through asn1.js in web-push); caching per push-service origin turns that into a map lookup
 * (reference: dispatch-anchors §3).
 */
@Injectable()
export class VapidService implements OnModuleInit {
  private keys!: VapidKeyPair;
  private loadedAt = 0;
  private readonly cache = new Map<string, { header: string; exp: number }>();

  constructor(
    private readonly config: AppConfig,
    private readonly secrets: SecretStore,
  ) {}

  async onModuleInit(): Promise<void> {
    // A placeholder or unreachable subject is reported once at start-up (libs/runtime/src/start-up-warnings.ts).
    await this.reload();
  }

  private async reload(): Promise<void> {
    const { publicKey, privateKey } = this.config.vapid;
    const next = publicKey && privateKey ? { publicKey, privateKey } : await this.secrets.vapidKeys();
    if (this.keys && next.publicKey !== this.keys.publicKey) this.cache.clear();
    this.keys = next;
    this.loadedAt = Date.now();
  }

  get publicKey(): string {
    return this.keys.publicKey;
  }

  /** Current keys; re-read from Redis now and then so a rotation reaches every process. */
  async current(): Promise<VapidKeyPair> {
    if (Date.now() - this.loadedAt > RELOAD_MS) await this.reload().catch(() => undefined);
    return this.keys;
  }

  /** `vapid t=…, k=…` for a push resource's origin, signed with `keys` (default: current). */
  async authorization(origin: string, keys?: VapidKeyPair): Promise<string> {
    const pair = keys ?? (await this.current());
    const cacheKey = `${pair.publicKey} ${origin}`;
    const now = Math.floor(Date.now() / 1000);
    const hit = this.cache.get(cacheKey);
    if (hit && hit.exp - now > REFRESH_BEFORE_S) return hit.header;
    const exp = now + JWT_LIFETIME_S;
    const headers = webpush.getVapidHeaders(
      origin,
      this.config.vapid.subject,
      pair.publicKey,
      pair.privateKey,
      'aes128gcm',
      exp,
    );
    const header = headers.Authorization as string;
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(cacheKey, { header, exp });
    return header;
  }

  /** After `davpush vapid rotate`: use the new pair from now on in this process. */
  async useKeys(next: VapidKeyPair): Promise<void> {
    await this.secrets.replaceVapidKeys(next);
    await this.reload();
  }
}
