import * as fs from 'node:fs';
import webpush from 'web-push';

/**
 * Baseline process: the naive way to send Web Push with the `web-push` package, one
 * `sendNotification` after another, each re-signing its VAPID JWT (about 1 ms of CPU).
 * argv: subscriptions JSON file, payload, VAPID public, VAPID private, [concurrent]. Prints `done <ms>`.
 */
async function main(): Promise<void> {
  const [file, payload, publicKey, privateKey, mode] = process.argv.slice(2);
  const subs = JSON.parse(fs.readFileSync(file!, 'utf8')) as webpush.PushSubscription[];
  const options = {
    vapidDetails: { subject: 'mailto:bench@davpush.test', publicKey: publicKey!, privateKey: privateKey! },
    TTL: 600,
  };
  const started = performance.now();
  if (mode === 'concurrent') {
    let next = 0;
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        while (next < subs.length) await webpush.sendNotification(subs[next++]!, payload!, options);
      }),
    );
  } else {
    for (const s of subs) await webpush.sendNotification(s, payload!, options);
  }
  process.stdout.write(`done ${performance.now() - started}\n`);
}

void main().catch((err: Error) => {
  process.stderr.write(`${err.stack}\n`);
  process.exit(1);
});
