import { createECDH, randomBytes } from 'node:crypto';
import type { RegistrationStore } from '@davpush/storage';

const ecdh = createECDH('prime256v1');
ecdh.generateKeys();

/**
 * Registers `n` Web Push subscriptions one after the other (tenant `t1`, topic `cal`, content
 * updates at depth 1, a day to live) and returns their ids in order. `endpoint(i)` names each push
 * resource; by default a random one, so every call makes new registrations.
 */
export async function registerWebPush(
  store: RegistrationStore,
  n: number,
  endpoint: (i: number) => string = () => `https://push.example/${randomBytes(6).toString('hex')}`,
): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const { id } = await store.upsert(
      't1',
      'cal',
      {
        subscription: {
          type: 'web-push',
          pushResource: endpoint(i),
          publicKey: ecdh.getPublicKey('base64url'),
          authSecret: randomBytes(16).toString('base64url'),
          contentEncoding: 'aes128gcm',
        },
        trigger: { contentUpdate: { depth: '1' } },
        expiresAt: Date.now() + 86_400_000,
      },
      undefined,
    );
    ids.push(id);
  }
  return ids;
}
