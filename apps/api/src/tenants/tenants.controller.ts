import { Controller, Delete, Get, HttpCode, Param, Post, Req, UseGuards } from '@nestjs/common';
import { z } from 'zod';
import { TenantName, TenantsService } from '@davpush/application';
import type { Tenant } from '@davpush/storage';
import { ApiBody } from '@nestjs/swagger';
import { AdminGuard, type AuthedRequest } from '../http/auth.guards';
import { bodyKind, parseJson } from '../http/request-body';
import { ApiArea, AuthProblems, JsonAnswer, Operation, Problem, ref } from '../openapi/openapi.decorators';

const CreateTenant = z.object({ name: TenantName });

@Controller('v1/tenants')
@UseGuards(AdminGuard)
@ApiArea('tenants', 'admin')
@AuthProblems()
export class TenantsController {
  constructor(private readonly lifecycle: TenantsService) {}

  /** The API key is in this answer only; davpush keeps its SHA-256. */
  @Post()
  @HttpCode(201)
  @Operation('Create a tenant (one calendar server); the API key is shown once')
  @ApiBody({
    required: true,
    schema: { type: 'object', required: ['name'], properties: { name: { type: 'string', maxLength: 200 } } },
    examples: { tenant: { value: { name: 'cal.example.org' } } },
  })
  @JsonAnswer(201, 'created', ref('NewTenant'))
  @Problem(400, 'bad name')
  async create(@Req() req: AuthedRequest): Promise<{ id: string; name: string; apiKey: string }> {
    bodyKind(req, ['json']);
    const { name } = parseJson(req, CreateTenant);
    return this.lifecycle.create(name);
  }

  /** `revokedAt` appears on revoked tenants only. */
  @Get()
  @Operation('List tenants')
  @JsonAnswer(200, 'tenants', { type: 'array', items: ref('Tenant') })
  list(): Promise<Tenant[]> {
    return this.lifecycle.list();
  }

  @Get(':id')
  @Operation('Read a tenant')
  @JsonAnswer(200, 'tenant', ref('Tenant'))
  @Problem(404, 'no such tenant')
  get(@Param('id') id: string): Promise<Tenant> {
    return this.lifecycle.get(id);
  }

  /** A new key, shown once; the old one stops working with this answer. A revoked tenant: 409. */
  @Post(':id/rotate-key')
  @HttpCode(200)
  @Operation('Issue a new API key; the old one stops working at once')
  @JsonAnswer(200, 'the new key, shown once', {
    type: 'object',
    properties: { id: { type: 'string' }, apiKey: { type: 'string' } },
  })
  @Problem(404, 'no such tenant')
  @Problem(409, 'the tenant is revoked')
  rotateKey(@Param('id') id: string): Promise<{ id: string; apiKey: string }> {
    return this.lifecycle.rotateKey(id);
  }

  /** Disables the tenant for good, keeping its data (docs/security.md "Tenant keys"). Idempotent. */
  @Post(':id/revoke')
  @HttpCode(200)
  @Operation('Disable a tenant for good: its key stops working, its data is kept for an admin to delete')
  @JsonAnswer(200, 'the revoked tenant', ref('Tenant'))
  @Problem(404, 'no such tenant')
  revoke(@Param('id') id: string): Promise<Tenant> {
    return this.lifecycle.revoke(id);
  }

  /** Revokes, then removes the tenant's registrations and the tenant itself. */
  @Delete(':id')
  @HttpCode(200)
  @Operation('Revoke a tenant, then remove its registrations and the tenant itself')
  @JsonAnswer(200, '{"id", "registrationsRemoved"}')
  @Problem(404, 'no such tenant')
  remove(@Param('id') id: string): Promise<{ id: string; registrationsRemoved: number }> {
    return this.lifecycle.delete(id);
  }
}
