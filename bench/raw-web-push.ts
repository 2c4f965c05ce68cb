import * as fs from 'node:fs';
import * as https from 'node:https';
import webpush from 'web-push';

/**
 * Baseline process: the raw limit of sending Web Push from Node with the `web-push` package —
 * VAPID header signed once per origin and cached, payload encrypted by `webpush.encrypt`
 * (RFC 8291), keep-alive HTTPS, 64 requests in flight. No queue, no storage, nothing recorded.
 * argv: mode, subscriptions JSON file, payload, VAPID public, VAPID private, [rate per s].
 *   throughput: sends to every subscription; prints `done <ms>`.
 *   latency: one push every 1/rate s, round robin over the subscriptions, until all are sent;
 *            prints `latencies <json ms array>` (request start → 201), then `cpu <ms>`: this
 *            process's CPU time (user + system, all threads) from the first push to the last answer.
 */
const agent = new https.Agent({ keepAlive: true, maxSockets: 64 });
const vapid = new Map<string, string>();

async function main(): Promise<void> {
  const [mode, file, payload, publicKey, privateKey, rate] = process.argv.slice(2);
  const subs = JSON.parse(fs.readFileSync(file!, 'utf8')) as webpush.PushSubscription[];
  const body = Buffer.from(payload!);
  const send = (s: webpush.PushSubscription) =>
    new Promise<void>((resolve, reject) => {
      const url = new URL(s.endpoint);
      let auth = vapid.get(url.origin);
      if (!auth) {
        auth = webpush.getVapidHeaders(
          url.origin,
          'mailto:bench@davpush.test',
          publicKey!,
          privateKey!,
          'aes128gcm',
        ).Authorization;
        vapid.set(url.origin, auth);
      }
      const { cipherText } = webpush.encrypt(s.keys.p256dh, s.keys.auth, body, 'aes128gcm');
      const req = https.request(
        url,
        {
          method: 'POST',
          agent,
          headers: {
            TTL: '600',
            'Content-Encoding': 'aes128gcm',
            'Content-Type': 'application/octet-stream',
            'Content-Length': cipherText.length,
            Authorization: auth,
          },
        },
        (res) => {
          res.resume();
          res.on('end', () =>
            res.statusCode === 201 ? resolve() : reject(new Error(`push service answered ${res.statusCode}`)),
          );
        },
      );
      req.on('error', reject);
      req.end(cipherText);
    });
  if (mode === 'latency') {
    const every = 1000 / Number(rate);
    const cpu = process.cpuUsage();
    const started = performance.now();
    const latencies: number[] = [];
    const all: Promise<void>[] = [];
    for (let i = 0; i < subs.length; i++) {
      const due = started + i * every;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      const t0 = performance.now();
      all.push(send(subs[i]!).then(() => void latencies.push(performance.now() - t0)));
    }
    await Promise.all(all);
    const used = process.cpuUsage(cpu);
    process.stdout.write(`latencies ${JSON.stringify(latencies)}\ncpu ${(used.user + used.system) / 1000}\n`);
    return;
  }
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next < subs.length) await send(subs[next++]!);
    }),
  );
  process.stdout.write(`done ${performance.now() - started}\n`);
}

void main().catch((err: Error) => {
  process.stderr.write(`${err.stack}\n`);
  process.exit(1);
});
