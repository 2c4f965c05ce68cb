import { Controller, Get, HttpCode, Post, Query, Req, UseGuards } from '@nestjs/common';
import { z } from 'zod';
import { ValidationError } from '@davpush/domain';
import { DeadLetterService } from '@davpush/application';
import { AdminGuard, type AuthedRequest } from '../http/auth.guards';
import { ApiBody, ApiQuery } from '@nestjs/swagger';
import { bodyKind, parseJson } from '../http/request-body';
import { ApiArea, AuthProblems, JsonAnswer, Operation } from '../openapi/openapi.decorators';

const Replay = z.object({ ids: z.array(z.string().min(1).max(200)).max(1000).optional() });

/** The dead-letter queue for operators: what could never be delivered, why, and a way to try again. */
@Controller('v1/admin/dlq')
@UseGuards(AdminGuard)
@ApiArea('admin', 'admin')
@AuthProblems()
export class DeadLetterController {
  constructor(private readonly deadLetters: DeadLetterService) {}

  @Get()
  @Operation('Dead letters with their reason')
  @ApiQuery({ name: 'limit', required: false, schema: { type: 'integer', minimum: 1, maximum: 1000 } })
  @JsonAnswer(200, 'dead letters')
  async list(@Query('limit') limit?: string) {
    const n = limit === undefined ? 100 : Number(limit);
    if (!Number.isInteger(n) || n < 1 || n > 1000)
      throw new ValidationError('limit must be a whole number from 1 to 1000');
    return { total: await this.deadLetters.count(), items: await this.deadLetters.list(n) };
  }

  /** Body `{"ids": [...]}` replays those; an empty body or no ids replays up to 1000. */
  @Post('replay')
  @HttpCode(200)
  @Operation('Send dead letters again with a fresh TTL (all, or the ids given)')
  @ApiBody({
    required: false,
    schema: { type: 'object', properties: { ids: { type: 'array', items: { type: 'string' } } } },
  })
  @JsonAnswer(200, '{"replayed", "missing"}')
  replay(@Req() req: AuthedRequest) {
    const hasBody = (req.rawBody?.length ?? 0) > 0;
    if (hasBody) bodyKind(req, ['json']);
    const { ids } = hasBody ? parseJson(req, Replay) : { ids: undefined };
    return this.deadLetters.replay(ids);
  }
}
