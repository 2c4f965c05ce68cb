import type { Job } from 'bullmq';
import type { ChangeKind, Transport, Urgency } from '@davpush/domain';
import { QueueName } from './queue-name';

export enum JobName {
  Fanout = 'fanout',
  /** A fan-out begun outside the queue, resumed by a worker (its own name: a worker that predates it refuses it, and another takes it). */
  ResumeFanout = 'resume-fanout',
  /**
   * One push to one registration. No longer published: older versions queued a replayed dead letter
   * this way, and the worker still runs such a job (as a batch of one) so none is left behind.
   */
  Deliver = 'deliver',
  /** Many registrations of one dispatch and route: FCM sendEach (≤ 500), Web Push pushes to one origin. */
  DeliverBatch = 'deliver-batch',
  DeadLetter = 'dead-letter',
  SweepExpired = 'sweep-expired',
  RecoverStranded = 'recover-stranded',
}

/** Payloads carry ids and small values, never keys, tokens or endpoints (STYLE "typed jobs"). */
export interface FanoutJobData {
  tenantId: string;
  topic: string;
  requestId?: string;
}

/** The dispatch of a fan-out begun outside the queue whose process died or failed mid-way (JobPublisher.resumeFanout). */
export interface ResumeFanoutJobData extends FanoutJobData {
  dispatchId: string;
}

/** One delivery: what a dead letter keeps, and the payload of a {@link JobName.Deliver} job of an older version. */
export interface DeliverJobData {
  dispatchId: string;
  registrationId: string;
  tenantId: string;
  topic: string;
  kinds: ChangeKind[];
  syncToken?: string;
  urgency: Urgency;
  /** Epoch ms after which the message is worthless: retries stop, TTL shrinks towards it. */
  deadline: number;
  /** Epoch ms the oldest merged event was accepted (end-to-end latency). */
  acceptedAt: number;
  /** Attempts already made for outcome-driven retries (429, 5xx); absent on the first. */
  attempt?: number;
  requestId?: string;
  /**
   * A replayed dead letter (and its retries): sent although its dispatch already settled it as
   * failed, and never counted in that dispatch again (the event's status keeps its first ending).
   */
  replay?: boolean;
}

/**
 * One push to many registrations of one dispatch and route. A retry continues as a batch of one
 * carrying its `attempt` (pushes turned away together keep the attempt of the batch they left).
 */
export type DeliverBatchJobData = Omit<DeliverJobData, 'registrationId'> & {
  registrationIds: string[];
  /** SHA-256 of the batch's route (a Web Push origin): batches of one route take turns. */
  route?: string;
};

export interface DeadLetterJobData {
  queue: QueueName.DeliverWebPush | QueueName.DeliverFcm;
  transport: Transport;
  reason: string;
  delivery: DeliverJobData;
  failedAt: number;
}

export interface JobMap {
  [JobName.Fanout]: FanoutJobData;
  [JobName.ResumeFanout]: ResumeFanoutJobData;
  [JobName.Deliver]: DeliverJobData;
  [JobName.DeliverBatch]: DeliverBatchJobData;
  [JobName.DeadLetter]: DeadLetterJobData;
  [JobName.SweepExpired]: Record<string, never>;
  [JobName.RecoverStranded]: Record<string, never>;
}

export type JobOf<N extends JobName> = JobMap[N];

/** A BullMQ job whose `name` is `N` and whose `data` is `JobOf<N>`: `job.name` narrows `job.data`. */
export type TypedJob<N extends JobName> = Job<JobOf<N>, unknown, N>;

/** The job names each queue carries (the dead-letter queue is read by operators, not by a worker). */
export interface QueueJobs {
  [QueueName.Fanout]: JobName.Fanout | JobName.ResumeFanout;
  [QueueName.DeliverWebPush]: JobName.Deliver | JobName.DeliverBatch;
  [QueueName.DeliverFcm]: JobName.Deliver | JobName.DeliverBatch;
  [QueueName.Maintenance]: JobName.SweepExpired | JobName.RecoverStranded;
  [QueueName.DeadLetter]: JobName.DeadLetter;
}

/** Runs one job. */
export type JobHandler<N extends JobName> = (job: TypedJob<N>) => Promise<unknown>;

/** One handler per job name a worker consumes: a name added to {@link JobName} without a handler fails to compile. */
export type JobHandlerMap = { [N in Exclude<JobName, JobName.DeadLetter>]: JobHandler<N> };

export const deliverQueueFor = (t: Transport): QueueName.DeliverWebPush | QueueName.DeliverFcm =>
  t === 'web-push' ? QueueName.DeliverWebPush : QueueName.DeliverFcm;
