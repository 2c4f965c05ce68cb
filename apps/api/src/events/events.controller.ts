import { Controller, Get, HttpCode, Param, Post, Req, Res, UseGuards } from '@nestjs/common';
import type { Response } from 'express';
import { ValidationError } from '@davpush/domain';
import { z } from 'zod';
import { TenantGuard, TenantId, type AuthedRequest } from '../http/auth.guards';
import { IngestRateLimit } from '../http/ingest-rate-limit';
import { bodyKind, parseJson } from '../http/request-body';
import { pushClientIdOf } from '../http/request-headers';
import { EventsService, parseEventsJson, type AcceptedEvents, type EventInput } from '@davpush/application';
import { ApiBody, ApiResponse } from '@nestjs/swagger';
import {
  ApiArea,
  AuthProblems,
  JsonAnswer,
  Operation,
  Problem,
  PUSH_CLIENT_ID,
  rateLimitHeaders,
  ref,
} from '../openapi/openapi.decorators';

@Controller('v1/events')
@UseGuards(TenantGuard)
@ApiArea('events', 'tenant')
@AuthProblems()
export class EventsController {
  constructor(
    private readonly events: EventsService,
    private readonly rateLimit: IngestRateLimit,
  ) {}

  /**
   * One event or `{"events": [...]}`; 202 as soon as they are durably queued (README "Delivery semantics").
   * The whole batch is validated before the rate limit is charged (a 400 costs nothing), and
   * charged before anything is queued (a 429 queues nothing).
   */
  @Post()
  @HttpCode(202)
  @Operation('Collection(s) changed: answered 202 once durably queued', [
    {
      name: 'Idempotency-Key',
      maxLength: 255,
      description: 'a repeat within 24 h returns the first answer and queues nothing',
    },
    {
      name: PUSH_CLIENT_ID,
      maxLength: 256,
      description: 'CC/CD 70025: the client that caused the changes; its registrations are not notified',
    },
  ])
  @ApiBody({
    required: true,
    schema: ref('ChangeEvents'),
    examples: { one: { value: { topic: 'cal-1', changes: ['content'], syncToken: 'http://cal.example.org/sync/42' } } },
  })
  @ApiResponse({
    status: 202,
    description: 'queued',
    content: { 'application/json': { schema: ref('Accepted') } },
    headers: rateLimitHeaders(),
  })
  @Problem(400, 'invalid event, or an Idempotency-Key reused with another body')
  @Problem(409, 'same Idempotency-Key still in flight')
  @Problem(413, 'body over 1 MiB, or more events than the ingest burst allows')
  @Problem(415, 'not JSON')
  @ApiResponse({
    status: 429,
    description:
      'ingest rate limit (token bucket per tenant, DAVPUSH_INGEST_RATE events/s, burst 2×); nothing was queued',
    content: { 'application/problem+json': { schema: ref('Problem') } },
    headers: { ...rateLimitHeaders(), 'Retry-After': { schema: { type: 'integer' } } },
  })
  async accept(
    @TenantId() tenantId: string,
    @Req() req: AuthedRequest,
    @Res({ passthrough: true }) res: Response,
  ): Promise<AcceptedEvents> {
    bodyKind(req, ['json']);
    const inputs: EventInput[] = parseEventsJson(parseJson(req, z.unknown()));
    // CC/CD 70025 Push-Client-Id of the client whose request caused the changes: its registrations are skipped.
    const clientId = pushClientIdOf(req);
    if (clientId !== undefined) for (const input of inputs) input.skipClients = [clientId];
    const requestId = typeof req.headers['x-request-id'] === 'string' ? req.headers['x-request-id'] : undefined;
    const key = req.headers['idempotency-key'];
    if (
      key !== undefined &&
      (typeof key !== 'string' || key.length === 0 || key.length > 255 || /[^\x21-\x7e]/.test(key))
    ) {
      throw new ValidationError('Idempotency-Key must be 1 to 255 visible ASCII characters, given once');
    }
    // A repeated Idempotency-Key is charged too: telling a repeat apart needs the idempotency
    // record, and a client replaying in a loop is exactly what the limit is for.
    await this.rateLimit.charge(tenantId, inputs.length, res);
    if (key === undefined) return this.events.accept(tenantId, inputs, requestId);
    return this.events.acceptOnce(tenantId, key, req.rawBody!, inputs, requestId);
  }

  @Get(':id')
  @Operation('Event status and delivery counts')
  @JsonAnswer(200, 'status', ref('EventStatus'))
  @Problem(404, 'unknown or not yours')
  status(@TenantId() tenantId: string, @Param('id') id: string) {
    // The same alphabet POST accepts for ids: anything else (NUL, `..%2F`, unicode) names no event.
    if (id.length > 128 || !/^[A-Za-z0-9._~-]+$/.test(id)) {
      throw new ValidationError('an event id is 1 to 128 characters of A-Z a-z 0-9 . _ ~ -');
    }
    return this.events.status(tenantId, id);
  }
}
