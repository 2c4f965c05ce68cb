import { Injectable } from '@nestjs/common';
import { AppConfig } from '@davpush/config';
import {
  DEFAULT_CC_PRIORITY,
  InvalidTopicsError,
  judgeCcExpiry,
  parseClientData,
  PreconditionFailedError,
  urgencyForPriority,
  ValidationError,
  isPushClientId,
  normalizeTransportUri,
  type CcTransport,
  type Transport,
} from '@davpush/domain';
import { FcmGateway, PushGatewayRegistry, VapidService } from '@davpush/gateways';
import { KnownTopicStore } from '@davpush/storage';
import type { EventInput } from './change-event.dto';
import { EventsService } from './events.service';
import { RegistrationsService } from './registrations.service';
import { assertTopic } from './topic';

/** A topic a subscription could have been made for ({@link assertTopic}). */
const isTopic = (topic: string): boolean => {
  try {
    assertTopic(topic);
    return true;
  } catch {
    return false;
  }
};

/** §6.1.3 priority 0–100, default 50; a value outside is rounded into the range. */
const ccPriority = (p: number | undefined): number =>
  p === undefined ? DEFAULT_CC_PRIORITY : Math.min(100, Math.max(0, Math.round(p)));

/** A subscription as the gateway API (`push-subscribe`) or the client's `subscribe` XML carries it. */
export interface CcSubscription {
  topics: readonly string[];
  transportUri: string;
  clientData: string;
  expires: string;
}

export interface CcSubscribeOptions {
  /** X-Davpush-Principal: the registrations are bound to this user of the calendar server. */
  principal?: string;
  /** `Push-Client-Id` of the subscribing client, used when client-data carries no client id. */
  clientId?: string;
  /**
   * Which topics may be named: `any` (the application server itself subscribes: it knows its
   * topics), `known` (topics the tenant has shown davpush), or the list the calendar server says
   * the user may read.
   */
  topics: 'any' | 'known' | readonly string[];
}

export interface CcSubscribeResult {
  pushUrl: string;
  /** `subscribed` with the granted expiry (epoch ms), or `unsubscribed` (a past `expires`). */
  outcome: { kind: 'subscribed'; expiresAt: number; created: number } | { kind: 'unsubscribed'; removed: number };
}

/** One message of a `push` (draft-gajda-dav-push-00 §6.1.3), values already type-checked. */
export interface CcMessage {
  topic: string;
  priority?: number;
  timestamp?: string;
  clientId?: string;
}

/**
 * The CalConnect CC/CD 70025 Push Gateway (draft-gajda-dav-push-00 §5.1, §5.3, §5.4) on top of the
 * shared use cases: a subscription becomes one ordinary registration per topic (so delivery,
 * coalescing, retries, pruning and status are those of every registration), and a `push` becomes
 * ordinary change events. Decisions where the draft contradicts itself: docs/cc70025.md.
 */
@Injectable()
export class CcGatewayService {
  constructor(
    private readonly config: AppConfig,
    private readonly registrations: RegistrationsService,
    private readonly events: EventsService,
    private readonly knownTopics: KnownTopicStore,
    private readonly gateways: PushGatewayRegistry,
    private readonly vapid: VapidService,
    private readonly fcm: FcmGateway,
  ) {}

  /** The gateway root URL: every call goes there, and it is the `push-url` handed out (§5.3). */
  gatewayUrl(): string {
    return `${this.config.http.publicUrl}/v1/gateway`;
  }

  /** The `transport-uri` of one of davpush's transports: an identifier only, never fetched. */
  transportUri(transport: Transport): string {
    return `${this.gatewayUrl()}/transports/${transport}`;
  }

  /**
   * davpush's transports (bootstrap, §5.1 and §6.1.1): Web Push with the VAPID public key, and FCM
   * with its project id when configured. Each has the configured refresh-interval.
   */
  async transports(): Promise<CcTransport[]> {
    const refreshInterval = this.config.gateway.refreshIntervalSeconds;
    const list: CcTransport[] = [];
    for (const transport of this.gateways.transports()) {
      const transportData: Record<string, string> =
        transport === 'web-push'
          ? { 'vapid-public-key': (await this.vapid.current()).publicKey }
          : { 'project-id': this.fcm.state().projectId ?? '' };
      list.push({ transport, transportUri: this.transportUri(transport), refreshInterval, transportData });
    }
    return list;
  }

  /**
   * The transport a `transport-uri` names: one of ours as advertised, compared after URI
   * normalisation (RFC 3986 §6.2.2 and §6.2.3: scheme and host case, the default port, an empty
   * path or a trailing slash), or its short name (`web-push`, `fcm`). Anything else is
   * `push-not-available`: davpush relays to no other gateway.
   */
  transportOf(uri: string): Transport {
    const configured = this.gateways.transports();
    const given = uri.trim();
    const wanted = normalizeTransportUri(given);
    const found = configured.find(
      (t) => given === t || (wanted !== undefined && wanted === normalizeTransportUri(this.transportUri(t))),
    );
    if (found) return found;
    const known = configured.map((t) => this.transportUri(t)).join(', ');
    throw new PreconditionFailedError(
      'push-not-available',
      `transport-uri ${JSON.stringify(uri.slice(0, 200))} is not a transport of this gateway (${known})`,
    );
  }

