import { Controller, Get, Query, UseGuards } from '@nestjs/common';
import { SUPPORTED_TRIGGERS, ValidationError } from '@davpush/domain';
import { FcmGateway, PushGatewayRegistry, VapidService } from '@davpush/gateways';
import { buildDiscoveryProperties } from '@davpush/webdav-push';
import { TenantGuard } from '../http/auth.guards';
import { assertTopic } from '@davpush/application';

/** What a calendar server embeds in its PROPFIND answers (WebDAV-Push draft §"Service detection"). */
@Controller('v1/discovery')
@UseGuards(TenantGuard)
export class DiscoveryController {
  constructor(
    private readonly vapid: VapidService,
    private readonly gateways: PushGatewayRegistry,
    private readonly fcm: FcmGateway,
  ) {}

  @Get()
  async discover(@Query('topic') topic: unknown) {
    if (typeof topic !== 'string') throw new ValidationError('the query parameter topic is required (once)');
    assertTopic(topic);
    const { publicKey } = await this.vapid.current();
    const transports = this.gateways.transports();
    // Our own apps learn the FCM sender (project) here; only when FCM is configured.
    const projectId = transports.includes('fcm') ? this.fcm.state().projectId : undefined;
    return {
      vapidPublicKey: publicKey,
      transports,
      ...(projectId ? { fcmProjectId: projectId } : {}),
      supportedTriggers: SUPPORTED_TRIGGERS,
      properties: buildDiscoveryProperties({ vapidPublicKey: publicKey, topic, fcm: projectId ? { projectId } : undefined }),
    };
  }
}
