import { z } from 'zod';
import { CHANGE_KINDS, URGENCIES } from '@davpush/domain';

export const MAX_EVENTS_PER_REQUEST = 1000;

export const EventJson = z.object({
  topic: z.string().min(1).max(512),
  changes: z.array(z.enum(CHANGE_KINDS as [string, ...string[]])).min(1).max(2),
  syncToken: z.string().min(1).max(1024).optional(),
  urgency: z.enum(URGENCIES as [string, ...string[]]).optional(),
  ttl: z.number().int().min(0).max(2_419_200).optional(),
  // Garbage entries are ignored (draft §Push-Dont-Notify: MUST ignore invalid values), but bounded.
  dontNotify: z.union([z.literal('*'), z.array(z.unknown()).max(1000)]).optional(),
  id: z
    .string()
    .min(1)
    .max(128)
    .regex(/^[A-Za-z0-9._~-]+$/, { message: 'must use only A-Z a-z 0-9 . _ ~ -' })
    .optional(),
});

export const EventsBody = z.union([
  z.object({ events: z.array(z.unknown()).min(1).max(MAX_EVENTS_PER_REQUEST) }),
  z.object({ topic: z.unknown() }).passthrough(),
]);

/**
 * An event as the use case takes it. `skipClients` (not part of the events JSON) carries CC/CD 70025
 * client ids (`client-id`, `Push-Client-Id`): registrations made with one of them are not notified.
 */
export type EventInput = z.infer<typeof EventJson> & { skipClients?: string[] };
