import { Controller, HttpCode, Post, Req, Res, UseFilters, UseGuards } from '@nestjs/common';
import type { Response } from 'express';
import type { z } from 'zod';
import { CcGatewayService, type CcMessage, type CcSubscribeResult } from '@davpush/application';
import { ValidationError } from '@davpush/domain';
import { parseCcSubscribe, parsePushDontNotify } from '@davpush/webdav-push';
import { TenantGuard, TenantId, type AuthedRequest } from '../http/auth.guards';
import { IngestRateLimit } from '../http/ingest-rate-limit';
import { bodyKind, parseJson, xmlBodyText } from '../http/request-body';
import { principalOf, pushClientIdOf } from '../http/request-headers';
import { GatewayExceptionFilter } from './gateway-exception.filter';
import { GATEWAY_REQUEST_KINDS, GatewayEnvelope, Messages, MessagesObject, PushSubscribe, PushTransports, type GatewayMessage } from './gateway-request.dto';

/** Checks one member against its schema; errors name the path from the body's root. */
function member<T extends z.ZodType>(schema: T, value: unknown, root: string): z.infer<T> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const first = r.error.issues.slice(0, 5).map((i) => `${[root, ...i.path].join('.')}: ${i.message}`);
  throw new ValidationError(first.join('; '));
}

const requestIdOf = (req: AuthedRequest) => (typeof req.headers['x-request-id'] === 'string' ? req.headers['x-request-id'] : undefined);

/**
 * The CalConnect CC/CD 70025 Push Gateway (draft-gajda-dav-push-00; decisions in docs/cc70025.md).
 * The application server (the tenant, with its API key) POSTs its three requests to the gateway
 * root; a client's `subscribe` XML, forwarded by the calendar server, has its own URL.
 */
@Controller('v1/gateway')
@UseGuards(TenantGuard)
@UseFilters(GatewayExceptionFilter)
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
  async handle(@TenantId() tenantId: string, @Req() req: AuthedRequest, @Res({ passthrough: true }) res: Response): Promise<unknown> {
    bodyKind(req, ['json']);
    const body = parseJson(req, GatewayEnvelope);
    const names = Object.keys(body);
    const kind = GATEWAY_REQUEST_KINDS.find((k) => names.length === 1 && names[0] === k);
    if (!kind) {
      const got = names.length === 0 ? 'an empty object' : names.slice(0, 5).map((n) => JSON.stringify(n.slice(0, 32))).join(', ');
      throw new ValidationError(`the body must have exactly one member, push-transports, push-subscribe or push; got ${got}`);
    }
    if (kind === 'push-transports') return this.bootstrap(body[kind]);
    if (kind === 'push-subscribe') return this.subscribe(tenantId, req, body[kind]);
    return this.push(tenantId, req, res, body[kind]);
  }

  /**
   * A client's `subscribe` XML (§5.2.3.2) as the calendar server received it. Topics must be known
   * to davpush (asked for in discovery, posted an event for, or subscribed through the JSON API)
   * unless `X-Davpush-Readable-Topics` lists the topics the user may read (quoted-strings, RFC 9110
   * §5.6). `204` with `Expires` (IMF-fixdate) once subscribed, `204` without for an unsubscribe;
   * invalid topics → `403` DAV:error `invalid-topics`.
   */
  @Post('subscribe')
  async subscribeXml(@TenantId() tenantId: string, @Req() req: AuthedRequest, @Res() res: Response): Promise<void> {
    bodyKind(req, ['xml']);
    const parsed = parseCcSubscribe(xmlBodyText(req));
    const readable = req.headers['x-davpush-readable-topics'];
    let topics: 'known' | string[] = 'known';
    if (readable !== undefined) {
      const list = parsePushDontNotify(Array.isArray(readable) ? readable : [readable]);
      if (list === '*') throw new ValidationError('X-Davpush-Readable-Topics lists topics as quoted-strings; * is not allowed');
      topics = list;
    }
    const r = await this.gateway.subscribe(tenantId, parsed, { principal: principalOf(req), clientId: pushClientIdOf(req), topics });
    if (r.outcome.kind === 'subscribed') res.setHeader('Expires', new Date(r.outcome.expiresAt).toUTCString());
    res.status(204).end();
  }

  private async bootstrap(value: unknown) {
    member(PushTransports, value, 'push-transports');
    const transports = await this.gateway.transports();
    return {
      'push-transports': transports.map((t) => ({
        transport: { 'transport-uri': t.transportUri, 'refresh-interval': t.refreshInterval, 'transport-data': t.transportData },
      })),
    };
  }

  private async subscribe(tenantId: string, req: AuthedRequest, value: unknown): Promise<{ 'push-url': string }> {
    const s = member(PushSubscribe, value, 'push-subscribe');
    const transport = (s['selected-transport'] ?? s.transport)!;
    // The application server subscribes for its own topics: it knows them (§5.2.2 "verify the Push Topic").
    const r: CcSubscribeResult = await this.gateway.subscribe(
      tenantId,
      { topics: s.topics, transportUri: transport['transport-uri'], clientData: transport['client-data'], expires: s.expires },
      { principal: principalOf(req), clientId: pushClientIdOf(req), topics: 'any' },
    );
    return { 'push-url': r.pushUrl };
  }

  private async push(tenantId: string, req: AuthedRequest, res: Response, value: unknown) {
    const list: GatewayMessage[] = Array.isArray(value) ? member(Messages, value, 'push') : member(MessagesObject, value, 'push').messages;
    const messages: CcMessage[] = list.map((m) => ({ topic: m.topic, priority: m.priority, timestamp: m.timestamp, clientId: m['client-id'] }));
    // Everything is judged before the limit is charged, and charged before anything is queued.
    messages.forEach((m, i) => this.gateway.checkMessage(m, i));
    await this.rateLimit.charge(tenantId, messages.length, res);
    const { noSubscribers } = await this.gateway.push(tenantId, messages, requestIdOf(req));
    return { 'push-response': noSubscribers.length > 0 ? { 'no-subscribers': noSubscribers.map((topic) => ({ topic })) } : {} };
  }
}
