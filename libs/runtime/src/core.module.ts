import { type DynamicModule, Module } from '@nestjs/common';
import { AppConfig, ConfigModule } from '@davpush/config';
import { GatewaysModule } from '@davpush/gateways';
import { ObservabilityModule } from '@davpush/observability';
import { QueueModule } from '@davpush/queue';
import { StorageModule } from '@davpush/storage';

/** Infrastructure every role needs: validated config, Redis stores, BullMQ queues, push gateways. */
@Module({})
export class CoreModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: CoreModule,
      imports: [ConfigModule.forRoot(config), ObservabilityModule, StorageModule, QueueModule.forRoot(), GatewaysModule],
    };
  }
}
