import { Controller, Get, Header } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { PushMetrics } from '../push-metrics';

/**
 * Prometheus scrape endpoint, without auth like most exporters: it carries counts and latencies,
 * no tenant names, topics or endpoints. Bind HOST to a private interface or filter it at the
 * proxy if that is still too much (docs/operations.md).
 */
@Controller('metrics')
@ApiTags('operations')
export class MetricsController {
  constructor(private readonly metrics: PushMetrics) {}

  @Get()
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  @Header('Cache-Control', 'no-store')
  @ApiOperation({ summary: 'Prometheus metrics' })
  @ApiResponse({ status: 200, description: 'text/plain; version=0.0.4' })
  scrape(): Promise<string> {
    return this.metrics.registry.metrics();
  }
}
