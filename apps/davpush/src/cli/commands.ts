import type { INestApplicationContext } from '@nestjs/common';
import {
  DeadLetterService,
  TenantName,
  TenantsService,
  VapidRotationService,
  type DeadLetterView,
} from '@davpush/application';
import { AppConfig } from '@davpush/config';
import { VapidService } from '@davpush/gateways';
import { QueueStatsService, RegistrationStatsService, type QueueFigures } from '@davpush/observability';
import type { ParsedArgs } from './args';
import { runTry } from './try/try.command';

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
}

export interface CommandContext {
  app: INestApplicationContext;
  args: string[];
  flags: ParsedArgs;
  io: CliIo;
}

export interface Command {
  words: readonly string[];
  usage: string;
  summary: string;
  args: { min: number; max: number };
  /** Runs without Redis or a Nest context (talks HTTP to a running davpush): its `app` must not be used. */
  standalone?: boolean;
  run(ctx: CommandContext): Promise<number>;
}

/**
 * Exit codes (docs/operations.md "CLI"): 0 ok, 1 runtime error (a domain error such as "no such
 * tenant" included: runCli prints its message), 2 usage error.
 */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** Left-aligned columns, two spaces apart: readable in a terminal, easy to `awk`. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n') + '\n';
}

const json = (io: CliIo, value: unknown) => io.out(`${JSON.stringify(value, null, 2)}\n`);

