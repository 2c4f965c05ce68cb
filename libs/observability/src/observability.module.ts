import { Global, Module } from '@nestjs/common';
import { PushMetrics } from './push-metrics';

@Global()
@Module({ providers: [PushMetrics], exports: [PushMetrics] })
export class ObservabilityModule {}
