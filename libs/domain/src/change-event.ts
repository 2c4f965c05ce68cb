export type ChangeKind = 'content' | 'property';
export const CHANGE_KINDS: readonly ChangeKind[] = ['content', 'property'];

/** RFC 8030 §5.3 urgency, lowest first. */
export type Urgency = 'very-low' | 'low' | 'normal' | 'high';
export const URGENCIES: readonly Urgency[] = ['very-low', 'low', 'normal', 'high'];

const maxUrgency = (a: Urgency, b: Urgency): Urgency => (URGENCIES.indexOf(a) >= URGENCIES.indexOf(b) ? a : b);

/** An accepted change event, as queued. Times are epoch milliseconds; ttl is seconds. */
export interface ChangeEvent {
  id: string;
  tenantId: string;
  topic: string;
  changes: ChangeKind[];
  syncToken?: string;
  urgency: Urgency;
  ttl: number;
  /**
   * Registration ids (resolved from the registration URLs given) and CC/CD 70025 client entries
   * (`client:<id>`, {@link clientSkipEntry}), or `*` for everybody.
   */
  dontNotify: string[] | '*';
  receivedAt: number;
}

/**
 * What one push carries after coalescing (WebDAV-Push draft, "Rate limiting and merging": https://github.com/bitfireAT/webdav-push): the union of change kinds, the newest
 * sync-token, the highest urgency, the latest deadline, and the registrations that every merged
 * event asked to skip (a registration skipped by one event but not another must still hear of the other).
 */
export interface CoalescedChange {
  tenantId: string;
  topic: string;
  changes: ChangeKind[];
  syncToken?: string;
  urgency: Urgency;
  /** Epoch ms after which the push is worthless (latest receivedAt + ttl). */
  deadline: number;
  dontNotify: string[] | '*';
  eventIds: string[];
}

export function coalesce(events: readonly ChangeEvent[]): CoalescedChange | undefined {
  if (events.length === 0) return undefined;
  const ordered = events.toSorted((a, b) => a.receivedAt - b.receivedAt);
  const first = ordered[0]!;
  const kinds = new Set<ChangeKind>();
  let syncToken: string | undefined;
  let urgency: Urgency = 'very-low';
  let deadline = 0;
  // null stands for "everybody" ('*'), the identity of the intersection.
  let skip: Set<string> | null = null;
  for (const e of ordered) {
    e.changes.forEach((k) => kinds.add(k));
    if (e.syncToken !== undefined) syncToken = e.syncToken;
    urgency = maxUrgency(urgency, e.urgency);
    deadline = Math.max(deadline, e.receivedAt + e.ttl * 1000);
    if (e.dontNotify !== '*') {
      const mine = new Set(e.dontNotify);
      skip = skip === null ? mine : new Set([...(skip as Set<string>)].filter((id) => mine.has(id)));
    }
  }
  return {
    tenantId: first.tenantId,
    topic: first.topic,
    changes: CHANGE_KINDS.filter((k) => kinds.has(k)),
    syncToken,
    urgency,
    deadline,
    dontNotify: skip === null ? '*' : [...(skip as Set<string>)].toSorted(),
    eventIds: ordered.map((e) => e.id),
  };
}
