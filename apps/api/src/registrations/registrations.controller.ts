import { Controller, Delete, Get, HttpCode, Param, Post, Req, Res, UseGuards } from '@nestjs/common';
import type { Response } from 'express';
import { z } from 'zod';
import { UnauthorizedError } from '@davpush/domain';
import { TenantStore } from '@davpush/storage';
import { parsePushRegister } from '@davpush/webdav-push';
import { bearerToken, TenantGuard, TenantId, type AuthedRequest } from '../http/auth.guards';
import { bodyKind, parseJson, xmlBodyText } from '../http/request-body';
import { principalOf, pushClientIdOf } from '../http/request-headers';
import { toRegistrationRequest } from './registration-request.dto';
import { assertTopic, RegistrationsService } from '@davpush/application';

@Controller('v1')
export class RegistrationsController {
  constructor(
    private readonly registrations: RegistrationsService,
    private readonly tenants: TenantStore,
  ) {}

  /**
   * The client's WebDAV-Push `push-register` exactly as the calendar server received it, or JSON.
   * 201 new / 204 update, both with absolute Location and IMF-fixdate Expires (draft §"Registration").
   */
  @Post('topics/:topic/registrations')
  @UseGuards(TenantGuard)
  async register(@TenantId() tenantId: string, @Param('topic') topic: string, @Req() req: AuthedRequest, @Res() res: Response): Promise<void> {
    assertTopic(topic);
    const principal = principalOf(req);
    const kind = bodyKind(req, ['xml', 'json']);
    const request = kind === 'xml' ? parsePushRegister(xmlBodyText(req)) : toRegistrationRequest(parseJson(req, z.unknown()));
    // CC/CD 70025 Push-Client-Id of the registering client (docs/cc70025.md): a push naming it skips this registration.
    const clientId = pushClientIdOf(req);
    if (clientId !== undefined) request.clientId = clientId;
    const r = await this.registrations.register(tenantId, topic, request, principal);
    res.setHeader('Location', r.location);
    res.setHeader('Expires', r.expires);
    if (!r.created) {
      res.status(204).end();
      return;
    }
    if (kind === 'json') res.status(201).json({ id: r.id, location: r.location, expires: r.expires });
    else res.status(201).end();
  }

  @Get('registrations/:id')
  @UseGuards(TenantGuard)
  async get(@TenantId() tenantId: string, @Param('id') id: string, @Req() req: AuthedRequest) {
    const r = await this.registrations.get(id, tenantId, principalOf(req));
    return {
      id: r.id,
      topic: r.topic,
      transport: r.subscription.type,
      expires: new Date(r.expiresAt).toISOString(),
      trigger: r.trigger,
      lastSuccessAt: r.lastSuccessAt ? new Date(r.lastSuccessAt).toISOString() : null,
      consecutiveFailures: r.consecutiveFailures,
    };
  }

  /**
   * The unguessable URL is the capability (docs/security.md "Registrations"). With a tenant key the removal is limited
   * to that tenant and, for a registration bound to a principal, to that principal.
   */
  @Delete('registrations/:id')
  @HttpCode(204)
  async remove(@Param('id') id: string, @Req() req: AuthedRequest): Promise<void> {
    let tenantId: string | undefined;
    if (req.headers.authorization !== undefined) {
      const token = bearerToken(req);
      tenantId = token ? await this.tenants.authenticate(token) : undefined;
      if (!tenantId) throw new UnauthorizedError('the API key is not valid');
    }
    await this.registrations.remove(id, { tenantId, principal: principalOf(req), strictPrincipal: tenantId !== undefined });
  }
}
