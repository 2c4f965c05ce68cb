import { Controller, Get, HttpCode, Param, Post, Req, Res, UseGuards } from '@nestjs/common';
import type { Response } from 'express';
import { ValidationError } from '@davpush/domain';
import { z } from 'zod';
import { TenantGuard, TenantId, type AuthedRequest } from '../http/auth.guards';
import { IngestRateLimit } from '../http/ingest-rate-limit';
import { bodyKind, parseJson } from '../http/request-body';
import { pushClientIdOf } from '../http/request-headers';
import { EventsService, parseEventsJson, type AcceptedEvents, type EventInput } from '@davpush/application';

@Controller('v1/events')
@UseGuards(TenantGuard)
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
  async accept(@TenantId() tenantId: string, @Req() req: AuthedRequest, @Res({ passthrough: true }) res: Response): Promise<AcceptedEvents> {
    bodyKind(req, ['json']);
    const inputs: EventInput[] = parseEventsJson(parseJson(req, z.unknown()));
    // CC/CD 70025 Push-Client-Id of the client whose request caused the changes: its registrations are skipped.
    const clientId = pushClientIdOf(req);
    if (clientId !== undefined) for (const input of inputs) input.skipClients = [clientId];
    const requestId = typeof req.headers['x-request-id'] === 'string' ? req.headers['x-request-id'] : undefined;
    const key = req.headers['idempotency-key'];
    if (key !== undefined && (typeof key !== 'string' || key.length === 0 || key.length > 255 || /[^\x21-\x7e]/.test(key))) {
      throw new ValidationError('Idempotency-Key must be 1 to 255 visible ASCII characters, given once');
    }
    // A repeated Idempotency-Key is charged too: telling a repeat apart needs the idempotency
    // record, and a client replaying in a loop is exactly what the limit is for.
    await this.rateLimit.charge(tenantId, inputs.length, res);
    if (key === undefined) return this.events.accept(tenantId, inputs, requestId);
    return this.events.acceptOnce(tenantId, key, req.rawBody!, inputs, requestId);
  }

  @Get(':id')
  status(@TenantId() tenantId: string, @Param('id') id: string) {
    // The same alphabet POST accepts for ids: anything else (NUL, `..%2F`, unicode) names no event.
    if (id.length > 128 || !/^[A-Za-z0-9._~-]+$/.test(id)) {
      throw new ValidationError('an event id is 1 to 128 characters of A-Z a-z 0-9 . _ ~ -');
    }
    return this.events.status(tenantId, id);
  }
}
