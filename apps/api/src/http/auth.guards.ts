import { type CanActivate, createParamDecorator, type ExecutionContext, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { timingSafeEqual, createHash } from 'node:crypto';
import { AppConfig } from '@davpush/config';
import { UnauthorizedError } from '@davpush/domain';
import { TenantStore } from '@davpush/storage';

export type AuthedRequest = Request & { tenantId?: string; rawBody?: Buffer };

export function bearerToken(req: Request): string | undefined {
  const h = req.headers.authorization;
  if (!h || h.length > 512) return undefined;
  const m = /^Bearer\s+(\S+)$/i.exec(h);
  return m?.[1];
}

/** Constant-time comparison of secrets of any length (hash first so lengths never leak). */
export function secretEquals(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

@Injectable()
export class AdminGuard implements CanActivate {
  constructor(private readonly config: AppConfig) {}

  canActivate(ctx: ExecutionContext): boolean {
    const token = bearerToken(ctx.switchToHttp().getRequest<Request>());
    if (!token || !this.config.adminToken || !secretEquals(token, this.config.adminToken)) {
      throw new UnauthorizedError('the admin token is required (Authorization: Bearer <token>)');
    }
    return true;
  }
}

@Injectable()
export class TenantGuard implements CanActivate {
  constructor(private readonly tenants: TenantStore) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const req = ctx.switchToHttp().getRequest<AuthedRequest>();
    const token = bearerToken(req);
    const tenantId = token ? await this.tenants.authenticate(token) : undefined;
    if (!tenantId) throw new UnauthorizedError('a tenant API key is required (Authorization: Bearer <key>)');
    req.tenantId = tenantId;
    return true;
  }
}

export const TenantId = createParamDecorator((_: unknown, ctx: ExecutionContext): string => {
  const id = ctx.switchToHttp().getRequest<AuthedRequest>().tenantId;
  if (!id) throw new UnauthorizedError('no tenant');
  return id;
});
