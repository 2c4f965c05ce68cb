import { RegistrationStore } from '@davpush/storage';
import { FakeFcm } from '../fcm/fake-fcm';
import { createTestServiceAccount, type TestServiceAccount } from '../fcm/test-service-account';
import { FakePushService } from '../support/fake-push-service';
import type { WebPushClient } from '../support/webpush-client';
import { ADMIN_TOKEN, eventually, startHarness, type Harness } from './harness';

/** `unit` repeated to `codeUnits` UTF-16 code units (the unit the API's length limits count). */
export const fill = (unit: string, codeUnits: number) => unit.repeat(Math.floor(codeUnits / unit.length));

/** A base64url value in the standard alphabet, padded (what `btoa()` writes). */
export const std = (b64url: string) => Buffer.from(b64url, 'base64url').toString('base64');

/** RFC 8188 §2.1: header salt(16) rs(4) idlen(1) keyid; one record means the rest fits in rs. */
export function recordsOf(body: Buffer): number {
  const rs = body.readUInt32BE(16);
  const rest = body.length - 21 - body[20]!;
  return Math.ceil(rest / rs);
}

/** A `push-register` document for `c` with the keys written as given. */
export const webPushXml = (c: WebPushClient, key: string, auth: string) =>
  `<push-register xmlns="https://bitfire.at/webdav-push"><subscription><web-push-subscription>` +
  `<push-resource>${c.pushResource}</push-resource>` +
  `<subscription-public-key type="p256dh">${key}</subscription-public-key><auth-secret>${auth}</auth-secret>` +
  `</web-push-subscription></subscription></push-register>`;

/** A trigger asking for both kinds of change. */
export const BOTH = { contentUpdate: { depth: '1' }, propertyUpdate: { depth: '0' } };

export type Deliveries = { pending: number; accepted: number; gone: number; failed: number; skipped: number };

/**
 * What the field cases run against: the real app (api + worker) with Web Push and FCM on its own
 * Redis, a local HTTPS push service, a local FCM, one tenant; and the steps every case takes.
 */
export class FieldCaseWorld {
  private n = 0;

  private constructor(
    readonly h: Harness,
    readonly push: FakePushService,
    readonly fcm: FakeFcm,
    private readonly account: TestServiceAccount,
    readonly apiKey: string,
    readonly tenantId: string,
  ) {}

  static async start(env: Record<string, string> = {}): Promise<FieldCaseWorld> {
    const account = createTestServiceAccount('davpush-field-cases');
    const fcm = await FakeFcm.start({
      projectId: account.projectId,
      clientEmail: account.clientEmail,
      publicKey: account.publicKey,
    });
    const push = await FakePushService.start();
    const h = await startHarness({
      DAVPUSH_FCM_CREDENTIALS: account.file,
      DAVPUSH_FCM_ENDPOINT: fcm.url,
      DAVPUSH_COALESCE_MS: '500',
      ...env,
    });
    const { apiKey, id } = await h.createTenant();
    return new FieldCaseWorld(h, push, fcm, account, apiKey, id);
  }

  async close(): Promise<void> {
    await this.h.close();
    await this.fcm.close();
    await this.push.stop();
    this.account.cleanup();
  }

  topicName(prefix: string): string {
    return `${prefix}-${++this.n}`;
  }

  /** POST /v1/events; the first event's id. Throws unless the answer is 202. */
  async sendEvent(body: Record<string, unknown>): Promise<string> {
    const res = await this.h.request('POST', '/v1/events', { token: this.apiKey, body });
    if (res.status !== 202) throw new Error(`POST /v1/events answered ${res.status}: ${await res.text()}`);
    return ((await res.json()) as { events: { id: string }[] }).events[0]!.id;
  }

  /** The event's delivery counts once it is done and nothing is pending. */
  finished(id: string): Promise<Deliveries> {
    return eventually(
      async () => {
        const s = (await (await this.h.request('GET', `/v1/events/${id}`, { token: this.apiKey })).json()) as {
          state: string;
          deliveries: Deliveries;
        };
        return s.state === 'done' && s.deliveries.pending === 0 ? s.deliveries : undefined;
      },
      15_000,
      `event ${id} to finish`,
    );
  }

  async registerJson(topic: string, body: unknown) {
    const res = await this.h.request('POST', `/v1/topics/${encodeURIComponent(topic)}/registrations`, {
      token: this.apiKey,
      body,
    });
    const location = res.headers.get('location') ?? '';
    return { res, location, id: location.split('/').pop()! };
  }

  registerWebPush(topic: string, c: WebPushClient, trigger?: object) {
    return this.registerJson(topic, {
      subscription: {
        type: 'web-push',
        pushResource: c.pushResource,
        publicKey: c.publicKey,
        authSecret: c.authSecret,
      },
      trigger,
    });
  }

  registerXml(topic: string, xml: string): Promise<Response> {
    return this.h.request('POST', `/v1/topics/${encodeURIComponent(topic)}/registrations`, {
      token: this.apiKey,
      body: xml,
      headers: { 'content-type': 'application/xml' },
    });
  }

  pushesTo(c: WebPushClient) {
    return this.push.received(this.push.idOf(c));
  }

  fcmSendsTo(token: string) {
    return this.fcm.sends.filter((r) => (r.body as { message?: { token?: string } }).message?.token === token);
  }

  /** Registrations A and B on a fresh topic, with their Location URLs. */
  async twoOnATopic() {
    const t = this.topicName('dn');
    const a = this.push.subscribe();
    const b = this.push.subscribe();
    const ra = await this.registerWebPush(t, a);
    const rb = await this.registerWebPush(t, b);
    if (ra.res.status !== 201 || rb.res.status !== 201)
      throw new Error(`registrations answered ${ra.res.status}, ${rb.res.status}`);
    return { t, a, b, A: ra.location, B: rb.location };
  }

  /** A subscription whose keys' standard base64 contains `+` or `/` (so it differs from base64url). */
  subscriberWithStandardChars(): WebPushClient {
    for (;;) {
      const c = this.push.subscribe();
      if (/[+/]/.test(std(c.publicKey)) && /[+/]/.test(std(c.authSecret))) return c;
    }
  }

  /** The subscription as stored (keys in their one stored form). */
  async storedSubscription(id: string) {
    return (await this.h.app.get(RegistrationStore).get(id, this.tenantId))!.subscription;
  }

  async deadLetters(): Promise<{ registrationId: string; reason: string }[]> {
    return (
      (await (await this.h.request('GET', '/v1/admin/dlq', { token: ADMIN_TOKEN })).json()) as {
        items: { registrationId: string; reason: string }[];
      }
    ).items;
  }
}
