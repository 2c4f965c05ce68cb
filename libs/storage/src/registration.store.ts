import { Injectable } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import {
  type DeliveryRecord,
  type Registration,
  type Subscription,
  type Trigger,
  type ValidRegistration,
} from '@davpush/domain';
import { digest, keys, KEY_PREFIX } from './keys';
import { LuaScript } from './lua-script';
import { RedisService } from './redis.service';
import { identityDigest, packRecord, pieceFields, toPieces, unpackRecord } from './registration-record';
import { PRINCIPAL_REGS_PREFIX, RECORD, REMOVE, TENANT_TOPICS_PREFIX, UPSERT } from './registration.scripts';

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

/** What the fan-out needs of a registration: which changes it wants and where it goes (for grouping). */
export interface RegistrationTarget {
  id: string;
  trigger: Trigger;
  transport: Subscription['type'];
  subscription: Subscription;
  /** CC/CD 70025 client id, when the registration was made with one. */
  clientId?: string;
}

const SCRIPTS = new Map<string, LuaScript>();

const REG_PREFIX = `${KEY_PREFIX}:reg:`;

/**
 * Indexes of the registration limits (docs/security.md "Limits"; kept here rather than in keys.ts, which another change owns): the
 * digests of a tenant's topics that have registrations (purge on tenant deletion: one entry per
 * topic, nothing per registration) and every registration of one principal of a tenant (the
 * per-principal limit). Principals are the calendar server's user ids: scoped to their tenant.
 */
export const registrationIndexKeys = {
  tenant: (tenantId: string) => `${TENANT_TOPICS_PREFIX}${tenantId}`,
  principal: (tenantId: string, principal: string) => `${PRINCIPAL_REGS_PREFIX}${tenantId}:${digest(principal)}`,
};

/** Pieces read with the rest of a target: 6 × 64 B hold a push resource of ~300 B with its keys. */
const FIRST_PIECES = pieceFields(6);

const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** Registration ids carry 128 random bits: the DELETE URL is a capability (docs/security.md "Registrations"). */
export const newRegistrationId = (): string => randomBytes(16).toString('base64url');

@Injectable()
export class RegistrationStore {
  constructor(private readonly redis: RedisService) {}

  private run(script: string, keyList: string[], args: (string | number | Buffer)[]): Promise<unknown> {
    // EVALSHA: the script text crosses the wire only when Redis does not know it yet.
    let compiled = SCRIPTS.get(script);
    if (!compiled) SCRIPTS.set(script, (compiled = new LuaScript(script)));
    return compiled.run(this.redis.client, keyList, args.map((a) => (Buffer.isBuffer(a) ? a : String(a))));
  }

  async upsert(
    tenantId: string,
    topic: string,
    reg: ValidRegistration,
    principal: string | undefined,
    now = Date.now(),
    limits: RegistrationLimits = NO_REGISTRATION_LIMITS,
  ): Promise<UpsertResult> {
    const keyList = [
      keys.topicIdentities(tenantId, topic),
      keys.topicRegistrations(tenantId, topic),
      keys.registrationExpiry(),
      registrationIndexKeys.tenant(tenantId),
    ];
    if (principal) keyList.push(registrationIndexKeys.principal(tenantId, principal));
    const [status, id] = (await this.run(
      UPSERT,
      keyList,
      [
        identityDigest(reg.subscription),
        newRegistrationId(),
        tenantId,
        topic,
        '',
        reg.expiresAt,
        now,
        principal ?? '',
        REG_PREFIX,
        limits.perTopic,
        limits.perPrincipal,
        reg.clientId ?? '',
        digest(topic),
        principal ? digest(principal) : '',
        ...toPieces(packRecord(reg.subscription, reg.trigger)),
      ],
    )) as [UpsertResult['status'], string];
    return { status, id } as UpsertResult;
  }

