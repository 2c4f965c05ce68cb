import { Controller, Get, Query, UseGuards } from '@nestjs/common';
import { SUPPORTED_TRIGGERS, ValidationError } from '@davpush/domain';
import { FcmGateway, PushGatewayRegistry, VapidService } from '@davpush/gateways';
import {
  buildCcDiscoveryProperties,
  buildCcProperty,
  buildDiscoveryProperties,
  CC_PROPERTY_NAMES,
} from '@davpush/webdav-push';
import { ApiQuery } from '@nestjs/swagger';
import { TenantGuard, TenantId } from '../http/auth.guards';
import { ApiArea, AuthProblems, JsonAnswer, Operation, Problem, ref } from '../openapi/openapi.decorators';
import { assertTopic, CcGatewayService } from '@davpush/application';

/** What a calendar server embeds in its PROPFIND answers (WebDAV-Push draft §"Service detection"). */
@Controller('v1/discovery')
@UseGuards(TenantGuard)
@ApiArea('discovery', 'tenant')
@AuthProblems()
export class DiscoveryController {
  constructor(
    private readonly vapid: VapidService,
    private readonly gateways: PushGatewayRegistry,
    private readonly fcm: FcmGateway,
    private readonly ccGateway: CcGatewayService,
  ) {}

  /**
   * `dialect` = `webdav-push` (default) or `cc70025`: the CalConnect CC/CD 70025 properties
   * (draft-gajda-dav-push-00 §6.2.1, docs/cc70025.md), with `subscribeUrl` required: the
   * push-subscribe-URL is a resource of the DAV server (§5.2.3.2, §6.2.1.1), which relays the
   * client's `subscribe` to `POST /v1/gateway/subscribe` with its API key; a client could not
   * authenticate to davpush itself. Asking for a topic makes it one the tenant's clients may
   * subscribe to.
   */
  @Get()
  @Operation('WebDAV-Push properties for a PROPFIND answer: transports (VAPID key), topic, supported-triggers')
  @ApiQuery({ name: 'topic', required: true, schema: { type: 'string', maxLength: 512 }, example: 'cal-1' })
  @ApiQuery({
    name: 'dialect',
    required: false,
    schema: { type: 'string', enum: ['webdav-push', 'cc70025'] },
    description: 'cc70025: the CalConnect CC/CD 70025 properties (docs/cc70025.md)',
  })
  @ApiQuery({
    name: 'subscribeUrl',
    required: false,
    schema: { type: 'string', format: 'uri' },
    description:
      "cc70025 (required there): the calendar server's own URL where clients POST their subscribe; it relays the body to POST /v1/gateway/subscribe",
  })
  @JsonAnswer(200, 'discovery', ref('Discovery'))
  @Problem(400, 'topic missing or invalid')
  async discover(
    @TenantId() tenantId: string,
    @Query('topic') topic: unknown,
    @Query('dialect') dialect: unknown,
    @Query('subscribeUrl') subscribeUrl: unknown,
  ) {
    if (typeof topic !== 'string') throw new ValidationError('the query parameter topic is required (once)');
    assertTopic(topic);
    if (dialect !== undefined && dialect !== 'webdav-push' && dialect !== 'cc70025') {
      throw new ValidationError('the query parameter dialect must be webdav-push or cc70025 (once)');
    }
    await this.ccGateway.topicShown(tenantId, topic);
    if (dialect === 'cc70025') return this.discoverCc(topic, subscribeUrl);
    const { publicKey } = await this.vapid.current();
    const transports = this.gateways.transports();
    // Our own apps learn the FCM sender (project) here; only when FCM is configured.
    const projectId = transports.includes('fcm') ? this.fcm.state().projectId : undefined;
    return {
      vapidPublicKey: publicKey,
      transports,
      ...(projectId ? { fcmProjectId: projectId } : {}),
      supportedTriggers: SUPPORTED_TRIGGERS,
      properties: buildDiscoveryProperties({
        vapidPublicKey: publicKey,
        topic,
        fcm: projectId ? { projectId } : undefined,
      }),
    };
  }

  private async discoverCc(topic: string, subscribeUrl: unknown) {
    if (subscribeUrl === undefined) {
      throw new ValidationError(
        "dialect=cc70025 needs the query parameter subscribeUrl: the calendar server's own URL where clients POST their subscribe and which relays it to POST /v1/gateway/subscribe (docs/cc70025.md)",
      );
    }
    if (
      typeof subscribeUrl !== 'string' ||
      subscribeUrl.length > 2048 ||
      !/^https?:\/\//i.test(subscribeUrl) ||
      !URL.canParse(subscribeUrl)
    ) {
      throw new ValidationError('the query parameter subscribeUrl must be one absolute http(s) URL');
    }
    const url = subscribeUrl;
    const transports = await this.ccGateway.transports();
    const input = { subscribeUrl: url, topic, transports };
    return {
      dialect: 'cc70025',
      topic,
      subscribeUrl: url,
      transports: transports.map((t) => ({
        transportUri: t.transportUri,
        refreshInterval: t.refreshInterval,
        transportData: t.transportData,
      })),
      properties: buildCcDiscoveryProperties(input),
      // Keyed by the local name a PROPFIND asks for, in either spelling of the draft (docs/cc70025.md).
      propertiesByName: Object.fromEntries(
        Object.keys(CC_PROPERTY_NAMES).map((name) => [name, buildCcProperty(name, input)!]),
      ),
    };
  }
}
