import { Global, Module } from '@nestjs/common';
import { ShutdownState } from './health/shutdown-state';
import { ProxyUpstreamState } from './health/proxy-upstream.state';
import { PushMetrics } from './push-metrics';
import { OperationalGauges } from './stats/operational-gauges';
import { QueueStatsService } from './stats/queue-stats.service';
import { RegistrationStatsService } from './stats/registration-stats.service';
import { ReplicationStatsService } from './stats/replication-stats.service';

/** Metrics and the figures behind them, in every role (api, worker, CLI); HTTP endpoints live in ProbesModule. */
@Global()
@Module({
  providers: [
    PushMetrics,
    QueueStatsService,
    RegistrationStatsService,
    ReplicationStatsService,
    OperationalGauges,
    ShutdownState,
    ProxyUpstreamState,
  ],
  exports: [
    PushMetrics,
    QueueStatsService,
    RegistrationStatsService,
    ReplicationStatsService,
    ShutdownState,
    ProxyUpstreamState,
  ],
})
export class ObservabilityModule {}