  /** A live (unexpired) registration, optionally only if it belongs to the tenant. */
  async get(id: string, tenantId?: string, now = Date.now()): Promise<Registration | undefined> {
    if (!ID_PATTERN.test(id)) return undefined;
    const raw = await this.redis.client.hgetallBuffer(keys.registration(id));
    const h = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, v.toString('utf8')]));
    if (!h.t || (tenantId && h.t !== tenantId)) return undefined;
    const reg: Registration = {
      id,
      tenantId: h.t,
      topic: h.p!,
      ...unpackRecord(Buffer.concat(pieceFields(Number(h.n)).map((f) => raw[f]!))),
      expiresAt: Number(h.e),
      createdAt: Number(h.c),
      updatedAt: Number(h.u),
      principal: h.o || undefined,
      clientId: h.k || undefined,
      lastSuccessAt: h.l ? Number(h.l) : undefined,
      consecutiveFailures: Number(h.f ?? 0),
    };
    return reg.expiresAt > now ? reg : undefined;
  }

  /**
   * Removes a registration. `tenantId`/`principal` restrict who may remove it (`strictPrincipal`: a
   * bound registration needs its principal even when none is given); `identity` (a pruning worker's
   * view of the subscription) makes sure a newer registration is never removed by an old outcome.
   */
  async remove(
    id: string,
    opts: { tenantId?: string; principal?: string; strictPrincipal?: boolean; identity?: Subscription } = {},
    now = Date.now(),
  ): Promise<'removed' | 'not-found' | 'forbidden'> {
    if (!ID_PATTERN.test(id)) return 'not-found';
    const topic = await this.redis.client.hget(keys.registration(id), 'p');
    const r = (await this.run(REMOVE, [keys.registration(id), keys.registrationExpiry()], [
      id,
      opts.tenantId ?? '',
      now,
      opts.principal ?? '',
      opts.identity ? identityDigest(opts.identity) : '',
      opts.strictPrincipal ? '1' : '',
      topic === null ? '' : digest(topic),
    ])) as number;
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
    const ids = await this.redis.client.zrangebyscore(keys.topicRegistrations(tenantId, topic), `(${now}`, '+inf', 'LIMIT', cursor, pageSize);
    return { targets: await this.targets(ids), next: ids.length === pageSize ? cursor + pageSize : undefined };
  }

  /** The registrations of `ids` that exist, as fan-out targets (in order; missing ones left out). */
  async targets(ids: readonly string[]): Promise<RegistrationTarget[]> {
    if (ids.length === 0) return [];
    // One round trip for the usual subscription (up to FIRST_PIECES pieces); a second only for longer ones.
    const first = FIRST_PIECES.length;
    const pipeline = this.redis.client.pipeline();
    ids.forEach((id) => pipeline.hmgetBuffer(keys.registration(id), 'k', 'n', ...FIRST_PIECES));
    const rows = ((await pipeline.exec()) ?? []).map(([err, v]) => {
      // A failed read is not a missing registration: the caller must not go on without it.
      if (err) throw err;
      return v as (Buffer | null)[];
    });
    const longer = rows.flatMap((row, i) => (Number(row[1] ?? 0) > first ? [i] : []));
    if (longer.length > 0) {
      const more = this.redis.client.pipeline();
      longer.forEach((i) => more.hmgetBuffer(keys.registration(ids[i]!), ...pieceFields(Number(rows[i]![1])).slice(first)));
      ((await more.exec()) ?? []).forEach(([err, v], j) => {
        if (err) throw err;
        rows[longer[j]!]!.push(...(v as (Buffer | null)[]));
      });
    }
    const targets: RegistrationTarget[] = [];
    rows.forEach(([clientId, n, ...pieces], i) => {
      const count = Number(n ?? 0);
      const own = [...pieces.slice(0, Math.min(count, first)), ...pieces.slice(first)];
      if (count === 0 || own.length !== count || own.some((p) => !p)) return;
      const { subscription, trigger } = unpackRecord(Buffer.concat(own as Buffer[]));
      const target: RegistrationTarget = { id: ids[i]!, trigger, transport: subscription.type, subscription };
      if (clientId) target.clientId = clientId.toString('utf8');
      targets.push(target);
    });
    return targets;
  }

  /** Every live registration, a page at a time, across tenants (key rotation, stats). */
  async scanLive(cursor = 0, pageSize = 500, now = Date.now()): Promise<{ registrations: Registration[]; next?: number }> {
    const ids = await this.redis.client.zrangebyscore(keys.registrationExpiry(), `(${now}`, '+inf', 'LIMIT', cursor, pageSize);
    const regs = await Promise.all(ids.map((id) => this.get(id, undefined, now)));
    return { registrations: regs.filter((r): r is Registration => !!r), next: ids.length === pageSize ? cursor + pageSize : undefined };
  }

  /**
   * The id of the registration of this subscription on this topic (the identity that makes a
   * re-registration an update), live or not yet swept; undefined when there is none.
   */
  async idOf(tenantId: string, topic: string, subscription: Subscription): Promise<string | undefined> {
    const id = await this.redis.client.hget(keys.topicIdentities(tenantId, topic), identityDigest(subscription));
    return id ?? undefined;
  }

  async countLive(tenantId: string, topic: string, now = Date.now()): Promise<number> {
    return this.redis.client.zcount(keys.topicRegistrations(tenantId, topic), `(${now}`, '+inf');
  }

  async recordDelivery(id: string, outcome: 'success' | 'failure', now = Date.now()): Promise<DeliveryRecord | undefined> {
    const r = (await this.run(RECORD, [keys.registration(id)], [outcome, now])) as [string, string, string] | null;
    if (!r) return undefined;
    return { consecutiveFailures: Number(r[0]), lastSuccessAt: r[1] ? Number(r[1]) : undefined, createdAt: Number(r[2]) };
  }

  /**
   * Removes every registration of a tenant (tenant deletion), a page at a time; returns how many
   * were live. Each removal is the same atomic REMOVE as everywhere else, so a crash half-way
   * leaves only whole registrations, and running it again finishes the job.
   */
  async removeAllOfTenant(tenantId: string, now = Date.now(), batch = 500): Promise<number> {
    const topics = registrationIndexKeys.tenant(tenantId);
    let removed = 0;
    for (;;) {
      const topicDigest = await this.redis.client.srandmember(topics);
      if (!topicDigest) return removed;
      const index = keys.topicRegistrationsOf(tenantId, topicDigest);
      const ids = await this.redis.client.zrange(index, '0', String(batch - 1));
      if (ids.length === 0) {
        // The topic's last registration is gone (REMOVE drops the entry too; this is a leftover).
        await this.redis.client.srem(topics, topicDigest);
        continue;
      }
      const pipeline = this.redis.client.pipeline();
      for (const id of ids) {
        pipeline.eval(REMOVE, 2, keys.registration(id), keys.registrationExpiry(), id, tenantId, String(now), '', '', '', topicDigest);
        // A dangling index entry (its hash already gone) must not keep the loop going.
        pipeline.zrem(index, id);
      }
      const results = (await pipeline.exec()) ?? [];
      for (let i = 0; i < results.length; i += 2) {
        const [err, v] = results[i]!;
        if (err) throw err;
        if (v === 1) removed++;
      }
    }
  }

  /** Removes registrations whose expiry has passed; returns how many. */
  async sweepExpired(now = Date.now(), batch = 500): Promise<number> {
    let removed = 0;
    for (;;) {
      const ids = await this.redis.client.zrangebyscore(keys.registrationExpiry(), '-inf', now, 'LIMIT', 0, batch);
      const topics = ids.length === 0 ? [] : await this.redis.client.pipeline(ids.map((id) => ['hget', keys.registration(id), 'p'])).exec();
      for (const [i, id] of ids.entries()) {
        const [err, topic] = topics![i]!;
        if (err) throw err;
        await this.run(REMOVE, [keys.registration(id), keys.registrationExpiry()], [id, '', now, '', '', '', typeof topic === 'string' ? digest(topic) : '']);
        removed++;
      }
      if (ids.length < batch) return removed;
    }
  }
}
