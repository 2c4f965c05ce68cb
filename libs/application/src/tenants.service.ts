import { Injectable, Optional } from '@nestjs/common';
import { ConflictError, NotFoundError } from '@davpush/domain';
import { KnownTopicStore, RegistrationStore, TenantStore, type Tenant } from '@davpush/storage';

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

  async get(id: string): Promise<Tenant> {
    const t = await this.tenants.get(id);
    if (!t) throw new NotFoundError('no such tenant');
    return t;
  }

  async rotateKey(id: string): Promise<{ id: string; apiKey: string }> {
    const r = await this.tenants.rotateKey(id);
    if (r.status === 'not-found') throw new NotFoundError('no such tenant');
    if (r.status !== 'rotated') throw new ConflictError('this tenant is revoked; a revoked tenant gets no new key (create a new tenant)');
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
