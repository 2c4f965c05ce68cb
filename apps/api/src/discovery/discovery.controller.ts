import { Controller, Get, Query, UseGuards } from '@nestjs/common';
import { SUPPORTED_TRIGGERS, ValidationError } from '@davpush/domain';
import { PushGatewayRegistry, VapidService } from '@davpush/gateways';
import { buildDiscoveryProperties } from '@davpush/webdav-push';
import { TenantGuard } from '../http/auth.guards';
import { assertTopic } from '../registrations/topic';

/** What a calendar server embeds in its PROPFIND answers (WebDAV-Push draft §"Service detection"). */
@Controller('v1/discovery')
@UseGuards(TenantGuard)
export class DiscoveryController {
  constructor(
    private readonly vapid: VapidService,
    private readonly gateways: PushGatewayRegistry,
  ) {}

  @Get()
  async discover(@Query('topic') topic: unknown) {
    if (typeof topic !== 'string') throw new ValidationError('the query parameter topic is required (once)');
    assertTopic(topic);
    const { publicKey } = await this.vapid.current();
    return {
      vapidPublicKey: publicKey,
      transports: this.gateways.transports(),
      supportedTriggers: SUPPORTED_TRIGGERS,
      properties: buildDiscoveryProperties({ vapidPublicKey: publicKey, topic }),
    };
  }
}
