import { Injectable } from '@nestjs/common';
import {
  ValidationError,
  WEB_PUSH_MAX_PLAINTEXT_BYTES,
  type DeliveryOutcome,
  type Subscription,
} from '@davpush/domain';
import { buildPushMessageWithin } from '@davpush/webdav-push';
import { SafeHttpClient } from '../http/safe-http.client';
import { PushGateway, type PreparedPush, type PushDelivery } from '../push-gateway';
import { classifyWebPushAnswer, classifyWebPushError } from './web-push.classifier';
import { VapidService } from './vapid.service';
import { EncryptionError, WebPushEncryptor, type EncryptedRequest } from './web-push-encryptor';
import type { VapidKeyPair } from '@davpush/storage';

/** Pushes per delivery job; a crash re-sends at most the ones of a batch still in flight. */
export const WEB_PUSH_BATCH_SIZE = 50;

/**
 * Web Push (RFC 8030) with RFC 8291 aes128gcm encryption by the `web-push` package. web-push builds
 * the encrypted request (on an encryption thread, WebPushEncryptor); we add the cached VAPID header and send it through SafeHttpClient (SSRF
 * guard, timeouts, body cap) rather than web-push's own https.request (unbounded body, no guard).
 */
@Injectable()
export class WebPushGateway extends PushGateway {
  readonly transport = 'web-push' as const;
  readonly batchSize = WEB_PUSH_BATCH_SIZE;

  constructor(
    private readonly vapid: VapidService,
    private readonly http: SafeHttpClient,
    private readonly encryptor: WebPushEncryptor,
  ) {
    super();
  }

  override routeKey(sub: Subscription): string {
    try {
      return sub.type === 'web-push' ? new URL(sub.pushResource).origin : this.transport;
    } catch {
      return this.transport;
    }
  }

  async send(d: PushDelivery, keys?: VapidKeyPair): Promise<DeliveryOutcome> {
    const prepared = await this.prepare(d, keys);
    return 'outcome' in prepared ? prepared.outcome : prepared.transmit();
  }

  /** Checks, VAPID header and encryption; `transmit` is the POST to the push resource alone. */
  override async prepare(d: PushDelivery, keys?: VapidKeyPair): Promise<PreparedPush> {
    const sub = d.registration.subscription;
    if (sub.type !== 'web-push') throw new Error('WebPushGateway got a non-web-push registration');
    let url: URL;
    try {
      url = new URL(sub.pushResource);
    } catch {
      // A local judgement, not the push service's 404/410: never prune on it (RFC 8030 §8.2).
      return { outcome: { kind: 'rejected', reason: 'push resource is not a valid URL' } };
    }
    // RFC 8291 §4: one record, at most 3993 bytes of plaintext. Whatever the caller built (the
    // delivery path fits it already; VAPID rotation and future callers may not), nothing larger
    // reaches the wire: shrink it the one documented way, or refuse it without sending.
    let payload = d.payload;
    if (Buffer.byteLength(payload, 'utf8') > WEB_PUSH_MAX_PLAINTEXT_BYTES) {
      try {
        payload = buildPushMessageWithin(d.message, WEB_PUSH_MAX_PLAINTEXT_BYTES).payload;
      } catch (err) {
        if (err instanceof ValidationError) return { outcome: { kind: 'rejected', reason: err.message } };
        throw err;
      }
    }
    // Our own key store failing is our trouble, not the push service's: it throws to the caller.
    const authorization = await this.vapid.authorization(url.origin, keys);
    let request: EncryptedRequest;
    try {
      request = await this.encryptor.encrypt({
        endpoint: sub.pushResource,
        p256dh: sub.publicKey,
        auth: sub.authSecret,
        payload,
        options: {
          TTL: d.ttlSeconds,
          urgency: d.urgency,
          topic: d.collapseKey,
          contentEncoding: 'aes128gcm',
          headers: { Authorization: authorization },
        },
      });
    } catch (err) {
      // Keys that passed validation but still fail to encrypt: a local failure, so the message is
      // refused and the registration kept; only the push service's 404/410 prunes (RFC 8030 §8.2).
      if (err instanceof EncryptionError)
        return { outcome: { kind: 'rejected', reason: `encryption failed: ${err.message}` } };
      throw err;
    }
    return {
      transmit: async () => {
        try {
          return classifyWebPushAnswer(await this.http.post(url, request.headers, request.body));
        } catch (err) {
          return classifyWebPushError(err);
        }
      },
    };
  }
}