  /**
   * A subscription (§5.3 JSON `push-subscribe`, §5.2.3.2 XML `subscribe`), all or nothing: every
   * topic, the transport, the client-data and the expiry are judged before anything is stored, and
   * registrations created by a request that then fails are removed again.
   * @throws InvalidTopicsError naming every refused topic; PreconditionFailedError for a bad
   *   transport or client-data; ValidationError for a malformed or too distant `expires`.
   */
  async subscribe(tenantId: string, sub: CcSubscription, opts: CcSubscribeOptions): Promise<CcSubscribeResult> {
    await this.checkTopics(tenantId, sub.topics, opts.topics);
    const transport = this.transportOf(sub.transportUri);
    const { subscription, clientId: fromData } = parseClientData(transport, sub.clientData);
    const clientId = fromData ?? opts.clientId;
    const now = Date.now();
    const expiry = judgeCcExpiry(sub.expires, now, this.config.gateway.refreshIntervalSeconds);
    const topics = [...new Set(sub.topics)];
    if (expiry.kind === 'unsubscribe') {
      let removed = 0;
      for (const topic of topics) {
        if (await this.registrations.unregisterSubscription(tenantId, topic, { subscription }, opts.principal))
          removed++;
      }
      return { pushUrl: this.gatewayUrl(), outcome: { kind: 'unsubscribed', removed } };
    }
    const request = {
      subscription,
      expires: new Date(expiry.expiresAt).toISOString(),
      ...(clientId ? { clientId } : {}),
    };
    const created: string[] = [];
    try {
      for (const topic of topics) {
        const r = await this.registrations.register(tenantId, topic, request, opts.principal);
        if (r.created) created.push(r.id);
      }
    } catch (err) {
      await Promise.all(
        created.map((id) =>
          this.registrations.remove(id, { tenantId, principal: opts.principal }).catch(() => undefined),
        ),
      );
      throw err;
    }
    await this.knownTopics.add(tenantId, topics);
    return {
      pushUrl: this.gatewayUrl(),
      outcome: { kind: 'subscribed', expiresAt: expiry.expiresAt, created: created.length },
    };
  }

  /**
   * A `push` (§5.4, §6.1.3): one content change event per message, priority mapped to urgency
   * ({@link urgencyForPriority}), `client-id` skipping that client's registrations. Returns the
   * topics nobody is subscribed to, in the order first named (unknown topics are no error, §5.4).
   *
   * One message never sinks the others: a topic no subscription can have (not 1–512 characters,
   * control characters) is only listed in `no-subscribers`; a `client-id` no subscription can
   * carry (not a 1–256 character token) names nobody and is ignored; a `timestamp` is not used,
   * so it is not judged; a priority outside 0–100 is rounded into the range.
   */
  async push(
    tenantId: string,
    messages: readonly CcMessage[],
    requestId?: string,
  ): Promise<{ noSubscribers: string[] }> {
    const inputs: EventInput[] = [];
    const unusable = new Set<string>();
    for (const m of messages) {
      if (!isTopic(m.topic)) {
        unusable.add(m.topic);
        continue;
      }
      inputs.push({
        topic: m.topic,
        changes: ['content'],
        urgency: urgencyForPriority(ccPriority(m.priority)),
        ...(isPushClientId(m.clientId) ? { skipClients: [m.clientId] } : {}),
      });
    }
    const accepted = inputs.length > 0 ? (await this.events.accept(tenantId, inputs, requestId)).noSubscribers : [];
    const none = new Set([...accepted, ...unusable]);
    return { noSubscribers: [...new Set(messages.map((m) => m.topic))].filter((t) => none.has(t)) };
  }

  /** Marks a topic as one the tenant's clients may subscribe to (discovery was asked for it). */
  async topicShown(tenantId: string, topic: string): Promise<void> {
    await this.knownTopics.add(tenantId, [topic]);
  }

  private async checkTopics(
    tenantId: string,
    topics: readonly string[],
    allowed: CcSubscribeOptions['topics'],
  ): Promise<void> {
    if (topics.length === 0) throw new ValidationError('topics must name at least one topic');
    const malformed = topics.filter((t) => !isTopic(t));
    let refused = malformed;
    if (malformed.length === 0 && allowed !== 'any') {
      refused =
        allowed === 'known'
          ? await this.knownTopics.unknown(tenantId, topics)
          : topics.filter((t) => !allowed.includes(t));
    }
    if (refused.length > 0) {
      const why =
        malformed.length > 0
          ? 'malformed (1 to 512 characters, no control characters)'
          : 'unknown to this gateway or not readable by the user';
      throw new InvalidTopicsError([...new Set(refused)], `${refused.length} topic(s) ${why}; nothing was subscribed`);
    }
  }
}
