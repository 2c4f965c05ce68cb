import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import { RedisService } from '@davpush/storage';
import { JobPublisher, QueueName } from '@davpush/queue';

/** Liveness checks the process only (a Redis blip must not restart pods); readiness checks Redis and the queues. */
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicator: HealthIndicatorService,
    private readonly redis: RedisService,
    private readonly publisher: JobPublisher,
  ) {}

  @Get('live')
  @HealthCheck()
  live() {
    return this.health.check([async () => this.indicator.check('process').up({ uptimeSeconds: Math.round(process.uptime()) })]);
  }

  @Get('ready')
  @HealthCheck()
  ready() {
    return this.health.check([
      () => this.indicator.check('redis').attempt(async () => {
        await this.redis.ping();
        return {};
      }).withTimeout(1000),
      () => this.indicator.check('queues').attempt(async () => {
        const counts = await this.publisher.queue(QueueName.Fanout).getJobCounts('waiting', 'active', 'delayed');
        return { fanout: counts };
      }).withTimeout(1000),
    ]);
  }
}
