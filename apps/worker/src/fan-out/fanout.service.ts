import { Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '@davpush/config';
import { clientSkipEntry, coalesce, kindsFor, type ChangeKind, type Transport } from '@davpush/domain';
import { JobPublisher, type FanoutJobData } from '@davpush/queue';
import { PushGatewayRegistry } from '@davpush/gateways';
import { DispatchStore, digest } from '@davpush/storage';
import { InlineDelivery, type RoutedBatch } from '../delivery/inline-delivery';
import { throwFirstFailure } from '../throw-first-failure';

const PAGE = 1000;

/** How a fan-out runs: as a re-run, or in the process that accepted its change (InProcessFanout). */
export interface FanoutRun {
  /**
   * The fan-out runs again (a retry, or after its worker died): its batches are queued, never
   * delivered inline, so a batch that an earlier run already queued is not also sent here.
   */
  rerun?: boolean;
  /**
   * Called at most once, when only inline deliveries are left (the targets read and grouped, the
   * progress write under way; the completing write comes after the deliveries): an in-process
   * fan-out gives its fan-out slot back there, and its batches wait in their origin's line
   * (InlineDelivery) instead of being queued when the origin is busy. Not called for a fan-out
   * that queues its batches.
   */
  onDelivering?: () => void;
}

/**
 * Coalesced change of one topic → delivery jobs for every live registration that wants it, in
 * batches per route (a Web Push origin, or FCM). Crash-safe by construction: the claim is
 * idempotent per dispatch id, and batch jobs have deterministic ids, so a re-run after SIGKILL
 * re-queues only what is missing.
 */
@Injectable()
export class FanoutService {
  private readonly logger = new Logger(FanoutService.name);

  constructor(
    private readonly config: AppConfig,
    private readonly dispatches: DispatchStore,
    private readonly publisher: JobPublisher,
    private readonly gateways: PushGatewayRegistry,
    private readonly inline: InlineDelivery,
  ) {}

  /** Resolves with how many registrations it queued (or delivered inline) and skipped; see {@link FanoutRun}. */
  async fanOut(
    dispatchId: string,
    job: FanoutJobData,
    { rerun = false, onDelivering }: FanoutRun = {},
  ): Promise<{ queued: number; skipped: number }> {
    // One round trip to the first push: claim, fixed list of targets, its first page.
    const started = await this.dispatches.claimAndList(
      job.tenantId,
      job.topic,
      dispatchId,
      Date.now(),
      this.config.coalesceMs,
      PAGE,
    );
    // A re-run after the fan-out finished (the job failed after its last step): nothing left to do.
    if (started.complete) return { queued: 0, skipped: 0 };
    const claimed = started.events;
    const change = coalesce(claimed);
    if (!change) return { queued: 0, skipped: 0 };
    const skip = change.dontNotify === '*' ? undefined : new Set(change.dontNotify);
    const acceptedAt = Math.min(...claimed.map((e) => e.receivedAt));
    let queued = 0;
    let skipped = 0;
    let unconfigured = 0;
    const configured = new Set(this.gateways.transports());
    const { listed } = started;
    for (let cursor = 0; cursor < listed; cursor += PAGE) {
      const page = cursor === 0 ? started.first : await this.dispatches.targetsPage(dispatchId, cursor, PAGE);
      // The fixed list expired under us: fail, and the next attempt starts from a fresh one.
      if (page.read < Math.min(PAGE, listed - cursor))
        throw new Error(`fan-out list of dispatch ${dispatchId} is gone`);
      // Removed since the list was made: counted and settled as skipped (once, even on a re-run
      // that finds gone what the first run delivered), so the event's status still adds up.
      queued += page.vanished.length;
      await Promise.all(page.vanished.map((id) => this.dispatches.settle(dispatchId, id, 'skipped')));
      const groups = new Map<string, { transport: Transport; route: string; kinds: ChangeKind[]; ids: string[] }>();
      for (const target of page.targets) {
        const kinds = kindsFor(target.trigger, change.changes);
        // dontNotify names registrations, and CC/CD 70025 clients by the client id they registered with.
        if (
          !skip ||
          skip.has(target.id) ||
          (target.clientId !== undefined && skip.has(clientSkipEntry(target.clientId))) ||
          kinds.length === 0
        ) {
          skipped++;
          continue;
        }
        // Registered while a transport was configured that no longer is (FCM credentials removed):
        // nothing here can deliver it, and it must not hold up the others.
        if (!configured.has(target.transport)) {
          skipped++;
          unconfigured++;
          continue;
        }
        const route = this.gateways.for(target.transport).routeKey(target.subscription);
        const key = `${target.transport} ${route} ${kinds.join(',')}`;
        const group = groups.get(key) ?? { transport: target.transport, route, kinds, ids: [] };
        group.ids.push(target.id);
        groups.set(key, group);
        queued++;
      }
      const batches = new Map<Transport, RoutedBatch[]>();
      for (const { transport, route, kinds, ids } of groups.values()) {
        const routeDigest = transport === 'web-push' ? digest(route) : undefined;
        const size = this.gateways.for(transport).batchSize;
        const list = batches.get(transport) ?? [];
        for (let i = 0; i < ids.length; i += size) {
          list.push({
            origin: route,
            batch: {
              dispatchId,
              registrationIds: ids.slice(i, i + size),
              tenantId: job.tenantId,
              topic: job.topic,
              kinds,
              syncToken: change.syncToken,
              urgency: change.urgency,
              deadline: change.deadline,
              acceptedAt,
              requestId: job.requestId,
              ...(routeDigest ? { route: routeDigest } : {}),
            },
          });
        }
        batches.set(transport, list);
      }
      // The running total so far (the status reads "done" only once `complete` is written, below).
      const progress = this.dispatches.recordProgress(dispatchId, claimed, { queued, skipped, complete: false });
      // A topic of a few Web Push registrations (one batch's worth, one page) is delivered in this
      // job: an urgent or leading change reaches its push service without a second queue hop.
      const webPush = batches.get('web-push') ?? [];
      const small =
        !rerun &&
        listed <= PAGE &&
        batches.size === 1 &&
        webPush.length > 0 &&
        webPush.reduce((n, b) => n + b.batch.registrationIds.length, 0) <= this.config.inlineDeliveryMax;
      // Inline, the push does not wait for that write: until it lands (and the status counts the
      // push as pending), the event may read "queued" a moment with a push already accepted.
      // Both run to the end before a failure fails the job: its re-run must not race a push in flight.
      if (small) {
        // Only what is sent: a waiting batch keeps its registrations, not the whole page.
        const sent = new Set(webPush.flatMap((b) => b.batch.registrationIds));
        const read = new Map(
          page.targets.flatMap((t) => (t.registration && sent.has(t.id) ? [[t.id, t.registration] as const] : [])),
        );
        onDelivering?.();
        throwFirstFailure(
          await Promise.allSettled([progress, this.inline.deliver(webPush, read, onDelivering !== undefined)]),
        );
      } else {
        await progress;
        for (const [transport, list] of batches) {
          // Deterministic ids: a re-run after a crash re-adds only what is missing.
          for (let i = 0; i < list.length; i += 200)
            await this.publisher.deliverBatches(
              transport,
              list.slice(i, i + 200).map((b) => b.batch),
            );
        }
      }
    }
    // Complete: also drops the fixed list, in the same step.
    await this.dispatches.recordProgress(dispatchId, claimed, { queued, skipped, complete: true });
    if (unconfigured > 0)
      this.logger.warn({
        msg: 'registrations of a transport that is not configured were skipped',
        dispatchId,
        count: unconfigured,
        requestId: job.requestId,
      });
    this.logger.log({ msg: 'fan-out', dispatchId, events: claimed.length, queued, skipped, requestId: job.requestId });
    return { queued, skipped };
  }
}
