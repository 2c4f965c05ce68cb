import { Injectable } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { type DeliveryRecord, type Registration, type Subscription, type ValidRegistration } from '@davpush/domain';
import { BUCKETS, bucketOf, digest, keys, topicKeys, topicTag } from './keys';
import { RedisService } from './redis.service';
import { decodeValue, encodeValue, identityDigest, SECRET_BYTES } from './registration-record';
import { parseRegistrationId, registrationIdOf, vanishedIdOf, type RegistrationRef } from './registration-id';
import { registrationFrom, targetsFrom, type RegistrationTarget } from './registration-target';
import { drainTopic, eachTopic, refileIfRepopulated } from './registration-topics';
import { RECORD, REMOVE, RESERVE, UPSERT } from './registration.scripts';

export type UpsertResult =
  | { status: 'created' | 'updated'; id: string }
  | { status: 'forbidden'; id: string }
  | { status: 'limit-topic' | 'limit-principal'; id: '' };

/** Live registrations allowed per tenant topic and per tenant principal; 0 = no limit. */
export interface RegistrationLimits {
  perTopic: number;
  perPrincipal: number;
}

export const NO_REGISTRATION_LIMITS: RegistrationLimits = { perTopic: 0, perPrincipal: 0 };

/** The principal index member of a registration: its tag and identity (the same for every secret it had). */
const principalMember = (tag: string, identity: Buffer) => vanishedIdOf(tag, identity);

/**
 * Registrations, one field each in their topic's hash (registration-record.ts), with the topic's
 * expiry index; every write is one Lua step on the topic's slot (registration.scripts.ts). Indexes
 * across topics (a principal's registrations, a tenant's topics, the sweep's buckets) are separate
 * keys, written before the topic (so a crash leaves an index entry to nothing, never the reverse).
 */
@Injectable()
export class RegistrationStore {
  constructor(private readonly redis: RedisService) {}

  async upsert(
    tenantId: string,
    topic: string,
    reg: ValidRegistration,
    principal: string | undefined,
    now = Date.now(),
    limits: RegistrationLimits = NO_REGISTRATION_LIMITS,
  ): Promise<UpsertResult> {
    const client = this.redis.client;
    const tag = topicTag(tenantId, topic);
    const identity = identityDigest(reg.subscription);
    const principalKey = principal ? keys.principal(tenantId, digest(principal)) : undefined;
    let reserved = false;
    if (principalKey) {
      // The per-principal limit spans topics (and slots): checked and spent first, in the principal's own slot.
      const r = await RESERVE.run(
        client,
        [principalKey],
        [principalMember(tag, identity), reg.expiresAt, now, limits.perPrincipal],
      );
      if (r === 'limit') return { status: 'limit-principal', id: '' };
      reserved = r === 'new';
    }
    // Filed in the indexes across topics before the topic is written, and again when this made the
    // topic (a removal that emptied it meanwhile may have just taken it out of them).
    const file = () =>
      Promise.all([
        client.sadd(keys.tenantTopics(tenantId, bucketOf(tag)), tag),
        client.zadd(keys.sweepBucket(bucketOf(tag)), 'LT', reg.expiresAt, tag),
      ]);
    await file();
    const value = encodeValue({
      secret: randomBytes(SECRET_BYTES),
      createdAt: now,
      updatedAt: now,
      consecutiveFailures: 0,
      principal,
      clientId: reg.clientId,
      subscription: reg.subscription,
      trigger: reg.trigger,
    });
    const k = topicKeys(tag);
    const [status, secret, fresh] = (await UPSERT.runBuffer(
      client,
      [k.registrations, k.expiry, k.meta],
      [identity, value, reg.expiresAt, now, principal ?? '', limits.perTopic, tenantId, topic],
    )) as [Buffer, Buffer, number];
    const s = status.toString() as UpsertResult['status'];
    if (fresh === 1) await file();
    if (reserved && (s === 'forbidden' || s === 'limit-topic'))
      await client.zrem(principalKey!, principalMember(tag, identity));
    if (s === 'limit-topic') return { status: s, id: '' };
    return { status: s, id: registrationIdOf(tag, identity, secret) } as UpsertResult;
  }

  /** A live (unexpired) registration, optionally only if it belongs to the tenant. */
  async get(id: string, tenantId?: string, now = Date.now()): Promise<Registration | undefined> {
    return (await this.getMany([id], tenantId, now))[0];
  }

