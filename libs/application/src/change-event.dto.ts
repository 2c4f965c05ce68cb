import { z } from 'zod';
import { CHANGE_KINDS, URGENCIES, ValidationError } from '@davpush/domain';
import { assertEventText, MAX_SYNC_TOKEN_LENGTH, MAX_TOPIC_LENGTH } from './topic';

export const MAX_EVENTS_PER_REQUEST = 1000;

/** Longest `dontNotify` header value taken as one string (a thousand registration URLs fit). */
const MAX_DONT_NOTIFY_CHARS = 256 * 1024;

/** Names a missing field instead of zod's "expected string, received undefined". */
const required = (what: string) => ({
  error: (issue: { input?: unknown }) => (issue.input === undefined ? `required: ${what}` : undefined),
});

export const EventJson = z.object({
  // Lengths in code points are checked by assertEventText; here only a bound on UTF-16 units
  // (two per astral character at most), so a long string is refused before anything else.
  topic: z
    .string(required("the collection's topic, 1 to 512 characters"))
    .min(1)
    .max(2 * MAX_TOPIC_LENGTH, { message: `must be 1 to ${MAX_TOPIC_LENGTH} characters` }),
  changes: z
    .array(
      z.enum(CHANGE_KINDS as [string, ...string[]]),
      required('["content"], ["property"] or ["content","property"]'),
    )
    .min(1)
    .max(2),
  syncToken: z
    .string()
    .min(1)
    .max(2 * MAX_SYNC_TOKEN_LENGTH, { message: `must be 1 to ${MAX_SYNC_TOKEN_LENGTH} characters` })
    .describe(
      'the new sync-token (RFC 6578); left out of a push whose message would not fit one Web Push record or FCM data message, which makes the client sync',
    )
    .optional(),
  urgency: z.enum(URGENCIES as [string, ...string[]]).optional(),
  ttl: z
    .number()
    .int()
    .min(0)
    .max(2_419_200)
    .describe(
      'seconds (RFC 8030 §5.2); every push gets one attempt with what is left of it, 0 at the least; retries stop at the deadline',
    )
    .optional(),
  // The calendar server's Push-Dont-Notify header: each array element one header line, or the
  // value as one string; parsed by the header's grammar (parsePushDontNotify in @davpush/webdav-push).
  // Invalid values are ignored (draft §Push-Dont-Notify: MUST ignore invalid values), but bounded.
  dontNotify: z
    .union([z.string().max(MAX_DONT_NOTIFY_CHARS), z.array(z.unknown()).max(MAX_EVENTS_PER_REQUEST)], {
      error: () =>
        `must be one string of at most ${MAX_DONT_NOTIFY_CHARS} characters, or an array of at most ${MAX_EVENTS_PER_REQUEST} header lines`,
    })
    .describe(
      'the Push-Dont-Notify header as the calendar server got it: one string per header line, or the value as one string; quoted registration URLs or "*"',
    )
    .optional(),
  id: z
    .string()
    .min(1)
    .max(128)
    .regex(/^[A-Za-z0-9._~-]+$/, { message: 'must use only A-Z a-z 0-9 . _ ~ -' })
    .optional(),
});

/**
 * An event as the use case takes it. `skipClients` (not part of the events JSON) carries CC/CD 70025
 * client ids (`client-id`, `Push-Client-Id`): registrations made with one of them are not notified.
 */
export type EventInput = z.infer<typeof EventJson> & { skipClients?: string[] };

/** Shown in every answer to an event of the wrong shape. */
const EXPECTED_EVENT_JSON =
  'expected {"topic": "…", "changes": ["content"|"property", …], "syncToken"?: "…", "urgency"?: "very-low"|"low"|"normal"|"high", ' +
  `"ttl"?: seconds, "dontNotify"?: ["<Push-Dont-Notify value>", …] | "<value>", "id"?: "…"}, or {"events": [up to ${MAX_EVENTS_PER_REQUEST} of those]}`;

const EVENT_FIELDS: ReadonlySet<string> = new Set(Object.keys(EventJson.shape));

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A parsed `POST /v1/events` body → its events, each checked against {@link EventJson} and
 * assertEventText (what XML can carry), so nothing that would fail at delivery is answered 202.
 * @throws ValidationError naming the field (`events[3].topic: required: …`) and showing the expected shape.
 */
export function parseEventsJson(body: unknown): EventInput[] {
  const wrong = (why: string) => new ValidationError(`${why}; ${EXPECTED_EVENT_JSON}`);
  if (!isObject(body))
    throw wrong(
      `the body is ${Array.isArray(body) ? 'an array' : body === null ? 'null' : `a ${typeof body}`}, not an object`,
    );
  const batch = body.events !== undefined;
  if (batch && !Array.isArray(body.events)) throw wrong('events must be an array');
  const besideEvents = batch ? Object.keys(body).filter((k) => k !== 'events') : [];
  if (besideEvents.length > 0)
    throw wrong(
      `a body holds one event or "events", not both: ${besideEvents.map((k) => JSON.stringify(k)).join(', ')} beside "events"`,
    );
  const list = batch ? (body.events as unknown[]) : [body];
  if (list.length === 0 || list.length > MAX_EVENTS_PER_REQUEST)
    throw wrong(`events must hold 1 to ${MAX_EVENTS_PER_REQUEST} events`);
  return list.map((raw, i) => {
    const where = batch ? `events[${i}]` : '';
    if (!isObject(raw)) throw wrong(`${where || 'the event'} is not an object`);
    // A misspelt field (`sync_token`, `urgancy`) would otherwise be dropped in silence.
    const unknown = Object.keys(raw).filter((k) => !EVENT_FIELDS.has(k));
    if (unknown.length > 0)
      throw wrong(
        `${where || 'the event'} has unknown field${unknown.length > 1 ? 's' : ''} ${unknown
          .slice(0, 5)
          .map((k) => JSON.stringify(k))
          .join(', ')}`,
      );
    const r = EventJson.safeParse(raw);
    if (!r.success) {
      const issues = r.error.issues
        .slice(0, 3)
        .map((x) => `${[where, ...x.path].filter((p) => p !== '').join('.')}: ${x.message}`);
      throw wrong(issues.join('; '));
    }
    try {
      assertEventText(r.data);
    } catch (err) {
      if (err instanceof ValidationError && where) throw new ValidationError(`${where}.${err.message}`);
      throw err;
    }
    return r.data;
  });
}
