import { Injectable } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import webpush from 'web-push';
import { keys } from './keys';
import { RedisService } from './redis.service';

export interface VapidKeyPair {
  publicKey: string;
  privateKey: string;
}

/**
 * Server secrets that must be identical in every process (api and workers): the VAPID key pair
 * when not configured, and the key of the Web Push `Topic` hash. Created once with HSETNX so two
 * processes starting together agree on one value.
 */
@Injectable()
export class SecretStore {
  constructor(private readonly redis: RedisService) {}

  async vapidKeys(): Promise<VapidKeyPair> {
    const fresh = webpush.generateVAPIDKeys();
    // One atomic step: the first process to get here writes both halves, everybody reads the winner.
    const [publicKey, privateKey] = (await this.redis.client.eval(
      `if redis.call('HEXISTS', KEYS[1], 'vapidPublicKey') == 0 then
         redis.call('HSET', KEYS[1], 'vapidPublicKey', ARGV[1], 'vapidPrivateKey', ARGV[2])
       end
       return redis.call('HMGET', KEYS[1], 'vapidPublicKey', 'vapidPrivateKey')`,
      1,
      keys.secrets(),
      fresh.publicKey,
      fresh.privateKey,
    )) as [string, string];
    return { publicKey, privateKey };
  }

  async replaceVapidKeys(next: VapidKeyPair): Promise<void> {
    await this.redis.client.hset(keys.secrets(), 'vapidPublicKey', next.publicKey, 'vapidPrivateKey', next.privateKey);
  }

  async topicKey(): Promise<Buffer> {
    await this.redis.client.hsetnx(keys.secrets(), 'topicKey', randomBytes(32).toString('base64url'));
    return Buffer.from((await this.redis.client.hget(keys.secrets(), 'topicKey'))!, 'base64url');
  }
}
