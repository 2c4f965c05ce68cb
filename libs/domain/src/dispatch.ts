/**
 * A dispatch is one fan-out of the coalesced events of one topic (docs/architecture.md, glossary):
 * every live registration of the topic is looked at once, and each one it queues is later settled
 * in exactly one {@link DeliveryBucket}. Event status (`GET /v1/events/{id}`) is kept per dispatch.
 */

/** Where one registration of a dispatch ends up, counted once per dispatch. */
export type DeliveryBucket = 'accepted' | 'gone' | 'failed' | 'skipped';

/** How far a dispatch's fan-out got: written as a running total, and once more when it is complete. */
export interface DispatchProgress {
  /** Deliveries the fan-out owes a settlement for: queued in batch jobs, or settled `skipped` at once (removed since the list was made). */
  queued: number;
  /** Registrations looked at and not queued (trigger not interested, named in `dontNotify`, transport not configured). */
  skipped: number;
  /** Every registration of the topic has been looked at: no further deliveries will be queued. */
  complete: boolean;
}
