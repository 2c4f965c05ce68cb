import { Controller, Delete, Get, HttpCode, Param, Post, Req, UseGuards } from '@nestjs/common';
import { z } from 'zod';
import { TenantName, TenantsService } from '@davpush/application';
import type { Tenant } from '@davpush/storage';
import { AdminGuard, type AuthedRequest } from '../http/auth.guards';
import { bodyKind, parseJson } from '../http/request-body';

const CreateTenant = z.object({ name: TenantName });

@Controller('v1/tenants')
@UseGuards(AdminGuard)
export class TenantsController {
  constructor(private readonly lifecycle: TenantsService) {}

  /** The API key is in this answer only; davpush keeps its SHA-256. */
  @Post()
  @HttpCode(201)
  async create(@Req() req: AuthedRequest): Promise<{ id: string; name: string; apiKey: string }> {
    bodyKind(req, ['json']);
    const { name } = parseJson(req, CreateTenant);
    return this.lifecycle.create(name);
  }

  /** `revokedAt` appears on revoked tenants only. */
  @Get()
  list(): Promise<Tenant[]> {
    return this.lifecycle.list();
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
