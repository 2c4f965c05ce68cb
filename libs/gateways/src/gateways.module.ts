import { Global, Injectable, Module } from '@nestjs/common';
import type { Transport } from '@davpush/domain';
import { SafeHttpClient } from './http/safe-http.client';
import { PushGateway, PushGatewayRegistry } from './push-gateway';
import { VapidService } from './web-push/vapid.service';
import { WebPushGateway } from './web-push/web-push.gateway';

@Injectable()
class DefaultGatewayRegistry extends PushGatewayRegistry {
  private readonly byTransport: Map<Transport, PushGateway>;

  constructor(webPush: WebPushGateway) {
    super();
    this.byTransport = new Map<Transport, PushGateway>([[webPush.transport, webPush]]);
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
  providers: [SafeHttpClient, VapidService, WebPushGateway, { provide: PushGatewayRegistry, useClass: DefaultGatewayRegistry }],
  exports: [SafeHttpClient, VapidService, WebPushGateway, PushGatewayRegistry],
})
export class GatewaysModule {}
