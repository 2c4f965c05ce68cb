import { Controller, HttpCode, Post, Req, Res, UseFilters, UseGuards } from '@nestjs/common';
import type { Response } from 'express';
import { CcGatewayService, type CcMessage, type CcSubscription } from '@davpush/application';
import { ValidationError } from '@davpush/domain';
import { parseCcSubscribe, parsePushDontNotify } from '@davpush/webdav-push';
import { TenantGuard, TenantId, type AuthedRequest } from '../http/auth.guards';
import { IngestRateLimit } from '../http/ingest-rate-limit';
import { bodyKind, parseJson, xmlBodyText } from '../http/request-body';
import { principalOf, pushClientIdOf } from '../http/request-headers';
import { ApiArea, AuthProblems } from '../openapi/openapi.decorators';
import { GatewayRequestDoc, GatewaySubscribeDoc } from '../openapi/openapi.gateway';
import { GatewayExceptionFilter } from './gateway-exception.filter';
import { GatewayEnvelope, readGatewayRequest } from './gateway-request.dto';
import { bootstrapResponse, pushResponse, subscribeResponse } from './gateway-response';

/**
 * `X-Davpush-Readable-Topics`: the topics the calendar server says the user may read (RFC 9110
 * §5.6.4 quoted-strings, comma-separated), or undefined when absent.
 * @throws ValidationError for `*` or a value that is not a list of quoted-strings.
 */
function readableTopicsOf(req: AuthedRequest): string[] | undefined {
  const readable = req.headers['x-davpush-readable-topics'];
  if (readable === undefined) return undefined;
  const list = parsePushDontNotify(Array.isArray(readable) ? readable : [readable]);
  if (list === '*')
    throw new ValidationError('X-Davpush-Readable-Topics lists topics as quoted-strings; * is not allowed');
  return list;
}

const requestIdOf = (req: AuthedRequest) =>
  typeof req.headers['x-request-id'] === 'string' ? req.headers['x-request-id'] : undefined;

/**
 * The CalConnect CC/CD 70025 Push Gateway (draft-gajda-dav-push-00; decisions in docs/cc70025.md).
 * The application server (the tenant, with its API key) POSTs its three requests to the gateway
 * root; a client's `subscribe` XML, forwarded by the calendar server, has its own URL.
 */
@Controller('v1/gateway')
@UseGuards(TenantGuard)
@UseFilters(GatewayExceptionFilter)
@ApiArea('cc70025', 'tenant')
@AuthProblems()
export class GatewayController {
  constructor(
    private readonly gateway: CcGatewayService,
    private readonly rateLimit: IngestRateLimit,
  ) {}

  /**
   * `{"push-transports": []}` → the transports (§5.1); `{"push-subscribe": …}` → `{"push-url"}`
   * (§5.3); `{"push": …}` → `{"push-response": {…}}` (§5.4). Always `200` on success.
   */
  @Post()
  @HttpCode(200)
  @GatewayRequestDoc()
  async handle(
    @TenantId() tenantId: string,
    @Req() req: AuthedRequest,
    @Res({ passthrough: true }) res: Response,
  ): Promise<unknown> {
    bodyKind(req, ['json']);
    const request = readGatewayRequest(parseJson(req, GatewayEnvelope));
    if (request.kind === 'push-transports') return bootstrapResponse(await this.gateway.transports());
    if (request.kind === 'push-subscribe') return this.subscribe(tenantId, req, request.subscription);
    return this.push(tenantId, req, res, request.messages);
  }

  /**
   * A client's `subscribe` XML (§5.2.3.2) as the calendar server received it. Topics must be known
   * to davpush (asked for in discovery, posted an event for, or subscribed through the JSON API)
   * unless `X-Davpush-Readable-Topics` lists the topics the user may read (quoted-strings, RFC 9110
   * §5.6). `204` with `Expires` (IMF-fixdate) once subscribed, `204` without for an unsubscribe;
   * invalid topics → `403` DAV:error `invalid-topics`.
   */
  @Post('subscribe')
  @GatewaySubscribeDoc()
  async subscribeXml(@TenantId() tenantId: string, @Req() req: AuthedRequest, @Res() res: Response): Promise<void> {
    bodyKind(req, ['xml']);
    const parsed = parseCcSubscribe(xmlBodyText(req));
    const r = await this.gateway.subscribe(tenantId, parsed, {
      principal: principalOf(req),
      clientId: pushClientIdOf(req),
      topics: readableTopicsOf(req) ?? 'known',
    });
    if (r.outcome.kind === 'subscribed') res.setHeader('Expires', new Date(r.outcome.expiresAt).toUTCString());
    res.status(204).end();
  }

  private async subscribe(tenantId: string, req: AuthedRequest, subscription: CcSubscription) {
    // The application server subscribes for its own topics, having verified them (§5.2.2 "verify the
    // Push Topic"); when it says which topics the user may read, exactly those are allowed.
    const topics = readableTopicsOf(req) ?? 'any';
    const r = await this.gateway.subscribe(tenantId, subscription, {
      principal: principalOf(req),
      clientId: pushClientIdOf(req),
      topics,
    });
    return subscribeResponse(r.pushUrl);
  }

  private async push(tenantId: string, req: AuthedRequest, res: Response, messages: CcMessage[]) {
    // The limit is charged before anything is queued; values are judged per message by the use case.
    await this.rateLimit.charge(tenantId, messages.length, res);
    const { noSubscribers } = await this.gateway.push(tenantId, messages, requestIdOf(req));
    return pushResponse(noSubscribers);
  }
}
