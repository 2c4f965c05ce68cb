/** Every queue davpush uses. One queue per transport, so one push service's trouble never blocks the other. */
export enum QueueName {
  /** Coalesced change of one topic → one delivery job per registration. */
  Fanout = 'fanout',
  DeliverWebPush = 'deliver-web-push',
  DeliverFcm = 'deliver-fcm',
  /** Deliveries that can never go, kept with their reason for inspection and replay. */
  DeadLetter = 'dead-letter',
  /** Periodic housekeeping: expiry sweep, stranded-event recovery. */
  Maintenance = 'maintenance',
}

export const ALL_QUEUES: readonly QueueName[] = Object.values(QueueName);

/** BullMQ key prefix; the hash tag keeps each queue's keys in one Redis Cluster slot. */
export const QUEUE_PREFIX = '{davpush-q}';
