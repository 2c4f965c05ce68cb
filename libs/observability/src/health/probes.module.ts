import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { HttpTelemetry } from '../http/http-telemetry';
import { HealthController } from './health.controller';
import { MetricsController } from './metrics.controller';
import { ReadinessIndicators } from './readiness.indicators';

/**
 * `/health/live`, `/health/ready`, `/metrics` and the access log / HTTP latency histogram, for any
 * process with an HTTP server: the api (through its OperationsModule) and a worker started alone.
 * Here rather than in apps/api because apps never import each other.
 */
@Module({
  imports: [TerminusModule.forRoot({ errorLogStyle: 'json' })],
  controllers: [HealthController, MetricsController],
  providers: [ReadinessIndicators, HttpTelemetry],
})
export class ProbesModule {}
