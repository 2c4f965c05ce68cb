import type { Registration, Subscription, Trigger } from '@davpush/domain';
import { decodeValue, type RegistrationValue } from './registration-record';
import { registrationIdOf, vanishedIdOf } from './registration-id';

/** What the fan-out needs of a registration: which changes it wants and where it goes (for grouping). */
export interface RegistrationTarget {
  id: string;
  trigger: Trigger;
  transport: Subscription['type'];
  subscription: Subscription;
  /** CC/CD 70025 client id, when the registration was made with one. */
  clientId?: string;
  /**
   * The whole registration as read with it, when its expiry was read in the same step (a fan-out's
   * first page, `DispatchStore.claimAndList`): what a delivery inside the fan-out job sends with.
   */
  registration?: Registration;
}

/** A stored value (its secret already checked against the id) as the registration it records. */
export function registrationFrom(
  id: string,
  tenantId: string,
  topic: string,
  value: RegistrationValue,
  expiresAt: number,
): Registration {
  const { secret: _secret, ...rest } = value;
  return { id, tenantId, topic, ...rest, expiresAt };
}

/**
 * The fan-out targets among stored values (`values[i]` of `identities[i]`, null when gone) of one
 * topic (by tag), in order; `missing` names the gone ones by tag and identity (their secret went
 * with them). With `read` (the topic and each identity's expiry), each target carries its whole
 * registration too.
 */
export function targetsFrom(
  tag: string,
  identities: readonly Buffer[],
  values: readonly (Buffer | null)[],
  read?: { tenantId: string; topic: string; expiries: readonly number[] },
): { targets: RegistrationTarget[]; missing: string[] } {
  const targets: RegistrationTarget[] = [];
  const missing: string[] = [];
  values.forEach((raw, i) => {
    if (!raw) return void missing.push(vanishedIdOf(tag, identities[i]!));
    const value = decodeValue(raw);
    const id = registrationIdOf(tag, identities[i]!, value.secret);
    const target: RegistrationTarget = {
      id,
      trigger: value.trigger,
      transport: value.subscription.type,
      subscription: value.subscription,
    };
    if (value.clientId !== undefined) target.clientId = value.clientId;
    if (read) target.registration = registrationFrom(id, read.tenantId, read.topic, value, read.expiries[i]!);
    targets.push(target);
  });
  return { targets, missing };
}
