import { Controller, Delete, Get, HttpCode, Param, Post, Req, Res, UseGuards } from '@nestjs/common';
import type { Response } from 'express';
import { z } from 'zod';
import { UnauthorizedError } from '@davpush/domain';
import { TenantStore } from '@davpush/storage';
import { parsePushRegister } from '@davpush/webdav-push';
import { bearerToken, TenantGuard, TenantId, type AuthedRequest } from '../http/auth.guards';
import { bodyKind, parseJson, xmlBodyText } from '../http/request-body';
import { principalOf, pushClientIdOf } from '../http/request-headers';
import { ApiResponse } from '@nestjs/swagger';
import {
  ApiArea,
  AuthProblems,
  JsonAnswer,
  Operation,
  PRINCIPAL_HEADER,
  Problem,
  PUSH_CLIENT_ID,
  ref,
} from '../openapi/openapi.decorators';
import { FCM_REGISTER_EXAMPLE, PUSH_REGISTER_EXAMPLE, REGISTRATION_JSON_EXAMPLES } from '../openapi/openapi.schemas';
import { toRegistrationRequest } from './registration-request.dto';

const regHeaders = {
  Location: {
    description: 'absolute registration URL (the capability for DELETE)',
    schema: { type: 'string', format: 'uri' },
  },
  Expires: { description: 'granted expiry, IMF-fixdate, clamped to DAVPUSH_MAX_EXPIRY', schema: { type: 'string' } },
};
const registerBody = {
  required: true,
  content: {
    'application/xml': {
      schema: { type: 'string' },
      examples: { webPush: { value: PUSH_REGISTER_EXAMPLE }, fcm: { value: FCM_REGISTER_EXAMPLE } },
    },
    'application/json': { schema: ref('RegistrationJson'), examples: REGISTRATION_JSON_EXAMPLES },
  },
};
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
  @ApiArea('registrations', 'tenant')
  @Operation(
    "Register a client's push subscription for a topic (WebDAV-Push push-register XML as the client sent it, or JSON)",
    [
      PRINCIPAL_HEADER,
      {
        name: PUSH_CLIENT_ID,
        maxLength: 256,
        description: 'CC/CD 70025: the registering client; a push naming it in client-id skips this registration',
      },
    ],
    { requestBody: registerBody },
  )
  @ApiResponse({ status: 201, description: 'registered', headers: regHeaders })
  @ApiResponse({ status: 204, description: 'the same subscription for this topic was updated', headers: regHeaders })
  @Problem(
    400,
    'malformed body (for XML requests: a DAV:error document); for JSON the detail names the field, in the JSON names, and shows the accepted shapes',
  )
  @Problem(
    403,
    'precondition: invalid-subscription, no-supported-trigger or push-not-available (also when a registration limit per topic or principal is reached: type registration-limit)',
  )
  @Problem(413, 'body over 16 KiB')
  @Problem(415, 'neither XML nor JSON, or a charset other than UTF-8')
  @AuthProblems()
  async register(
    @TenantId() tenantId: string,
    @Param('topic') topic: string,
    @Req() req: AuthedRequest,
    @Res() res: Response,
  ): Promise<void> {
    assertTopic(topic);
    const principal = principalOf(req);
    const kind = bodyKind(req, ['xml', 'json']);
    const request =
      kind === 'xml' ? parsePushRegister(xmlBodyText(req)) : toRegistrationRequest(parseJson(req, z.unknown()));
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
  @ApiArea('registrations', 'tenant')
  @Operation('Read a registration')
  @JsonAnswer(200, 'registration', ref('Registration'))
  @Problem(404, 'unknown, expired or not yours')
  @AuthProblems()
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
  @ApiArea('registrations')
  @Operation('Remove a registration (the URL is the capability; a tenant key is accepted too)')
  @ApiResponse({ status: 204, description: 'removed' })
  @Problem(404, 'unknown or expired')
  async remove(@Param('id') id: string, @Req() req: AuthedRequest): Promise<void> {
    let tenantId: string | undefined;
    if (req.headers.authorization !== undefined) {
      const token = bearerToken(req);
      tenantId = token ? await this.tenants.authenticate(token) : undefined;
      if (!tenantId) throw new UnauthorizedError('the API key is not valid');
    }
    await this.registrations.remove(id, {
      tenantId,
      principal: principalOf(req),
      strictPrincipal: tenantId !== undefined,
    });
  }
}
