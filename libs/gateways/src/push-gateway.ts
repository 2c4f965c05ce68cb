import type { DeliveryOutcome, PushMessage, Registration, Subscription, Transport, Urgency } from '@davpush/domain';

/** One push to one registration, fully decided: the gateway only translates and sends. */
export interface PushDelivery {
  registration: Registration;
  message: PushMessage;
  /** The encoded WebDAV-Push `push-message` XML. */
  payload: string;
  ttlSeconds: number;
  urgency: Urgency;
  /** Keyed hash for RFC 8030 `Topic` / FCM `collapse_key`: never the raw topic. */
  collapseKey: string;
}

/**
 * A push with everything before the push service done (PushGateway.prepare): either `transmit`, the
 * request itself, or the `outcome` if it is not to be sent at all (refused locally).
 */
export type PreparedPush = { transmit: () => Promise<DeliveryOutcome> } | { outcome: DeliveryOutcome };

/**
 * The port every transport adapter implements (STYLE "ports as abstract classes"). Adapters never
 * throw for a push service's answer: they classify it into a DeliveryOutcome.
 */
export abstract class PushGateway {
  abstract readonly transport: Transport;

  /**
   * Registrations per delivery job. FCM: one sendEach call (500 at most). Web Push: pushes of one
   * origin sent side by side, each through the origin's gate, sharing one job's queue overhead.
   */
  abstract readonly batchSize: number;

  abstract send(delivery: PushDelivery): Promise<DeliveryOutcome>;

  /**
   * The work before the push service is contacted (Web Push: VAPID and the RFC 8291 encryption),
   * so a caller can hold an origin's slot (OriginGate) for the request alone. Throws only for our
   * own failures, as `send` does. Default: nothing to prepare.
   */
  prepare(delivery: PushDelivery): Promise<PreparedPush> {
    return Promise.resolve({ transmit: () => this.send(delivery) });
  }

  /** What one circuit breaker and concurrency cap cover: a push-service origin, or the whole transport. */
  routeKey(_subscription: Subscription): string {
    return this.transport;
  }

  /** Transports with a batch API (FCM sendEach) override this; results are in input order. */
  sendMany(deliveries: readonly PushDelivery[]): Promise<DeliveryOutcome[]> {
    return Promise.all(deliveries.map((d) => this.send(d)));
  }
}

/** Picks the adapter for a registration's transport. */
export abstract class PushGatewayRegistry {
  abstract for(transport: Transport): PushGateway;
  abstract transports(): Transport[];
}
