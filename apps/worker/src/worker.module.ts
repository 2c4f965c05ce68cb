import { Module } from '@nestjs/common';
import { DeliveryOutcomes } from './delivery/delivery-outcomes';
import { DeliveryService } from './delivery/delivery.service';
import { DeliverProcessor } from './delivery/deliver.processor';
import { InlineDelivery } from './delivery/inline-delivery';
import { FanoutProcessor } from './fan-out/fanout.processor';
import { FanoutService } from './fan-out/fanout.service';
import { InProcessFanout } from './fan-out/in-process-fanout';
import { MaintenanceProcessor } from './maintenance/maintenance.processor';
import { JobHandlers } from './job-handlers';
import { WorkerRunner } from './worker-runner';

/**
 * The worker role: BullMQ processors for coalesce → fan-out → deliver, and housekeeping.
 * Infrastructure (config, Redis, queues, gateways) comes from CoreModule, imported by the entry point.
 */
@Module({
  providers: [
    FanoutService,
    FanoutProcessor,
    InProcessFanout,
    DeliveryService,
    DeliveryOutcomes,
    DeliverProcessor,
    InlineDelivery,
    MaintenanceProcessor,
    JobHandlers,
    WorkerRunner,
  ],
})
export class WorkerModule {}
