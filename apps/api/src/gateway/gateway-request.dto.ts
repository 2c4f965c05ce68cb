import { z } from 'zod';
import { MAX_EVENTS_PER_REQUEST, type CcMessage, type CcSubscription } from '@davpush/application';
import { ValidationError } from '@davpush/domain';
import { MAX_SUBSCRIBE_TOPICS } from '@davpush/webdav-push';

/**
 * The JSON bodies of `POST /v1/gateway` (CC/CD 70025, draft-gajda-dav-push-00 §5.1, §5.3, §5.4 and
 * §6.1). Unknown members are ignored everywhere (an application server adding a vendor member
 * keeps working: the draft defines no extension point, so ignoring is the only way to extend). Where the
 * draft spells a member two ways, both are read (docs/cc70025.md). Only the JSON types and the
 * counts are checked here: a value out of bounds is judged per message by the use case, so one
 * bad message never sinks the others.
 */

/** §6.1.1: the application server sends an empty list; its contents, if any, are ignored. */
export const PushTransports = z.array(z.unknown()).max(64);

const SelectedTransport = z.object({
  'transport-uri': z.string().min(1),
  'client-data': z.string().min(1),
});

/**
 * §6.1.2 names the transport member `selected-transport`; the example of §5.3 says `transport`.
 * Exactly one of them.
 */
export const PushSubscribe = z
  .object({
    topics: z.array(z.string()).min(1).max(MAX_SUBSCRIBE_TOPICS),
    'selected-transport': SelectedTransport.optional(),
    transport: SelectedTransport.optional(),
    expires: z.string().min(1).max(64),
  })
  .superRefine((v, ctx) => {
    const n = Number(v['selected-transport'] !== undefined) + Number(v.transport !== undefined);
    if (n !== 1)
      ctx.addIssue({
        code: 'custom',
        path: ['selected-transport'],
        message: 'exactly one of selected-transport or transport is required',
      });
  });

/**
 * §6.1.3 message; `timestamp` defaults to the time of receipt, `priority` to 50. An optional member
 * sent as `null` counts as absent (the draft says "omit", a serializer may write null). Values are
 * judged by the use case per message (`CcGatewayService.push`).
 */
const Message = z.object({
  topic: z.string(),
  priority: z.number().nullish(),
  timestamp: z.string().nullish(),
  'client-id': z.string().nullish(),
});

/** §6.1.3 syntax: `"push": [message, …]`; the example of §5.4: `"push": {"messages": [message, …]}`. */
export const Messages = z.array(Message).min(1).max(MAX_EVENTS_PER_REQUEST);
export const MessagesObject = z.object({ messages: Messages });

/** The envelope: exactly one of the three request members; other members are ignored. */
export const GatewayEnvelope = z.record(z.string(), z.unknown());

const KINDS = ['push-transports', 'push-subscribe', 'push'] as const;

export type GatewayRequest =
  | { kind: 'push-transports' }
  | { kind: 'push-subscribe'; subscription: CcSubscription }
  | { kind: 'push'; messages: CcMessage[] };

/** Checks one member against its schema; errors name the path from the body's root. */
function member<T extends z.ZodType>(schema: T, value: unknown, root: string): z.infer<T> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const first = r.error.issues.slice(0, 5).map((i) => `${[root, ...i.path].join('.')}: ${i.message}`);
  throw new ValidationError(first.join('; '));
}

/**
 * Which of the three requests a parsed body is, with its values type-checked (both spellings
 * read where the draft has two, docs/cc70025.md).
 * @throws ValidationError naming the first problems by path.
 */
export function readGatewayRequest(body: Record<string, unknown>): GatewayRequest {
  const names = Object.keys(body);
  const present = KINDS.filter((k) => Object.hasOwn(body, k));
  if (present.length !== 1) {
    const got =
      present.length > 1
        ? present.join(', ')
        : names.length === 0
          ? 'an empty object'
          : names
              .slice(0, 5)
              .map((n) => JSON.stringify(n.slice(0, 32)))
              .join(', ');
    throw new ValidationError(
      `the body must have exactly one of the members push-transports, push-subscribe or push; got ${got}`,
    );
  }
  const kind = present[0]!;
  const value = body[kind];
  if (kind === 'push-transports') {
    member(PushTransports, value, kind);
    return { kind };
  }
  if (kind === 'push-subscribe') {
    const s = member(PushSubscribe, value, kind);
    const t = (s['selected-transport'] ?? s.transport)!;
    return {
      kind,
      subscription: {
        topics: s.topics,
        transportUri: t['transport-uri'],
        clientData: t['client-data'],
        expires: s.expires,
      },
    };
  }
  const list = Array.isArray(value) ? member(Messages, value, kind) : member(MessagesObject, value, kind).messages;
  return {
    kind,
    messages: list.map((m) => ({
      topic: m.topic,
      priority: m.priority ?? undefined,
      timestamp: m.timestamp ?? undefined,
      clientId: m['client-id'] ?? undefined,
    })),
  };
}
