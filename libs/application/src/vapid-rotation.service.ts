import { Injectable, Logger } from '@nestjs/common';
import webpush from 'web-push';
import { AppConfig } from '@davpush/config';
import { KEY_ROTATION_MESSAGE, type Registration } from '@davpush/domain';
import { RegistrationStore } from '@davpush/storage';
import { VapidService, WebPushGateway } from '@davpush/gateways';
import { buildPushMessage } from '@davpush/webdav-push';

export interface RotationResult {
  notified: number;
  gone: number;
  failed: number;
  publicKey: string;
}

const CONCURRENCY = 32;

/**
 * VAPID key rotation (WebDAV-Push draft §"VAPID key rotation"): every distinct live Web Push
 * subscription first gets the rotation message (property-update of `transports`, no topic),
 * signed with the OLD key it was created with, so clients re-read the key and re-subscribe;
 * only then is the new key stored and advertised. Other processes pick it up within seconds.
 */
@Injectable()
export class VapidRotationService {
  private readonly logger = new Logger(VapidRotationService.name);

  constructor(
    private readonly config: AppConfig,
    private readonly vapid: VapidService,
    private readonly gateway: WebPushGateway,
    private readonly registrations: RegistrationStore,
  ) {}

  async rotate(): Promise<RotationResult> {
    if (this.config.vapid.publicKey) {
      throw new Error(
        'VAPID keys come from DAVPUSH_VAPID_PUBLIC_KEY/PRIVATE_KEY: rotate them there (and restart), not here',
      );
    }
    const oldKeys = await this.vapid.current();
    const targets = await this.distinctWebPush();
    const payload = buildPushMessage(KEY_ROTATION_MESSAGE);
    const result = { notified: 0, gone: 0, failed: 0 };
    for (let i = 0; i < targets.length; i += CONCURRENCY) {
      const outcomes = await Promise.all(
        targets.slice(i, i + CONCURRENCY).map((registration) =>
          this.gateway.send(
            {
              registration,
              message: KEY_ROTATION_MESSAGE,
              payload,
              ttlSeconds: this.config.defaultTtlSeconds,
              urgency: 'normal',
              collapseKey: 'vapid-key-rotation',
            },
            oldKeys,
          ),
        ),
      );
      outcomes.forEach((o, j) => {
        if (o.kind === 'accepted') result.notified++;
        else if (o.kind === 'gone') {
          result.gone++;
          void this.registrations.remove(targets[i + j]!.id, { identity: targets[i + j]!.subscription });
        } else result.failed++;
      });
    }
    const next = webpush.generateVAPIDKeys();
    await this.vapid.useKeys(next);
    this.logger.log({ msg: 'VAPID key rotated', ...result });
    return { ...result, publicKey: next.publicKey };
  }

  private async distinctWebPush(): Promise<Registration[]> {
    const seen = new Map<string, Registration>();
    let cursor: number | undefined = 0;
    while (cursor !== undefined) {
      const page = await this.registrations.scanLive(cursor);
      for (const r of page.registrations) {
        if (r.subscription.type === 'web-push' && !seen.has(r.subscription.pushResource))
          seen.set(r.subscription.pushResource, r);
      }
      cursor = page.next;
    }
    return [...seen.values()];
  }
}
