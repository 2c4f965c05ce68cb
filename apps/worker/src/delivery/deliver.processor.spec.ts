import { DelayedError } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { JobName, QueueName, type DeliverBatchJobData, type DeliverJobData, type TypedJob } from '@davpush/queue';
import { DeliverProcessor } from './deliver.processor';
import type { DeliveryService } from './delivery.service';

const data: DeliverBatchJobData = {
  dispatchId: 'd1',
  registrationIds: ['r1', 'r2'],
  tenantId: 't1',
  topic: 'cal',
  kinds: ['content'],
  urgency: 'normal',
  deadline: Date.now() + 60_000,
  acceptedAt: Date.now(),
};
const batchJob = (attemptsMade: number, queueName = QueueName.DeliverWebPush) =>
  ({
    id: 'b-d1-x',
    name: JobName.DeliverBatch,
    queueName,
    data,
    attemptsMade,
    opts: { attempts: 5 },
  }) as unknown as TypedJob<JobName.DeliverBatch>;

function processor(failure: Error) {
  const abandoned: unknown[][] = [];
  const delivery = {
    attemptBatch: async () => {
      throw failure;
    },
    abandon: async (...args: unknown[]) => void abandoned.push(args),
  } as unknown as DeliveryService;
  return { sut: new DeliverProcessor(delivery), abandoned };
}

describe('DeliverProcessor on an internal error', () => {
  it('lets BullMQ retry a batch while attempts remain', async () => {
    const { sut, abandoned } = processor(new Error('redis went away'));
    await expect(sut.process(batchJob(3))).rejects.toThrow('redis went away');
    expect(abandoned).toEqual([]);
  });

  it('on the last attempt dead-letters what the batch still owed, then fails the job', async () => {
    const { sut, abandoned } = processor(new Error('redis went away'));
    await expect(sut.process(batchJob(4, QueueName.DeliverFcm))).rejects.toThrow('redis went away');
    expect(abandoned).toHaveLength(1);
    const [transport, jobs, reason, batchJobId] = abandoned[0]!;
    expect(transport).toBe('fcm');
    expect((jobs as { registrationId: string }[]).map((j) => j.registrationId)).toEqual(['r1', 'r2']);
    expect(reason).toBe('redis went away');
    expect(batchJobId).toBe('b-d1-x');
  });

  it('never treats a delay as a failure', async () => {
    const { sut, abandoned } = processor(new DelayedError());
    await expect(sut.process(batchJob(4))).rejects.toBeInstanceOf(DelayedError);
    expect(abandoned).toEqual([]);
  });
});

describe('DeliverProcessor on a single-delivery job of an older version', () => {
  const single: DeliverJobData = {
    dispatchId: 'd1',
    registrationId: 'r9',
    tenantId: 't1',
    topic: 'cal',
    kinds: ['content'],
    urgency: 'high',
    deadline: 1_000,
    acceptedAt: 500,
    attempt: 3,
    requestId: 'q',
  };
  const singleJob = (attemptsMade: number) =>
    ({
      id: 'd-d1-r9-r7',
      name: JobName.Deliver,
      queueName: QueueName.DeliverWebPush,
      data: single,
      attemptsMade,
      opts: { attempts: 5 },
    }) as unknown as TypedJob<JobName.Deliver>;

  it('runs it as a batch of one carrying its attempt, named after the job', async () => {
    const batches: unknown[][] = [];
    const delivery = {
      attemptBatch: async (...args: unknown[]) => void batches.push(args),
    } as unknown as DeliveryService;
    await new DeliverProcessor(delivery).process(singleJob(0));
    expect(batches).toEqual([
      [
        {
          dispatchId: 'd1',
          registrationIds: ['r9'],
          tenantId: 't1',
          topic: 'cal',
          kinds: ['content'],
          urgency: 'high',
          deadline: 1_000,
          acceptedAt: 500,
          attempt: 3,
          requestId: 'q',
        },
        'd-d1-r9-r7',
      ],
    ]);
  });

  it('on the last attempt dead-letters the delivery, then fails the job', async () => {
    const { sut, abandoned } = processor(new Error('redis went away'));
    await expect(sut.process(singleJob(4))).rejects.toThrow('redis went away');
    expect(abandoned).toEqual([['web-push', [single], 'redis went away', 'd-d1-r9-r7']]);
  });
});
