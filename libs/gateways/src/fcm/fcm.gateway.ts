import { Injectable, Optional, type OnApplicationShutdown } from '@nestjs/common';
import { cert, deleteApp, initializeApp, type App } from 'firebase-admin/app';
import {
  getMessaging,
  type BatchResponse,
  type Messaging,
  type SendResponse,
  type TokenMessage,
} from 'firebase-admin/messaging';
import { AppConfig } from '@davpush/config';
import type { DeliveryOutcome, OutcomeKind } from '@davpush/domain';
import { PushGateway, type PushDelivery } from '../push-gateway';
import {
  CredentialHealth,
  EndpointTokenCredential,
  loadServiceAccount,
  observedCredential,
  type ServiceAccountKey,
} from './fcm-credentials';
import { endpointRoute, RetryAfterProbe, type EndpointRoute } from './fcm-endpoint';
import { PushMessageTooLargeError } from '@davpush/webdav-push';
import { buildFcmMessage } from './fcm-message.builder';
import { classifyFcmError } from './fcm.classifier';

/** firebase-admin's FCM_MAX_BATCH_SIZE: sendEach refuses more. */
export const FCM_MAX_BATCH_SIZE = 500;
/** A session failure's pending results settle within the SDK's 15 s request timeout. */
const PENDING_RESULTS_TIMEOUT_MS = 20_000;

export const isFcmConfigured = (config: Pick<AppConfig, 'fcm'>): boolean => !!config.fcm.credentialsPath;

/**
 * Optional extras for FcmGateway. A class so Nest can inject it (`@Optional()`) without a string token.
 * `ca` is trusted for DAVPUSH_FCM_ENDPOINT only (tests that cannot set NODE_EXTRA_CA_CERTS).
 */
export class FcmGatewayOptions {
  ca?: string | Buffer;
}

export interface FcmGatewayState {
  configured: boolean;
  projectId?: string;
  /** Set when DAVPUSH_FCM_ENDPOINT routes OAuth and sends away from Google. */
  endpoint?: string;
  /** `http2`: firebase-admin's default sendEach transport; `http1`: legacy transport via our agent. */
  transport?: 'http2' | 'http1';
  lastTokenOk?: boolean;
  lastTokenAt?: number;
  lastError?: string;
}

export interface FcmGatewayStats {
  /** sendEach calls. */
  batches: number;
  messages: number;
  outcomes: Record<OutcomeKind, number>;
}

let appSequence = 0;

/**
 * FCM HTTP v1 through firebase-admin (README "FCM (our own apps)"). One firebase App per gateway (one credential),
 * created at start-up and deleted at shutdown; `sendMany` cuts deliveries into sendEach batches of
 * 500 and classifies each result on its own, so one bad token never fails its neighbours.
 */
@Injectable()
export class FcmGateway extends PushGateway implements OnApplicationShutdown {
  readonly transport = 'fcm' as const;
  readonly batchSize = FCM_MAX_BATCH_SIZE;
  readonly stats: FcmGatewayStats = {
    batches: 0,
    messages: 0,
    outcomes: { accepted: 0, gone: 0, rejected: 0, auth: 0, throttled: 0, transient: 0 },
  };

  private readonly account?: ServiceAccountKey;
  private readonly health = new CredentialHealth();
  private readonly route?: EndpointRoute;
  private readonly probe?: RetryAfterProbe;
  private app?: App;
  private messaging?: Messaging;

  constructor(config: AppConfig, @Optional() options?: FcmGatewayOptions) {
    super();
    const file = config.fcm.credentialsPath;
    if (!file) return;
    // Throws a ConfigError naming DAVPUSH_FCM_CREDENTIALS: a bad key file stops start-up.
    const account = loadServiceAccount(file);
    this.account = account;
    const name = `davpush-fcm-${account.projectId}-${++appSequence}`;
    if (config.fcm.endpoint) {
      const route = endpointRoute(config.fcm.endpoint, options?.ca);
      this.route = route;
      this.probe = new RetryAfterProbe(route.agent);
      this.app = initializeApp(
        {
          projectId: account.projectId,
          httpAgent: route.agent,
          credential: new EndpointTokenCredential(account, route.tokenUrl, route.agent, this.health),
        },
        name,
      );
      this.messaging = getMessaging(this.app);
      // sendEach's HTTP/2 transport dials fcm.googleapis.com itself and ignores httpAgent; the
      // legacy HTTP/1.1 transport honours it (libraries.md §1). Deprecated, still in 13.x and 14.x.
      this.messaging.enableLegacyHttpTransport();
    } else {
      const credential = observedCredential(
        cert({ projectId: account.projectId, clientEmail: account.clientEmail, privateKey: account.privateKey }),
        this.health,
      );
      this.app = initializeApp({ projectId: account.projectId, credential }, name);
      this.messaging = getMessaging(this.app);
    }
  }