  /**
   * {@link get} for many ids, in order: one round trip per topic among them (a delivery batch is
   * of one topic), three commands whatever their number.
   */
  async getMany(ids: readonly string[], tenantId?: string, now = Date.now()): Promise<(Registration | undefined)[]> {
    const found: (Registration | undefined)[] = Array.from({ length: ids.length });
    const byTag = new Map<string, { i: number; id: string; ref: RegistrationRef }[]>();
    ids.forEach((id, i) => {
      const ref = parseRegistrationId(id);
      if (!ref) return;
      const refs = byTag.get(ref.tag) ?? [];
      refs.push({ i, id, ref });
      byTag.set(ref.tag, refs);
    });
    await Promise.all(
      [...byTag].map(async ([tag, refs]) => {
        const k = topicKeys(tag);
        const identities = refs.map((r) => r.ref.identity);
        const [values, expiries, [t, p]] = await Promise.all([
          this.redis.client.hmgetBuffer(k.registrations, ...identities),
          this.redis.client.zmscore(k.expiry, ...identities),
          this.redis.client.hmget(k.meta, 't', 'p'),
        ]);
        if (!t || !p || (tenantId && t !== tenantId)) return;
        refs.forEach(({ i, id, ref }, j) => {
          const raw = values[j];
          const expiry = Number(expiries[j] ?? 0);
          if (!raw || expiry <= now) return;
          const value = decodeValue(raw);
          if (value.secret.equals(ref.secret)) found[i] = registrationFrom(id, t, p, value, expiry);
        });
      }),
    );
    return found;
  }

  /**
   * Removes a registration. `tenantId`/`principal` restrict who may remove it (`strictPrincipal`: a
   * bound registration needs its principal even when none is given); `identity` (a pruning worker's
   * view of the subscription) makes sure another subscription is never removed by an old outcome.
   */
  async remove(
    id: string,
    opts: { tenantId?: string; principal?: string; strictPrincipal?: boolean; identity?: Subscription } = {},
    now = Date.now(),
  ): Promise<'removed' | 'not-found' | 'forbidden'> {
    const ref = parseRegistrationId(id);
    if (!ref || (opts.identity && !identityDigest(opts.identity).equals(ref.identity))) return 'not-found';
    const k = topicKeys(ref.tag);
    const [r, owner, tenant, emptied] = (await REMOVE.run(
      this.redis.client,
      [k.registrations, k.expiry, k.meta],
      [ref.identity, ref.secret, opts.tenantId ?? '', now, opts.principal ?? '', opts.strictPrincipal ? '1' : ''],
    )) as [number, string, string, number];
    const client = this.redis.client;
    await Promise.all([
      owner ? client.zrem(keys.principal(tenant, digest(owner)), principalMember(ref.tag, ref.identity)) : undefined,
      // The topic's last registration: out of the indexes across topics (an upsert files it again, see above).
      emptied === 1 ? client.srem(keys.tenantTopics(tenant, bucketOf(ref.tag)), ref.tag) : undefined,
      emptied === 1 ? client.zrem(keys.sweepBucket(bucketOf(ref.tag)), ref.tag) : undefined,
    ]);
    if (emptied === 1) await refileIfRepopulated(client, tenant, ref.tag);
    return r === 1 ? 'removed' : r === -1 ? 'forbidden' : 'not-found';
  }

  /** Live registrations of a topic, a page at a time (cursor = offset into the expiry-ordered index). */
  async liveTargets(
    tenantId: string,
    topic: string,
    cursor = 0,
    pageSize = 1000,
    now = Date.now(),
  ): Promise<{ targets: RegistrationTarget[]; next?: number }> {
    const tag = topicTag(tenantId, topic);
    const identities = await this.redis.client.zrangebyscoreBuffer(
      topicKeys(tag).expiry,
      `(${now}`,
      '+inf',
      'LIMIT',
      cursor,
      pageSize,
    );
    return {
      targets: (await this.targetsOf(tag, identities)).targets,
      next: identities.length === pageSize ? cursor + pageSize : undefined,
    };
  }

