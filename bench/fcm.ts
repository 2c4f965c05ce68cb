import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FakeFcm } from '../test/fcm/fake-fcm';
import { Child, ROOT, figure, inParallel, until, type Figure } from './lib';

/**
 * FCM figure of `npm run bench` (alone: `BENCH_ONLY=fcm`): HTTP event → queue → worker → sendEach
 * batches → the local FCM (2,000 messages over 4 topics) vs direct firebase-admin `sendEach` batches
 * of 500 (bench/direct-fcm.ts) to the same fake, rounds alternating. Target ≥ 0.8×.
 */
export interface FcmBenchContext {
  call: (method: string, url: string, token: string, body?: unknown) => Promise<unknown>;
  apiKey: string;
  fcm: FakeFcm;
  /** The service account file the service and the direct sender both sign with. */
  credentialsFile: string;
  work: string;
  caPath: string;
  /** The push message of the Web Push figures, sent as the messages' `push_message`. */
  payload: string;
  rounds: number;
}

const FCM_TOPICS = 4;
const FCM_PER_TOPIC = 500;

export async function fcmBench(ctx: FcmBenchContext): Promise<Figure> {
  const { call, apiKey, fcm } = ctx;
  const tokens: { topic: string; token: string }[] = [];
  for (let t = 0; t < FCM_TOPICS; t++)
    for (let i = 0; i < FCM_PER_TOPIC; i++)
      tokens.push({ topic: `fcm-${t}`, token: `bench-${t}-${i}-${'t'.repeat(140)}` });
  await inParallel(tokens, ({ topic, token }) =>
    call('POST', `/v1/topics/${topic}/registrations`, apiKey, { subscription: { type: 'fcm', token } }),
  );
  const fcmTotal = tokens.length;
  const messagesFile = path.join(ctx.work, 'fcm-messages.json');
  fs.writeFileSync(
    messagesFile,
    JSON.stringify(
      tokens.map(({ topic, token }) => ({
        token,
        data: { topic, changes: 'content', sync_token: 'bench', push_message: ctx.payload },
        android: { priority: 'normal', ttl: 600_000, collapse_key: 'Kq0nF4p1ZbXwT6yN3mR8sV2cH5jL7dGa' },
      })),
    ),
  );
  const sendsOk = () => fcm.sends.filter((r) => r.status === 200).length;
  const ourFcmRound = async (round: number) => {
    fcm.reset();
    const started = performance.now();
    await call('POST', '/v1/events', apiKey, {
      events: Array.from({ length: FCM_TOPICS }, (_, t) => ({
        topic: `fcm-${t}`,
        changes: ['content'],
        syncToken: `f${round}`,
      })),
    });
    await until(() => sendsOk() >= fcmTotal, 120_000, 'fcm deliveries');
    return fcmTotal / ((performance.now() - started) / 1000);
  };
  const directRound = async () => {
    fcm.reset();
    const child = Child.node(
      path.join(ROOT, 'dist-bench/bench/direct-fcm.js'),
      [messagesFile, ctx.credentialsFile, fcm.url],
      { NODE_EXTRA_CA_CERTS: ctx.caPath },
    );
    await child.waitFor('done', 300_000);
    const m = /done ([\d.]+) failed (\d+)/.exec(child.output)!;
    if (Number(m[2]) > 0) throw new Error(`direct sendEach failed ${m[2]} messages`);
    return fcmTotal / (Number(m[1]) / 1000);
  };
  await ourFcmRound(0);
  const oursFcm: number[] = [];
  const direct: number[] = [];
  for (let r = 1; r <= ctx.rounds; r++) {
    oursFcm.push(await ourFcmRound(r));
    direct.push(await directRound());
    process.stdout.write(
      `fcm round ${r}: ours ${oursFcm.at(-1)!.toFixed(0)}/s, direct ${direct.at(-1)!.toFixed(0)}/s\n`,
    );
  }
  return figure(
    'FCM delivery throughput (event → local FCM 200)',
    'messages/s',
    oursFcm,
    direct,
    'direct firebase-admin sendEach, batches of 500',
    0.8,
  );
}
