import { type DynamicModule, Module } from '@nestjs/common';
import { ApplicationModule } from '@davpush/application';
import { AppConfig, ConfigModule } from '@davpush/config';
import { GatewaysModule } from '@davpush/gateways';
import { ObservabilityModule } from '@davpush/observability';
import { QueueModule } from '@davpush/queue';
import { StorageModule } from '@davpush/storage';

/**
 * Infrastructure every role needs: validated config, Redis stores, BullMQ queues, push gateways,
 * and the shared use cases (registrations, events, tenants) over them.
 */
@Module({})
export class CoreModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: CoreModule,
      imports: [
        ConfigModule.forRoot(config),
        ObservabilityModule,
        StorageModule,
        QueueModule.forRoot(config),
        GatewaysModule,
        ApplicationModule,
      ],
    };
  }
}