  /**
   * The registrations of one topic (by tag) with these identities, as fan-out targets in order;
   * `missing` names those no longer there (by tag and identity: their secret went with them).
   */
  async targetsOf(
    tag: string,
    identities: readonly Buffer[],
  ): Promise<{ targets: RegistrationTarget[]; missing: string[] }> {
    if (identities.length === 0) return { targets: [], missing: [] };
    return targetsFrom(
      tag,
      identities,
      await this.redis.client.hmgetBuffer(topicKeys(tag).registrations, ...identities),
    );
  }

  /** Every live registration, a page of whole topics at a time, across tenants (key rotation). */
  async scanLive(
    cursor = 0,
    pageSize = 500,
    now = Date.now(),
  ): Promise<{ registrations: Registration[]; next?: number }> {
    const registrations: Registration[] = [];
    const next = await eachTopic(this.redis.client, cursor, async (tag) => {
      for (let offset = 0; ; offset += 1000) {
        const identities = await this.redis.client.zrangebyscoreBuffer(
          topicKeys(tag).expiry,
          `(${now}`,
          '+inf',
          'LIMIT',
          offset,
          1000,
        );
        const ids = (await this.targetsOf(tag, identities)).targets.map((t) => t.id);
        registrations.push(...(await this.getMany(ids, undefined, now)).filter((r) => r !== undefined));
        if (identities.length < 1000) break;
      }
      return registrations.length < pageSize;
    });
    return { registrations, next };
  }

  /**
   * The id of the registration of this subscription on this topic (the identity that makes a
   * re-registration an update), live or not yet swept; undefined when there is none.
   */
  async idOf(tenantId: string, topic: string, subscription: Subscription): Promise<string | undefined> {
    const tag = topicTag(tenantId, topic);
    const identity = identityDigest(subscription);
    const raw = await this.redis.client.hgetBuffer(topicKeys(tag).registrations, identity);
    return raw ? registrationIdOf(tag, identity, decodeValue(raw).secret) : undefined;
  }

  async countLive(tenantId: string, topic: string, now = Date.now()): Promise<number> {
    return this.redis.client.zcount(topicKeys(topicTag(tenantId, topic)).expiry, `(${now}`, '+inf');
  }

  async recordDelivery(
    id: string,
    outcome: 'success' | 'failure',
    now = Date.now(),
  ): Promise<DeliveryRecord | undefined> {
    const ref = parseRegistrationId(id);
    if (!ref) return undefined;
    const r = (await RECORD.run(
      this.redis.client,
      [topicKeys(ref.tag).registrations],
      [ref.identity, ref.secret, outcome, now],
    )) as [number, number, number] | null;
    if (!r) return undefined;
    return { consecutiveFailures: r[0], lastSuccessAt: r[1] || undefined, createdAt: r[2] };
  }

  /**
   * Removes every registration of a tenant (tenant deletion), a page at a time; returns how many
   * were live. Each page is one atomic step on its topic, so a crash half-way leaves only whole
   * registrations, and running it again finishes the job.
   */
  async removeAllOfTenant(tenantId: string, now = Date.now(), batch = 500): Promise<number> {
    let removed = 0;
    for (let b = 0; b < BUCKETS; b++) {
      const bucket = keys.tenantTopics(tenantId, b);
      for (const tag of await this.redis.client.smembers(bucket)) {
        removed += (await drainTopic(this.redis.client, tenantId, tag, '+inf', now, batch)).live;
        await this.redis.client.srem(bucket, tag);
      }
    }
    return removed;
  }

  /** Removes registrations whose expiry has passed, topic by topic from the sweep's buckets; returns how many. */
  async sweepExpired(now = Date.now(), batch = 500): Promise<number> {
    let removed = 0;
    for (let b = 0; b < BUCKETS; b++) {
      const bucket = keys.sweepBucket(b);
      for (;;) {
        const due = await this.redis.client.zrangebyscore(bucket, '-inf', now, 'WITHSCORES', 'LIMIT', 0, batch);
        for (let i = 0; i < due.length; i += 2) {
          const tag = due[i]!;
          const tenantId = await this.redis.client.hget(topicKeys(tag).meta, 't');
          removed += (
            await drainTopic(this.redis.client, tenantId ?? '', tag, String(now), now, batch, {
              bucket,
              seen: Number(due[i + 1]),
            })
          ).removed;
        }
        if (due.length < batch * 2) break;
      }
    }
    return removed;
  }
}
