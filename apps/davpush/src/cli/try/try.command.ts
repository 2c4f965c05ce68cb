import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { loadConfig } from '@davpush/config';
import type { CliIo } from '../commands';
import type { ParsedArgs } from '../args';
import { PushReceiver, type ReceivedPush } from './push-receiver';

/** How long `try` waits for davpush to answer /health/ready, for the push, and for the event to settle. */
const TRY_TIMEOUTS = { readyMs: 60_000, pushMs: 30_000, settleMs: 15_000 };

interface Step {
  step: string;
  detail: string;
}

class TryError extends Error {}

/**
 * `davpush try`: the whole path on this machine, through davpush's public HTTP API. A receiver on
 * loopback plays push service and client ({@link PushReceiver}); a throw-away tenant registers it
 * for a fresh topic with the `push-register` body a client would send, posts one change event, and
 * prints the `push-message` that arrives, decrypted. The tenant (and so the registration) is
 * deleted afterwards. Waits for readiness first, so it can follow `npm start &` at once.
 */
export async function runTry(flags: ParsedArgs, io: CliIo): Promise<number> {
  const config = loadConfig();
  const base = (flags.url ?? config.http.publicUrl).replace(/\/+$/, '');
  const steps: Step[] = [];
  const say = (step: string, detail: string) => {
    steps.push({ step, detail });
    if (!flags.json) io.out(`  ${step.padEnd(9)} ${detail}\n`);
  };
  let receiver: PushReceiver | undefined;
  let tenant: { id: string; apiKey: string } | undefined;
  let admin: string | undefined;
  try {
    await waitForReady(base, io, flags.json);
    say('ready', `${base}/health/ready answers 200`);
    admin = adminToken(config.adminToken, config.dataDir);
    tenant = (
      await call(base, 'POST', '/v1/tenants', admin, { json: { name: `davpush try ${new Date().toISOString()}` } }, 201)
    ).json as { id: string; apiKey: string };
    say('tenant', `${tenant.id} created (deleted again at the end)`);
    const topic = `try-${randomBytes(6).toString('hex')}`;
    const discovery = (await call(base, 'GET', `/v1/discovery?topic=${topic}`, tenant.apiKey, {}, 200)).json as {
      vapidPublicKey: string;
    };
    receiver = await PushReceiver.start(discovery.vapidPublicKey);
    say('receiver', `${receiver.origin} subscribed with davpush's VAPID key ${discovery.vapidPublicKey.slice(0, 12)}…`);
    const registered = await call(
      base,
      'POST',
      `/v1/topics/${topic}/registrations`,
      tenant.apiKey,
      { xml: pushRegister(receiver.subscription) },
      201,
    );
    say('register', `201 Created, Location: ${registered.headers.get('location')}`);
    const event = (
      await call(
        base,
        'POST',
        '/v1/events',
        tenant.apiKey,
        { json: { topic, changes: ['content'], syncToken: `${base}/try/sync/1` } },
        202,
      )
    ).json as {
      events: { id: string }[];
    };
    const eventId = event.events[0]!.id;
    say('event', `202 Accepted, event ${eventId} for topic ${topic}`);
    const sent = Date.now();
    const push = await receiver.next(TRY_TIMEOUTS.pushMs);
    say('push', `arrived after ${((Date.now() - sent) / 1000).toFixed(1)} s: ${describe(push)}`);
    if (!flags.json) io.out(`\n${push.body.trim()}\n\n`);
    const status = await settled(base, eventId, tenant.apiKey);
    say(
      'status',
      `${status.state}: ${Object.entries(status.deliveries)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
    );
    if (flags.json)
      io.out(
        `${JSON.stringify({ ok: true, steps, pushMessage: push.body, headers: push.headers, vapid: push.vapid, event: status }, null, 2)}\n`,
      );
    return 0;
  } catch (err) {
    const message = err instanceof TryError ? err.message : `${(err as Error).message}`;
    if (flags.json) io.out(`${JSON.stringify({ ok: false, steps, error: message }, null, 2)}\n`);
    io.err(`davpush try: ${message}\n`);
    return 1;
  } finally {
    await receiver?.stop();
    if (tenant && admin) await call(base, 'DELETE', `/v1/tenants/${tenant.id}`, admin, {}, 200).catch(() => undefined);
  }
}

function describe(push: ReceivedPush): string {
  const h = push.headers;
  return `TTL ${h.ttl ?? '-'}, Urgency ${h.urgency ?? '-'}, Topic ${h.topic ?? '-'}; VAPID signature verified (sub ${push.vapid.sub}); aes128gcm body decrypted:`;
}

function adminToken(configured: string | undefined, dataDir: string): string {
  if (configured) return configured;
  const file = path.join(dataDir, 'admin-token');
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    throw new TryError(
      `no admin token: ${file} does not exist and DAVPUSH_ADMIN_TOKEN is not set (run this where davpush runs, with the same DAVPUSH_DATA_DIR)`,
    );
  }
}

/** Polls `/health/ready` until it answers 200: connection refused and 503 (still starting) are retried. */
async function waitForReady(base: string, io: CliIo, quiet: boolean): Promise<void> {
  const deadline = Date.now() + TRY_TIMEOUTS.readyMs;
  let said = false;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${base}/health/ready`, { signal: AbortSignal.timeout(5000) });
      if (res.status === 200) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = ((err as Error).cause as Error | undefined)?.message ?? (err as Error).message;
    }
    if (!said && !quiet) io.out(`  waiting for davpush at ${base} …\n`);
    said = true;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new TryError(
    `davpush at ${base} was not ready within ${TRY_TIMEOUTS.readyMs / 1000} s (${last}); is it running (npm start), and is PUBLIC_URL/PORT the same here?`,
  );
}