  /** For readiness and discovery: is FCM on, for which project, and did the last OAuth exchange work. */
  state(): FcmGatewayState {
    if (!this.account) return { configured: false };
    const { lastTokenOk, lastTokenAt, lastError } = this.health.state;
    return {
      configured: true,
      projectId: this.account.projectId,
      // origin + path only: never echo userinfo from the URL into readiness output.
      endpoint: this.route ? `${this.route.url.origin}${this.route.url.pathname}` : undefined,
      transport: this.route ? 'http1' : 'http2',
      lastTokenOk,
      lastTokenAt,
      lastError,
    };
  }

  async send(delivery: PushDelivery): Promise<DeliveryOutcome> {
    const [outcome] = await this.sendMany([delivery]);
    return outcome!;
  }

  override async sendMany(deliveries: readonly PushDelivery[]): Promise<DeliveryOutcome[]> {
    const outcomes: DeliveryOutcome[] = [];
    // One batch at a time: each sendEach already runs its 500 requests concurrently.
    for (let i = 0; i < deliveries.length; i += FCM_MAX_BATCH_SIZE) {
      outcomes.push(...(await this.sendBatch(deliveries.slice(i, i + FCM_MAX_BATCH_SIZE))));
    }
    return outcomes;
  }

  private async sendBatch(batch: readonly PushDelivery[]): Promise<DeliveryOutcome[]> {
    const messaging = this.messaging;
    if (!messaging) throw new Error('FCM transport is not configured (DAVPUSH_FCM_CREDENTIALS is unset)');
    const outcomes = Array.from<DeliveryOutcome>({ length: batch.length });
    const messages: TokenMessage[] = [];
    const positions: number[] = [];
    batch.forEach((d, i) => {
      if (d.registration.subscription.type === 'fcm') {
        try {
          messages.push(buildFcmMessage(d));
          positions.push(i);
        } catch (err) {
          // Too large even without its sync-token: never sent, not retried, dead-lettered.
          if (!(err instanceof PushMessageTooLargeError)) throw err;
          outcomes[i] = { kind: 'rejected', reason: err.message };
        }
      } else {
        outcomes[i] = { kind: 'rejected', reason: `not an fcm registration (${d.registration.subscription.type})` };
      }
    });
    if (messages.length > 0) {
      const mark = this.probe?.mark() ?? 0;
      this.stats.batches++;
      this.stats.messages += messages.length;
      let responses: SendResponse[] | undefined;
      let batchError: unknown;
      try {
        responses = (await messaging.sendEach(messages)).responses;
      } catch (err) {
        // An HTTP/2 session failure rejects the whole call; the requests already answered are kept.
        batchError = err;
        responses = await pendingResponses(err);
      }
      const context = {
        retryAfterMs: this.probe?.maxSince(mark, 429),
        unavailableRetryAfterMs: this.probe?.maxSince(mark, 503),
        tokenFailureTransient: this.health.state.lastErrorTransient,
      };
      positions.forEach((at, k) => {
        const r = responses?.[k];
        outcomes[at] = r?.success ? { kind: 'accepted' } : classifyFcmError(r ? r.error : batchError, context);
      });
    }
    for (const o of outcomes) this.stats.outcomes[o.kind]++;
    return outcomes;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.close();
  }

  /** Deletes the firebase App and closes our sockets. Idempotent. */
  async close(): Promise<void> {
    const app = this.app;
    this.app = undefined;
    this.messaging = undefined;
    this.probe?.close();
    if (app) await deleteApp(app);
    this.route?.agent.destroy();
  }
}

async function pendingResponses(err: unknown): Promise<SendResponse[] | undefined> {
  const pending = (err as { pendingBatchResponse?: Promise<BatchResponse> } | undefined)?.pendingBatchResponse;
  if (!pending) return undefined;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), PENDING_RESULTS_TIMEOUT_MS);
    timer.unref();
  });
  try {
    return (await Promise.race([pending, timeout]))?.responses;
  } catch {
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}
