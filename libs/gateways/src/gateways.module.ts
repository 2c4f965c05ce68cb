import { Global, Injectable, Module } from '@nestjs/common';
import type { Transport } from '@davpush/domain';
import { AppConfig } from '@davpush/config';
import { FcmGateway, isFcmConfigured } from './fcm';
import { DEFAULT_ORIGIN_GATE, OriginGate } from './http/origin-gate';
import { SafeHttpClient } from './http/safe-http.client';
import { PushGateway, PushGatewayRegistry } from './push-gateway';
import { VapidService } from './web-push/vapid.service';
import { WebPushGateway } from './web-push/web-push.gateway';
import { WebPushEncryptor } from './web-push/web-push-encryptor';

@Injectable()
class DefaultGatewayRegistry extends PushGatewayRegistry {
  private readonly byTransport: Map<Transport, PushGateway>;

  constructor(config: AppConfig, webPush: WebPushGateway, fcm: FcmGateway) {
    super();
    this.byTransport = new Map<Transport, PushGateway>([[webPush.transport, webPush]]);
    // FCM exists only where a service account is configured (discovery and registration follow).
    if (isFcmConfigured(config)) this.byTransport.set(fcm.transport, fcm);
  }

  for(transport: Transport): PushGateway {
    const g = this.byTransport.get(transport);
    if (!g) throw new Error(`transport ${transport} is not configured`);
    return g;
  }

  transports(): Transport[] {
    return [...this.byTransport.keys()];
  }
}

@Global()
@Module({
  providers: [
    SafeHttpClient,
    VapidService,
    WebPushEncryptor,
    WebPushGateway,
    FcmGateway,
    { provide: PushGatewayRegistry, useClass: DefaultGatewayRegistry },
    {
      provide: OriginGate,
      inject: [AppConfig],
      useFactory: (config: AppConfig) =>
        new OriginGate({
          ...DEFAULT_ORIGIN_GATE,
          maxInFlight: config.delivery.originConcurrency,
          maxWaiting: config.delivery.originConcurrency,
        }),
    },
  ],
  exports: [
    SafeHttpClient,
    VapidService,
    WebPushEncryptor,
    WebPushGateway,
    FcmGateway,
    PushGatewayRegistry,
    OriginGate,
  ],
})
export class GatewaysModule {}