async function call(
  base: string,
  method: string,
  route: string,
  token: string,
  body: { json?: unknown; xml?: string },
  expected: number,
): Promise<{ json: unknown; headers: Headers }> {
  const headers: Record<string, string> = { Authorization: `Bearer ${token}` };
  let payload: string | undefined;
  if (body.json !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body.json);
  } else if (body.xml !== undefined) {
    headers['Content-Type'] = 'application/xml';
    payload = body.xml;
  }
  const res = await fetch(`${base}${route}`, { method, headers, body: payload, signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  if (res.status !== expected) {
    const detail = problemDetail(text);
    const hint =
      route.includes('/registrations') &&
      res.status >= 400 &&
      res.status < 500 &&
      /private|loopback|public|https/i.test(detail)
        ? ' — the receiver runs on loopback (127.0.0.1): start davpush with DAVPUSH_ALLOW_PRIVATE_PUSH_ENDPOINTS=1 for this check'
        : '';
    throw new TryError(`${method} ${route.split('?')[0]} answered ${res.status}, not ${expected}: ${detail}${hint}`);
  }
  return {
    json: text && res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : undefined,
    headers: res.headers,
  };
}

function problemDetail(text: string): string {
  try {
    const p = JSON.parse(text) as { detail?: string; title?: string };
    return p.detail ?? p.title ?? text;
  } catch {
    return text
      .replace(/<[^>]+>/g, ' ')
      .replace(/\s+/g, ' ')
      .trim()
      .slice(0, 300);
  }
}

async function settled(
  base: string,
  id: string,
  apiKey: string,
): Promise<{ state: string; deliveries: Record<string, number> }> {
  const deadline = Date.now() + TRY_TIMEOUTS.settleMs;
  for (;;) {
    const status = (await call(base, 'GET', `/v1/events/${id}`, apiKey, {}, 200)).json as {
      state: string;
      deliveries: Record<string, number>;
    };
    if (status.state === 'done' || Date.now() > deadline) return status;
    await new Promise((r) => setTimeout(r, 200));
  }
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

/** The `push-register` body a WebDAV-Push client sends (draft-bitfire-webdav-push, "Subscription registration"). */
function pushRegister(s: { pushResource: string; publicKey: string; authSecret: string }): string {
  return `<?xml version="1.0" encoding="utf-8" ?>
<push-register xmlns="https://bitfire.at/webdav-push">
  <subscription>
    <web-push-subscription>
      <push-resource>${esc(s.pushResource)}</push-resource>
      <content-encoding>aes128gcm</content-encoding>
      <subscription-public-key type="p256dh">${s.publicKey}</subscription-public-key>
      <auth-secret>${s.authSecret}</auth-secret>
    </web-push-subscription>
  </subscription>
</push-register>
`;
}
