import { Controller, Delete, Get, HttpCode, Param, Post, Req, UseGuards } from '@nestjs/common';
import { z } from 'zod';
import { TenantStore, type Tenant } from '@davpush/storage';
import { AdminGuard, type AuthedRequest } from '../http/auth.guards';
import { bodyKind, parseJson } from '../http/request-body';
import { TenantsService } from '@davpush/application';

const CreateTenant = z.object({
  name: z.string().trim().min(1).max(200).regex(/^[^\u0000-\u001f\u007f]+$/, { message: 'must not contain control characters' }),
});

@Controller('v1/tenants')
@UseGuards(AdminGuard)
export class TenantsController {
  constructor(
    private readonly tenants: TenantStore,
    private readonly lifecycle: TenantsService,
  ) {}

  /** The API key is in this answer only; davpush keeps its SHA-256. */
  @Post()
  @HttpCode(201)
  async create(@Req() req: AuthedRequest): Promise<{ id: string; name: string; apiKey: string }> {
    bodyKind(req, ['json']);
    const { name } = parseJson(req, CreateTenant);
    const t = await this.tenants.create(name);
    return { id: t.id, name: t.name, apiKey: t.apiKey };
  }

  /** `revokedAt` appears on revoked tenants only. */
  @Get()
  list(): Promise<Tenant[]> {
    return this.tenants.list();
  }

  @Get(':id')
  get(@Param('id') id: string): Promise<Tenant> {
    return this.lifecycle.get(id);
  }

  /** A new key, shown once; the old one stops working with this answer. A revoked tenant: 409. */
  @Post(':id/rotate-key')
  @HttpCode(200)
  rotateKey(@Param('id') id: string): Promise<{ id: string; apiKey: string }> {
    return this.lifecycle.rotateKey(id);
  }

  /** Disables the tenant for good, keeping its data (docs/security.md "Tenant keys"). Idempotent. */
  @Post(':id/revoke')
  @HttpCode(200)
  revoke(@Param('id') id: string): Promise<Tenant> {
    return this.lifecycle.revoke(id);
  }

  /** Revokes, then removes the tenant's registrations and the tenant itself. */
  @Delete(':id')
  @HttpCode(200)
  remove(@Param('id') id: string): Promise<{ id: string; registrationsRemoved: number }> {
    return this.lifecycle.delete(id);
  }
}
