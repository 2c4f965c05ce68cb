import type { CcTransport } from '@davpush/domain';

/**
 * The gateway's JSON answers (CC/CD 70025, draft-gajda-dav-push-00), in the form of the draft's
 * examples where its syntax and examples differ (docs/cc70025.md).
 */

/** §5.1: `{"push-transports": [{"transport": {"transport-uri", "refresh-interval", "transport-data"}}, …]}`. */
export const bootstrapResponse = (transports: readonly CcTransport[]) => ({
  'push-transports': transports.map((t) => ({
    transport: {
      'transport-uri': t.transportUri,
      'refresh-interval': t.refreshInterval,
      'transport-data': t.transportData,
    },
  })),
});

/** §5.3: `{"push-url": …}`. */
export const subscribeResponse = (pushUrl: string) => ({ 'push-url': pushUrl });

/**
 * §5.4: `{"push-response": {}}`, or `{"push-response": {"no-subscribers": [{"topic": …}, …]}}`;
 * the list is omitted, never empty, when every topic has subscribers.
 */
export const pushResponse = (noSubscribers: readonly string[]) => ({
  'push-response': noSubscribers.length > 0 ? { 'no-subscribers': noSubscribers.map((topic) => ({ topic })) } : {},
});
