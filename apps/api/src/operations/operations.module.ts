import { BullBoardModule, InjectBullBoard, type BullBoardInstance } from '@bull-board/nestjs';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { Injectable, Module, type OnModuleInit } from '@nestjs/common';
import { AppConfig } from '@davpush/config';
import { ProbesModule } from '@davpush/observability';
import { QueueName, ShardedQueues } from '@davpush/queue';
import { AdminGuard } from '../http/auth.guards';
import { AdminQueuesController } from './admin-queues.controller';
import { dashboardAuth } from './dashboard-auth';

const DASHBOARD_ROUTE = '/admin/queues';

/** bull-board serves from an Express app of its own; it should not announce itself either (configure-http). */
class DashboardAdapter extends ExpressAdapter {
  constructor() {
    super();
    this.app.disable('x-powered-by');
  }
}

/** Shown under each queue's name in the dashboard, so an operator reading it needs no source code. */
const DESCRIPTIONS: Record<QueueName, string> = {
  [QueueName.Fanout]: 'one job per coalesced topic change; adds a delivery per live registration',
  [QueueName.DeliverWebPush]: 'one Web Push request per registration (retries wait in delayed)',
  [QueueName.DeliverFcm]: 'FCM HTTP v1 sends, batched by the worker',
  [QueueName.DeadLetter]: 'deliveries given up, kept on purpose: nothing consumes them; davpush dlq list | dlq replay',
  [QueueName.Maintenance]: 'housekeeping: expired-registration sweep, stranded-event recovery',
};

/**
 * Puts every queue on the dashboard, each shard of a sharded queue as its own entry (`fanout`,
 * `fanout-1`, …) so a stuck shard shows; the shard count is known from the config only at run time.
 */
@Injectable()
class DashboardQueues implements OnModuleInit {
  constructor(
    @InjectBullBoard() private readonly board: BullBoardInstance,
    private readonly queues: ShardedQueues,
  ) {}

  onModuleInit(): void {
    for (const q of this.queues.all()) {
      const shard = q.shard !== undefined && this.queues.count > 1 ? ` (shard ${q.shard} of ${this.queues.count})` : '';
      this.board.addQueue(new BullMQAdapter(this.queues.byPhysical(q), { description: DESCRIPTIONS[q.kind] + shard }));
    }
  }
}

/**
 * What operators look at: health probes and /metrics (ProbesModule, shared with the worker), the
 * bull-board queue dashboard behind the admin token, and its JSON twin `GET /v1/admin/queues`.
 */
@Module({
  imports: [
    ProbesModule,
    BullBoardModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({
        route: DASHBOARD_ROUTE,
        adapter: DashboardAdapter,
        middleware: dashboardAuth({
          adminToken: config.adminToken,
          basePath: DASHBOARD_ROUTE,
          secure: config.http.publicUrl.startsWith('https:'),
        }),
        boardOptions: { uiConfig: { boardTitle: 'davpush' } },
      }),
    }),
  ],
  controllers: [AdminQueuesController],
  providers: [AdminGuard, DashboardQueues],
})
export class OperationsModule {}
