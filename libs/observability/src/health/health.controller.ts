import {
  type ArgumentsHost,
  Catch,
  Controller,
  type ExceptionFilter,
  Get,
  ServiceUnavailableException,
  UseFilters,
} from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheck, type HealthCheckResult, HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import type { ServerResponse } from 'node:http';
import { ReadinessIndicators } from './readiness.indicators';
import { ShutdownState } from './shutdown-state';

/**
 * Terminus throws ServiceUnavailableException carrying its result; the API's global problem+json
 * filter would replace that body with a generic detail. Probes and humans want the per-check
 * details, so this controller writes terminus' own JSON for its 503s.
 */
@Catch(ServiceUnavailableException)
export class HealthResultFilter implements ExceptionFilter {
  catch(exception: ServiceUnavailableException, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<ServerResponse>();
    if (res.headersSent) return;
    res.statusCode = 503;
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.setHeader('Cache-Control', 'no-store');
    res.end(JSON.stringify(exception.getResponse()));
  }
}

/**
 * Liveness checks the process only (a Redis blip must not get pods restarted); readiness checks
 * what this process needs to do its job (see ReadinessIndicators). Served by the api and by a
 * worker started alone, on its own port.
 */
@Controller('health')
@UseFilters(HealthResultFilter)
@ApiTags('operations')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicator: HealthIndicatorService,
    private readonly readiness: ReadinessIndicators,
    private readonly shutdown: ShutdownState,
  ) {}

  /**
   * Built here rather than through HealthCheckService: terminus turns every check into 503
   * `shutting_down` once shutdown begins, and a liveness failure while we drain would only get the
   * process killed before its in-flight jobs finish.
   */
  @Get('live')
  // Terminus' own OpenAPI answer would list a 503 that liveness never gives.
  @HealthCheck({ swaggerDocumentation: false })
  @ApiOperation({ summary: 'Liveness: the process only' })
  @ApiResponse({ status: 200, description: 'up' })
  live(): HealthCheckResult {
    const proc = this.indicator.check('process').up({ uptimeSeconds: Math.round(process.uptime()) });
    return { status: 'ok', info: proc, error: {}, details: proc };
  }

  @Get('ready')
  @HealthCheck()
  @ApiOperation({ summary: 'Readiness: Redis, queues, backlog, VAPID and FCM credentials' })
  @ApiResponse({ status: 200, description: 'ok or degraded' })
  @ApiResponse({ status: 503, description: 'down or shutting down' })
  ready(): Promise<HealthCheckResult> {
    // Terminus only learns of a shutdown in its own beforeApplicationShutdown; ours may know sooner (SIGTERM).
    if (this.shutdown.shuttingDown) {
      const lifecycle = { status: 'down' as const, since: new Date(this.shutdown.since!).toISOString() };
      throw new ServiceUnavailableException({
        status: 'shutting_down',
        info: {},
        error: { lifecycle },
        details: { lifecycle },
      });
    }
    const proxy = this.readiness.proxy();
    return this.health.check([
      () => this.readiness.redis(),
      () => this.readiness.queues(),
      () => this.readiness.backlog(),
      () => this.readiness.vapid(),
      ...(this.readiness.durable ? [() => this.readiness.durability()] : []),
      ...this.readiness.credentials().map((r) => () => r),
      ...(proxy ? [() => proxy] : []),
    ]);
  }
}
