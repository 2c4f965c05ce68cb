import { Controller, Get, HttpCode, Param, Post, Req, UseGuards } from '@nestjs/common';
import { ValidationError } from '@davpush/domain';
import type { z } from 'zod';
import { TenantGuard, TenantId, type AuthedRequest } from '../http/auth.guards';
import { bodyKind, parseJson } from '../http/request-body';
import { EventJson, EventsBody, type EventInput } from './change-event.dto';
import { EventsService, type AcceptedEvents } from './events.service';

@Controller('v1/events')
@UseGuards(TenantGuard)
export class EventsController {
  constructor(private readonly events: EventsService) {}

  /** One event or `{"events": [...]}`; 202 as soon as they are durably queued (CONTRACT §3). */
  @Post()
  @HttpCode(202)
  accept(@TenantId() tenantId: string, @Req() req: AuthedRequest): Promise<AcceptedEvents> {
    bodyKind(req, ['json']);
    const body = parseJson(req, EventsBody) as { events?: unknown[] };
    const list = Array.isArray(body.events) ? body.events : [body];
    const inputs: EventInput[] = list.map((raw, i) => {
      const r = EventJson.safeParse(raw);
      if (!r.success) {
        const where = Array.isArray(body.events) ? `events[${i}].` : '';
        throw new ValidationError(r.error.issues.slice(0, 3).map((x: z.core.$ZodIssue) => `${where}${x.path.join('.')}: ${x.message}`).join('; '));
      }
      return r.data;
    });
    const requestId = typeof req.headers['x-request-id'] === 'string' ? req.headers['x-request-id'] : undefined;
    const key = req.headers['idempotency-key'];
    if (key === undefined) return this.events.accept(tenantId, inputs, requestId);
    if (typeof key !== 'string' || key.length === 0 || key.length > 255 || /[^\x21-\x7e]/.test(key)) {
      throw new ValidationError('Idempotency-Key must be 1 to 255 visible ASCII characters, given once');
    }
    return this.events.acceptOnce(tenantId, key, req.rawBody!, inputs, requestId);
  }

  @Get(':id')
  status(@TenantId() tenantId: string, @Param('id') id: string) {
    if (id.length > 128) throw new ValidationError('event id is at most 128 characters');
    return this.events.status(tenantId, id);
  }
}
