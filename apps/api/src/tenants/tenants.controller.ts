import { Controller, Get, HttpCode, Post, Req, UseGuards } from '@nestjs/common';
import { z } from 'zod';
import { TenantStore, type Tenant } from '@davpush/storage';
import { AdminGuard, type AuthedRequest } from '../http/auth.guards';
import { bodyKind, parseJson } from '../http/request-body';

const CreateTenant = z.object({
  name: z.string().trim().min(1).max(200).regex(/^[^\u0000-\u001f\u007f]+$/, { message: 'must not contain control characters' }),
});

@Controller('v1/tenants')
@UseGuards(AdminGuard)
export class TenantsController {
  constructor(private readonly tenants: TenantStore) {}

  /** The API key is in this answer only; davpush keeps its SHA-256. */
  @Post()
  @HttpCode(201)
  async create(@Req() req: AuthedRequest): Promise<{ id: string; name: string; apiKey: string }> {
    bodyKind(req, ['json']);
    const { name } = parseJson(req, CreateTenant);
    const t = await this.tenants.create(name);
    return { id: t.id, name: t.name, apiKey: t.apiKey };
  }

  @Get()
  list(): Promise<Tenant[]> {
    return this.tenants.list();
  }
}
