import type { Subscription, Trigger } from '@davpush/domain';
import { decodeValue } from './registration-record';
import { registrationIdOf, vanishedIdOf } from './registration-id';

/** What the fan-out needs of a registration: which changes it wants and where it goes (for grouping). */
export interface RegistrationTarget {
  id: string;
  trigger: Trigger;
  transport: Subscription['type'];
  subscription: Subscription;
  /** CC/CD 70025 client id, when the registration was made with one. */
  clientId?: string;
}

/**
 * The fan-out targets among stored values (`values[i]` of `identities[i]`, null when gone) of one
 * topic (by tag), in order; `missing` names the gone ones by tag and identity (their secret went with them).
 */
export function targetsFrom(
  tag: string,
  identities: readonly Buffer[],
  values: readonly (Buffer | null)[],
): { targets: RegistrationTarget[]; missing: string[] } {
  const targets: RegistrationTarget[] = [];
  const missing: string[] = [];
  values.forEach((raw, i) => {
    if (!raw) return void missing.push(vanishedIdOf(tag, identities[i]!));
    const { subscription, trigger, clientId, secret } = decodeValue(raw);
    const target: RegistrationTarget = {
      id: registrationIdOf(tag, identities[i]!, secret),
      trigger,
      transport: subscription.type,
      subscription,
    };
    if (clientId !== undefined) target.clientId = clientId;
    targets.push(target);
  });
  return { targets, missing };
}