export const COMMANDS: readonly Command[] = [
  {
    words: ['try'],
    usage: 'try [--url URL] [--json]',
    summary:
      'end-to-end check on this machine: a local receiver registers, an event is posted, the push arrives and is decrypted',
    args: { min: 0, max: 0 },
    standalone: true,
    run: ({ flags, io }) => runTry(flags, io),
  },
  {
    words: ['tenant', 'create'],
    usage: 'tenant create NAME [--json]',
    summary: 'add a tenant (one calendar/contacts server) and print its API key, shown only this once',
    args: { min: 1, max: 1 },
    async run({ app, args, flags, io }) {
      const name = TenantName.safeParse(args[0]);
      if (!name.success) {
        io.err('davpush: NAME must be 1 to 200 characters without control characters\n');
        return EXIT.usage;
      }
      const t = await app.get(TenantsService).create(name.data);
      if (flags.json) json(io, { id: t.id, name: t.name, apiKey: t.apiKey });
      else
        io.out(
          `tenant created\n  id:      ${t.id}\n  name:    ${t.name}\n  api key: ${t.apiKey}\n(the key is shown once; davpush keeps only its hash)\n`,
        );
      return EXIT.ok;
    },
  },
  {
    words: ['tenant', 'list'],
    usage: 'tenant list [--json]',
    summary: 'list tenants (id, created, name); API keys are never shown again',
    args: { min: 0, max: 0 },
    async run({ app, flags, io }) {
      const tenants = await app.get(TenantsService).list();
      if (flags.json) json(io, tenants);
      else if (tenants.length === 0) io.out('no tenants yet: davpush tenant create NAME\n');
      else
        io.out(
          table([
            ['ID', 'CREATED', 'REVOKED', 'NAME'],
            ...tenants.map((t) => [t.id, t.createdAt, t.revokedAt ?? '-', t.name]),
          ]),
        );
      return EXIT.ok;
    },
  },
  {
    words: ['tenant', 'rotate-key'],
    usage: 'tenant rotate-key ID [--json]',
    summary: 'issue a new API key for a tenant (shown once); the old key stops working at once',
    args: { min: 1, max: 1 },
    async run({ app, args, flags, io }) {
      const r = await app.get(TenantsService).rotateKey(args[0]!);
      if (flags.json) json(io, r);
      else io.out(`new api key: ${r.apiKey}\n(the key is shown once; the previous key no longer works)\n`);
      return EXIT.ok;
    },
  },
  {
    words: ['tenant', 'revoke'],
    usage: 'tenant revoke ID [--json]',
    summary: 'disable a tenant for good: its key stops working; its registrations are kept until deleted',
    args: { min: 1, max: 1 },
    async run({ app, args, flags, io }) {
      const t = await app.get(TenantsService).revoke(args[0]!);
      if (flags.json) json(io, t);
      else io.out(`tenant ${t.id} (${t.name}) revoked at ${t.revokedAt}\n`);
      return EXIT.ok;
    },
  },
  {
    words: ['tenant', 'delete'],
    usage: 'tenant delete ID [--json]',
    summary: 'revoke a tenant, then remove its registrations and the tenant itself (re-run finishes a crashed delete)',
    args: { min: 1, max: 1 },
    async run({ app, args, flags, io }) {
      const { id, registrationsRemoved } = await app.get(TenantsService).delete(args[0]!);
      if (flags.json) json(io, { id, registrationsRemoved });
      else io.out(`tenant ${id} deleted with ${registrationsRemoved} registrations\n`);
      return EXIT.ok;
    },
  },
  {
    words: ['vapid', 'show'],
    usage: 'vapid show [--json]',
    summary: 'print the VAPID public key clients subscribe with, and the contact (sub) claim',
    args: { min: 0, max: 0 },
    async run({ app, flags, io }) {
      const config = app.get(AppConfig);
      const key = (await app.get(VapidService).current()).publicKey;
      const source = config.vapid.publicKey ? 'DAVPUSH_VAPID_PUBLIC_KEY' : 'generated, stored in Redis';
      const subject =
        config.vapid.subject + (config.vapid.subjectIsPlaceholder ? ' (placeholder: set DAVPUSH_VAPID_SUBJECT)' : '');
      if (flags.json) json(io, { publicKey: key, subject: config.vapid.subject, source });
      else io.out(`public key: ${key}\nsubject:    ${subject}\nsource:     ${source}\n`);
      return EXIT.ok;
    },
  },
  {
    words: ['vapid', 'rotate'],
    usage: 'vapid rotate [--json]',
    summary: 'tell every Web Push subscriber the key changes, then switch to a new key pair',
    args: { min: 0, max: 0 },
    async run({ app, flags, io }) {
      const r = await app.get(VapidRotationService).rotate();
      if (flags.json) json(io, r);
      else
        io.out(
          `VAPID key rotated: ${r.notified} subscriber(s) notified, ${r.gone} gone (removed), ${r.failed} failed (kept)\nnew public key: ${r.publicKey}\n`,
        );
      return EXIT.ok;
    },
  },
  {
    words: ['dlq', 'list'],
    usage: 'dlq list [--limit N] [--json]',
    summary: 'list dead letters (deliveries given up), oldest first; N defaults to 100',
    args: { min: 0, max: 0 },
    async run({ app, flags, io }) {
      const items = await app.get(DeadLetterService).list(flags.limit ?? 100);
      if (flags.json) json(io, items);
      else if (items.length === 0) io.out('the dead-letter queue is empty\n');
      else io.out(table([['ID', 'FAILED', 'TRANSPORT', 'REASON'], ...items.map(deadLetterRow)]));
      return EXIT.ok;
    },
  },
  {
    words: ['dlq', 'replay'],
    usage: 'dlq replay [ID…] [--json]',
    summary: 'send dead letters again with a fresh TTL (all of them, up to 1000, when no ID is given)',
    args: { min: 0, max: 1000 },
    async run({ app, args, flags, io }) {
      const r = await app.get(DeadLetterService).replay(args.length ? args : undefined);
      if (flags.json) json(io, r);
      else io.out(`replayed ${r.replayed} dead letter(s)\n`);
      if (r.missing.length > 0) {
        io.err(`davpush: not in the dead-letter queue: ${r.missing.join(', ')}\n`);
        return EXIT.failed;
      }
      return EXIT.ok;
    },
  },
  {
    words: ['stats'],
    usage: 'stats [--json]',
    summary: 'live registrations per transport and jobs per queue',
    args: { min: 0, max: 0 },
    async run({ app, flags, io }) {
      const [registrations, queues] = await Promise.all([
        app.get(RegistrationStatsService).counts(),
        app.get(QueueStatsService).snapshot(),
      ]);
      if (flags.json) {
        json(io, { registrations, queues: queues.queues, unavailable: queues.errors });
        return queues.errors.length ? EXIT.failed : EXIT.ok;
      }
      const approx = registrations.sampled ? ' (per-transport figures estimated from a sample)' : '';
      io.out(`registrations (live): ${registrations.total}${approx}\n`);
      io.out(table(Object.entries(registrations.byTransport).map(([t, n]) => [`  ${t}`, String(n)])));
      const row = (name: string, q: Pick<QueueFigures, 'counts' | 'lastMinute' | 'oldestWaitingAgeMs'>) => [
        name,
        ...[q.counts.waiting, q.counts.active, q.counts.delayed, q.counts.failed, q.lastMinute.completed].map(String),
        q.oldestWaitingAgeMs === null ? '-' : `${(q.oldestWaitingAgeMs / 1000).toFixed(1)}s`,
      ];
      // A sharded queue: its total, then one indented row per shard.
      const rows = queues.queues.flatMap((q) => [
        row(`  ${q.name}`, q),
        ...(q.shards ?? []).map((s) => row(`    ${s.queue}`, s)),
      ]);
      io.out(`\n${table([['queue', 'waiting', 'active', 'delayed', 'failed', 'done/min', 'oldest-wait'], ...rows])}`);
      for (const e of queues.errors) io.err(`davpush: queue ${e.name} did not answer: ${e.error}\n`);
      return queues.errors.length ? EXIT.failed : EXIT.ok;
    },
  },
];

function deadLetterRow(d: DeadLetterView): string[] {
  return [d.id, d.failedAt, d.transport, d.reason];
}
