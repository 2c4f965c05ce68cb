import { z } from 'zod';
import type { RegistrationRequest } from '@davpush/domain';

const text = (max: number) => z.string().max(max);
const depth = z.union([z.string().max(16), z.number().int().min(0).max(1)]).transform(String);

/**
 * The JSON front door (CONTRACT §3). Types are checked here (400); whether the subscription is
 * usable is the domain's call (403 invalid-subscription), the same as for the XML form.
 */
export const RegistrationJson = z.object({
  subscription: z
    .object({
      type: text(32),
      pushResource: text(4096).optional(),
      publicKey: text(512).optional(),
      authSecret: text(512).optional(),
      contentEncoding: text(64).optional(),
      token: text(8192).optional(),
    })
    .optional(),
  trigger: z
    .object({
      contentUpdate: z.object({ depth: depth.optional() }).optional(),
      propertyUpdate: z.object({ depth: depth.optional(), props: z.array(text(512)).max(64).optional() }).optional(),
    })
    .optional(),
  expires: text(64).optional(),
});

export function toRegistrationRequest(body: z.infer<typeof RegistrationJson>): RegistrationRequest {
  const s = body.subscription;
  let subscription: RegistrationRequest['subscription'];
  if (s?.type === 'web-push') {
    subscription = { type: 'web-push', pushResource: s.pushResource, publicKey: s.publicKey, authSecret: s.authSecret, contentEncoding: s.contentEncoding };
  } else if (s?.type === 'fcm') {
    subscription = { type: 'fcm', token: s.token };
  } else if (s) {
    subscription = { type: 'unknown' };
  }
  return { subscription, trigger: body.trigger, expires: body.expires };
}
