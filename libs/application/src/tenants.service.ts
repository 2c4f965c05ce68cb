import { Injectable, Optional } from '@nestjs/common';
import { z } from 'zod';
import { ConflictError, NotFoundError } from '@davpush/domain';
import { KnownTopicStore, RegistrationStore, TenantStore, type Tenant } from '@davpush/storage';

/** A tenant's display name: 1 to 200 characters (trimmed), no control characters. */
export const TenantName = z
  .string()
  .trim()
  .min(1)
  .max(200)
  .regex(/^[^\u0000-\u001f\u007f]+$/, { message: 'must not contain control characters' });

/**
 * Tenant key lifecycle (docs/security.md "Tenant keys: rotate, revoke, delete"). Rotation hands out a new key and kills the old one in one Redis
 * step. Revocation disables the tenant for good: the key stops working at once, nothing it stored
 * is deleted (registrations stay, are never pushed again because no events can arrive, and stay
 * removable through their capability URLs). Deletion revokes first, then removes the tenant's
 * registrations and finally the tenant itself, so a crash half-way leaves a revoked tenant that
 * a second DELETE finishes.
 */
@Injectable()
export class TenantsService {
  constructor(
    private readonly tenants: TenantStore,
    private readonly registrations: RegistrationStore,
    @Optional() private readonly knownTopics?: KnownTopicStore,
  ) {}

  /** A new tenant and its API key: the key is in this answer only; davpush keeps its SHA-256. */
  async create(name: string): Promise<{ id: string; name: string; apiKey: string }> {
    const t = await this.tenants.create(name);
    return { id: t.id, name: t.name, apiKey: t.apiKey };
  }

  /** Every tenant, oldest first; `revokedAt` on revoked ones only. Keys are never shown again. */
  list(): Promise<Tenant[]> {
    return this.tenants.list();
  }

  async get(id: string): Promise<Tenant> {
    const t = await this.tenants.get(id);
    if (!t) throw new NotFoundError('no such tenant');
    return t;
  }

  async rotateKey(id: string): Promise<{ id: string; apiKey: string }> {
    const r = await this.tenants.rotateKey(id);
    if (r.status === 'not-found') throw new NotFoundError('no such tenant');
    if (r.status !== 'rotated')
      throw new ConflictError('this tenant is revoked; a revoked tenant gets no new key (create a new tenant)');
    return { id, apiKey: r.apiKey };
  }

  async revoke(id: string): Promise<Tenant> {
    const t = await this.tenants.revoke(id);
    if (!t) throw new NotFoundError('no such tenant');
    return t;
  }

  async delete(id: string): Promise<{ id: string; registrationsRemoved: number }> {
    if (!(await this.tenants.revoke(id))) throw new NotFoundError('no such tenant');
    const registrationsRemoved = await this.registrations.removeAllOfTenant(id);
    await this.knownTopics?.removeAllOfTenant(id);
    await this.tenants.forget(id);
    return { id, registrationsRemoved };
  }
}
