import { z } from 'zod';
import { MAX_EVENTS_PER_REQUEST } from '@davpush/application';
import { MAX_SUBSCRIBE_TOPICS } from '@davpush/webdav-push';

/**
 * The JSON bodies of `POST /v1/gateway` (CC/CD 70025, draft-gajda-dav-push-00 §5.1, §5.3, §5.4 and
 * §6.1). Objects are strict: an unknown member is a 400 naming it (a misspelt `priority` would
 * otherwise silently become 50). Where the draft spells a member two ways, both are read
 * (docs/cc70025.md); types and sizes are checked here, values by the use case.
 */

/** §6.1.1: the application server sends an empty list; its contents, if any, are ignored. */
export const PushTransports = z.array(z.unknown()).max(64);

const SelectedTransport = z.strictObject({
  'transport-uri': z.string().min(1).max(2048),
  'client-data': z.string().min(1).max(8192),
});

/**
 * §6.1.2 names the transport member `selected-transport`; the example of §5.3 says `transport`.
 * Exactly one of them.
 */
export const PushSubscribe = z
  .strictObject({
    topics: z.array(z.string().max(4096)).min(1).max(MAX_SUBSCRIBE_TOPICS),
    'selected-transport': SelectedTransport.optional(),
    transport: SelectedTransport.optional(),
    expires: z.string().min(1).max(64),
  })
  .superRefine((v, ctx) => {
    const n = Number(v['selected-transport'] !== undefined) + Number(v.transport !== undefined);
    if (n !== 1) ctx.addIssue({ code: 'custom', path: ['selected-transport'], message: 'exactly one of selected-transport or transport is required' });
  });

/** §6.1.3 message; `timestamp` defaults to the time of receipt, `priority` to 50. */
const Message = z.strictObject({
  topic: z.string().max(4096),
  priority: z.number().int().min(0).max(100).optional(),
  timestamp: z.string().min(1).max(64).optional(),
  'client-id': z.string().min(1).max(256).optional(),
});

/** §6.1.3 syntax: `"push": [message, …]`; the example of §5.4: `"push": {"messages": [message, …]}`. */
export const Messages = z.array(Message).min(1).max(MAX_EVENTS_PER_REQUEST);
export const MessagesObject = z.strictObject({ messages: Messages });

/** The envelope: exactly one of the three request members (checked by the controller). */
export const GatewayEnvelope = z.record(z.string(), z.unknown());

export type GatewayMessage = z.infer<typeof Message>;
export type GatewaySubscribe = z.infer<typeof PushSubscribe>;

/** The three request kinds, for the error that names them. */
export const GATEWAY_REQUEST_KINDS = ['push-transports', 'push-subscribe', 'push'] as const;
