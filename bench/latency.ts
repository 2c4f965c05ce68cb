import * as fs from 'node:fs';
import * as path from 'node:path';
import type { WebPushClient } from '../test/support/webpush-client';
import { median, percentile, processCpuMs, ratioOf, sleep, until, type Figure } from './lib';
import { rawChild, registerMany, type BenchContext } from './scale';

/**
 * Latency figures of `npm run bench`, in its scale part (`BENCH_ONLY=scale`; alone with
 * `BENCH_PART=latency`): how long a change event takes to become a push, on a service of its own
 * with the default coalescing window, next to the raw sender (bench/raw-web-push.ts).
 */

/**
 * Event → push accepted at a fixed event rate over 100 topics (one registration each), as the push
 * service saw it, vs the raw sender's request latency at the same rate. `urgency` high: every event
 * pushed at once; normal: the first event of each (quiet) topic is the leading push, later ones
 * are merged into trailing pushes at most one window later.
 */
export async function latency(
  ctx: BenchContext,
  rate: number,
  seconds: number,
  rounds: number,
  windowMs: number,
): Promise<Figure[]> {
  const topics = 100;
  const clients: WebPushClient[] = [];
  for (let t = 0; t < topics; t++) clients.push(...(await registerMany(ctx, `lat-${t}`, 1, () => `/push/lat-${t}`, 1)));
  const count = rate * seconds;
  const subsFile = path.join(ctx.work, 'lat-subs.json');
  fs.writeFileSync(
    subsFile,
    JSON.stringify(Array.from({ length: count }, (_, i) => clients[i % topics]!.subscription)),
  );
  const ourRound = async (urgency: 'high' | 'normal') => {
    await ctx.sink.askJson('times');
    const sent: { t: number; at: number }[] = [];
    const started = performance.now();
    const posts: Promise<unknown>[] = [];
    for (let i = 0; i < count; i++) {
      const wait = started + (i * 1000) / rate - performance.now();
      if (wait > 1) await sleep(wait);
      sent.push({ t: i % topics, at: Date.now() });
      posts.push(
        ctx.call('POST', '/v1/events', ctx.apiKey, {
          topic: `lat-${i % topics}`,
          changes: ['content'],
          syncToken: `l${i}`,
          urgency,
        }),
      );
    }
    await Promise.all(posts);
    await sleep(windowMs + 1500);
    const times = await ctx.sink.askJson<Record<string, number[]>>('times');
    const first: number[] = [];
    const later: number[] = [];
    const seen = new Set<number>();
    for (const s of sent) {
      const arrival = (times[`/push/lat-${s.t}`] ?? []).find((a) => a >= s.at);
      const ms = arrival === undefined ? Infinity : arrival - s.at;
      (seen.has(s.t) ? later : first).push(ms);
      seen.add(s.t);
    }
    return { first, later, all: [...first, ...later] };
  };
  const rawRound = async () => {
    const child = rawChild(ctx, [
      'latency',
      subsFile,
      ctx.payload,
      ctx.vapid.publicKey,
      ctx.vapid.privateKey,
      String(rate),
    ]);
    // The last line, whole (a pipe may hand over a long line in pieces).
    await until(
      () => {
        if (/\ncpu [\d.]+\n/.test(child.output)) return true;
        if (child.proc.exitCode !== null) throw new Error(`raw sender exited early:\n${child.output.slice(-2000)}`);
        return false;
      },
      10 * 60_000,
      'the raw sender',
    );
    await ctx.sink.askJson('times');
    return {
      latencies: JSON.parse(/latencies (.*)\n/.exec(child.output)![1]!) as number[],
      cpuMsPerPush: Number(/\ncpu ([\d.]+)\n/.exec(child.output)![1]) / count,
    };
  };
  // Warm-up, as for the throughput figures: JIT, connections, VAPID cache; not counted.
  await ourRound('high');
  await rawRound();
  await sleep(windowMs + 200);
  const urgent: number[] = [];
  const firsts: number[] = [];
  const merged: number[] = [];
  const raw: number[] = [];
  const cpu: number[] = [];
  const rawCpu: number[] = [];
  for (let r = 1; r <= rounds; r++) {
    const cpuBefore = processCpuMs(ctx.pid);
    const u = await ourRound('high');
    const cpuAfter = processCpuMs(ctx.pid);
    urgent.push(percentile(u.all, 99));
    // The whole service process (API, queue, fan-out, delivery, encryption threads) over the round
    // and the settling time after it, per event; on a machine this size it is what the p99 is made of.
    if (cpuBefore !== undefined && cpuAfter !== undefined) cpu.push((cpuAfter - cpuBefore) / count);
    const rawAnswer = await rawRound();
    raw.push(percentile(rawAnswer.latencies, 99));
    rawCpu.push(rawAnswer.cpuMsPerPush);
    await sleep(windowMs + 200); // every topic quiet again
    const n = await ourRound('normal');
    firsts.push(percentile(n.first, 99));
    merged.push(percentile(n.later, 99));
    process.stdout.write(
      `latency round ${r}: p99 urgent ${urgent.at(-1)!.toFixed(1)} ms, raw ${raw.at(-1)!.toFixed(1)} ms, first-of-window ${firsts.at(-1)!.toFixed(1)} ms, merged ${merged.at(-1)!.toFixed(1)} ms; CPU per urgent event ${cpu.at(-1)?.toFixed(2) ?? '?'} ms, raw per push ${rawCpu.at(-1)!.toFixed(2)} ms\n`,
    );
  }
  const rawP99 = median(raw);
  const fig = (name: string, xs: number[], bound: number, boundText: string): Figure => {
    const o = median(xs);
    return {
      name,
      unit: 'ms p99',
      ours: Math.round(o * 10) / 10,
      baseline: Math.round(rawP99 * 10) / 10,
      baselineName: `raw sender at ${rate}/s`,
      ratio: ratioOf(o, rawP99),
      target: 0,
      targetText: `${boundText} ${o <= bound ? '✔' : '✘'}`,
      met: o <= bound,
      runs: { ours: xs.map((x) => Math.round(x)), baseline: raw.map((x) => Math.round(x)) },
    };
  };
  const cpuFigure: Figure[] = cpu.length
    ? [
        {
          name: `CPU per urgent event at ${rate} events/s (the service process, all its threads; information)`,
          unit: 'ms',
          ours: Math.round(median(cpu) * 100) / 100,
          baseline: Math.round(median(rawCpu) * 100) / 100,
          baselineName: 'raw sender, per push',
          ratio: ratioOf(median(cpu), median(rawCpu)),
          target: 0,
          runs: {
            ours: cpu.map((x) => Math.round(x * 100) / 100),
            baseline: rawCpu.map((x) => Math.round(x * 100) / 100),
          },
        },
      ]
    : [];
  return [
    fig(
      `Event → push accepted at ${rate} events/s over ${topics} topics, urgency high`,
      urgent,
      rawP99 + 25,
      '≤ raw + 25 ms',
    ),
    fig(
      `Same, urgency normal: first event of a quiet topic (window ${windowMs} ms)`,
      firsts,
      rawP99 + 25,
      '≤ raw + 25 ms',
    ),
    fig(
      `Same, urgency normal: events merged into a trailing push`,
      merged,
      windowMs + 25,
      `≤ window + 25 ms (${windowMs + 25})`,
    ),
    ...cpuFigure,
  ];
}
