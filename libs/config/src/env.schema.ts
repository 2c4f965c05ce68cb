import { availableParallelism } from 'node:os';
import { z } from 'zod';

const bool = z
  .enum(['0', '1', 'true', 'false', 'yes', 'no'], { message: 'must be 0 or 1 (or true/false, yes/no)' })
  .transform((v) => v === '1' || v === 'true' || v === 'yes');

const int = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, { message: 'must be a whole number' })
    .transform(Number)
    .pipe(
      z
        .number()
        .int()
        .min(min, { message: `must be at least ${min}` })
        .max(max, { message: `must be at most ${max}` }),
    );

const b64url = (bytes: number) =>
  z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, { message: 'must be base64url without padding' })
    .refine((v) => Buffer.from(v, 'base64url').length === bytes, { message: `must decode to ${bytes} bytes` });

const url = (protocols: string[]) =>
  z.string().refine(
    (v) => {
      try {
        return protocols.includes(new URL(v).protocol);
      } catch {
        return false;
      }
    },
    { message: `must be a URL (${protocols.join(' or ')})` },
  );

/**
 * Milliseconds ReplicaAck (libs/storage/src/replica-ack.ts) lets Redis `WAIT` run beyond its own
 * timeout before it stops waiting for the answer; the stores' command timeout must outlast both.
 */
export const DURABILITY_WAIT_GRACE_MS = 1000;

/** DAVPUSH_REDIS_COMMAND_TIMEOUT_MS when unset (and, under `replicated`, WAIT's bound is lower). */
export const DEFAULT_REDIS_COMMAND_TIMEOUT_MS = 10_000;

/**
 * Every environment variable davpush reads (README "Configuration"). Validated once at start-up; any error
 * stops start-up with one message naming each bad variable.
 */
export const envSchema = z
  .object({
    HOST: z.string().min(1).default('127.0.0.1'),
    PORT: int(0, 65535).default(8080),
    PUBLIC_URL: url(['http:', 'https:']).optional(),
    REDIS_URL: url(['redis:', 'rediss:', 'unix:']).optional(),
    REDIS_CLUSTER_NODES: z
      .string()
      .regex(/^[^,:\s]+:\d+(,[^,:\s]+:\d+)*$/, { message: 'must be host:port[,host:port…]' })
      .optional(),
    // Redis AUTH for every node of REDIS_CLUSTER_NODES (`requirepass`, or an ACL user with its password).
    REDIS_CLUSTER_USERNAME: z.string().min(1).optional(),
    REDIS_CLUSTER_PASSWORD: z.string().min(1).optional(),
    DAVPUSH_DATA_DIR: z.string().min(1).default('.data'),
    DAVPUSH_ADMIN_TOKEN: z.string().min(32, { message: 'must be at least 32 characters' }).optional(),
    DAVPUSH_VAPID_SUBJECT: z
      .string()
      // URI schemes are case-insensitive (RFC 3986 §3.1): `MAILTO:` is accepted and sent as `mailto:`.
      .regex(/^(mailto:.+@.+|https:\/\/.+)$/i, { message: 'must be a mailto: or https: URI (RFC 8292 §2.1)' })
      .transform((v) => v.replace(/^[a-z]+:/i, (scheme) => scheme.toLowerCase()))
      .optional(),
    DAVPUSH_VAPID_PUBLIC_KEY: b64url(65).optional(),
    DAVPUSH_VAPID_PRIVATE_KEY: b64url(32).optional(),
    DAVPUSH_FCM_CREDENTIALS: z.string().min(1).optional(),
    GOOGLE_APPLICATION_CREDENTIALS: z.string().min(1).optional(),
    DAVPUSH_FCM_ENDPOINT: url(['http:', 'https:']).optional(),
    DAVPUSH_ALLOW_PRIVATE_PUSH_ENDPOINTS: bool.default(false),
    DAVPUSH_COALESCE_MS: int(0, 60_000).default(1000),
    DAVPUSH_DEFAULT_TTL: int(0, 2_419_200).default(43_200),
    DAVPUSH_INGEST_RATE: int(1, 1_000_000).default(500),
    DAVPUSH_MAX_EXPIRY: int(259_200, 31_536_000).default(604_800),
    // No unbounded growth (docs/security.md "Limits"). New registrations beyond these
    // are refused with 403; updates of existing ones are always allowed.
    DAVPUSH_MAX_REGISTRATIONS_PER_TOPIC: int(1, 10_000_000).default(10_000),
    DAVPUSH_MAX_REGISTRATIONS_PER_PRINCIPAL: int(1, 1_000_000).default(100),
    DAVPUSH_WORKER_CONCURRENCY: int(1, 2000).default(200),
    DAVPUSH_PUSH_TIMEOUT_MS: int(100, 120_000).default(10_000),
    DAVPUSH_SHUTDOWN_TIMEOUT_MS: int(0, 600_000).default(10_000),
    DAVPUSH_JOB_LOCK_MS: int(1000, 600_000).default(30_000),
    DAVPUSH_ORIGIN_CONCURRENCY: int(1, 10_000).default(64),
    // RFC 8291 encryption threads (0 = on the event loop): one less than the cores, at most 4.
    DAVPUSH_ENCRYPT_THREADS: int(0, 64).default(Math.max(0, Math.min(4, availableParallelism() - 1))),
    DAVPUSH_PRUNE_AFTER_FAILURES: int(1, 1_000_000).default(10),
    DAVPUSH_PRUNE_AFTER_SECONDS: int(0, 31_536_000).default(259_200),
    DAVPUSH_RETRY_BASE_MS: int(10, 3_600_000).default(1000),
    DAVPUSH_RETRY_MAX_MS: int(100, 86_400_000).default(600_000),
    // Operations (docs/operations.md): readiness turns `degraded` past this backlog age; the worker-alone
    // process serves /health/* and /metrics on its own port; a drain delay keeps answering 503 on
    // /health/ready after SIGTERM so load balancers stop routing before the server closes.
    DAVPUSH_READY_MAX_WAIT_AGE_MS: int(1000, 86_400_000).default(60_000),
    DAVPUSH_WORKER_PORT: int(0, 65535).default(8081),
    DAVPUSH_SHUTDOWN_DRAIN_MS: int(0, 600_000).default(0),
    DAVPUSH_LOG_LEVEL: z.enum(['error', 'warn', 'log', 'debug', 'verbose']).default('log'),
    DAVPUSH_LOG_FORMAT: z.enum(['json', 'pretty']).default('json'),
    // CalConnect CC/CD 70025 gateway (docs/cc70025.md): the refresh-interval advertised per transport,
    // seconds; a subscription may not ask for more. The draft's examples use 172800 (two days).
    DAVPUSH_GATEWAY_REFRESH_INTERVAL: int(60, 31_536_000).default(172_800),
    // Proxy mode (docs/proxy.md): a WebDAV-Push reverse proxy in front of a CalDAV/CardDAV server.
    DAVPUSH_PROXY_UPSTREAM: url(['http:', 'https:']).optional(),
    DAVPUSH_PROXY_PORT: int(0, 65535).default(8090),
    DAVPUSH_PROXY_PUBLIC_URL: url(['http:', 'https:']).optional(),
    DAVPUSH_PROXY_SERVICE_USER: z.string().min(1).max(256).optional(),
    DAVPUSH_PROXY_SERVICE_PASSWORD: z.string().min(1).max(1024).optional(),
    DAVPUSH_PROXY_POLL_SECONDS: int(0, 86_400).default(60),
    DAVPUSH_PROXY_HOOK_SECRET: z.string().min(16, { message: 'must be at least 16 characters' }).optional(),
    // Bytes of a chunked request body (no Content-Length) the proxy buffers to send it with a length
    // (Radicale 3.1.8 answers 400 to chunked PUTs); 0 = off, bodies stream as they come.
    DAVPUSH_PROXY_CHUNKED_BUFFER_BYTES: int(0, 16 * 1024 * 1024).default(0),
    // Fan-out jobs run side by side per worker process, and fan-outs in the accepting process (those
    // only waiting for their push service's turn not counted): each mostly waits on Redis or, for a
    // small topic delivered inside its fan-out, on its push service, so many per core.
    DAVPUSH_FANOUT_CONCURRENCY: int(1, 1000).default(Math.max(16, 16 * availableParallelism())),
    // A topic with at most this many Web Push registrations is delivered inside its fan-out job
    // (no second queue hop); 0 = always through delivery batch jobs. Default: one batch.
    DAVPUSH_INLINE_DELIVERY_MAX: int(0, 1000).default(50),
    // A leading or urgent change is fanned out in the process that accepted it (when it also runs the
    // worker role), without a queued fan-out job; false = always through the fan-out queue.
    DAVPUSH_IN_PROCESS_FANOUT: bool.default(true),
    // Queue shards (docs/cluster.md "Sharded queues"): the fan-out and delivery queues split into this many,
    // each under its own hash tag; a tenant topic always maps to the same shard. 1 = today's single queues.
    DAVPUSH_QUEUE_SHARDS: int(1, 256).default(1),
    // The shards this process's worker consumes ("0,2"); unset = every shard.
    DAVPUSH_WORKER_SHARDS: z
      .string()
      .regex(/^\d+(,\d+)*$/, { message: 'must be shard numbers separated by commas, e.g. 0,2' })
      .transform((v) => [...new Set(v.split(',').map(Number))].toSorted((a, b) => a - b))
      .optional(),
    // docs/durability.md: `local` answers once Redis has the write; `replicated` also waits (WAIT) until
    // at least one replica has it, up to the timeout, else 503 + Retry-After.
    DAVPUSH_DURABILITY: z.enum(['local', 'replicated']).default('local'),
    DAVPUSH_DURABILITY_TIMEOUT_MS: int(1, 60_000).default(1000),
    // Milliseconds each command of davpush's own Redis client (the stores, not BullMQ) may take
    // before it fails with "Command timed out" (ioredis `commandTimeout`): a Redis that stops
    // answering without closing the connection fails requests and jobs instead of hanging them.
    // Unset: DEFAULT_REDIS_COMMAND_TIMEOUT_MS, or more under `replicated` (loadConfig).
    DAVPUSH_REDIS_COMMAND_TIMEOUT_MS: int(100, 600_000).optional(),
    // Seconds an event's status record, its id's de-duplication and its dispatch's records (counters,
    // settled and handed-off deliveries) are kept (docs/scaling.md "Event retention"); default one day.
    DAVPUSH_EVENT_RETENTION_SECONDS: int(60, 2_592_000).default(86_400),
  })
  .superRefine((env, ctx) => {
    if (!!env.DAVPUSH_VAPID_PUBLIC_KEY !== !!env.DAVPUSH_VAPID_PRIVATE_KEY) {
      const missing = env.DAVPUSH_VAPID_PUBLIC_KEY ? 'DAVPUSH_VAPID_PRIVATE_KEY' : 'DAVPUSH_VAPID_PUBLIC_KEY';
      ctx.addIssue({ code: 'custom', path: [missing], message: 'must be set together with its pair' });
    }
    if (env.DAVPUSH_GATEWAY_REFRESH_INTERVAL > env.DAVPUSH_MAX_EXPIRY) {
      ctx.addIssue({
        code: 'custom',
        path: ['DAVPUSH_GATEWAY_REFRESH_INTERVAL'],
        message: 'must not exceed DAVPUSH_MAX_EXPIRY',
      });
    }
    if (env.REDIS_URL && env.REDIS_CLUSTER_NODES) {
      ctx.addIssue({
        code: 'custom',
        path: ['REDIS_CLUSTER_NODES'],
        message: 'set either REDIS_URL or REDIS_CLUSTER_NODES, not both',
      });
    }
    for (const name of ['REDIS_CLUSTER_USERNAME', 'REDIS_CLUSTER_PASSWORD'] as const) {
      if (env[name] && !env.REDIS_CLUSTER_NODES)
        ctx.addIssue({
          code: 'custom',
          path: [name],
          message:
            'is for REDIS_CLUSTER_NODES; with REDIS_URL the credentials go in the URL (redis://user:password@host:port)',
        });
    }
    if (env.REDIS_CLUSTER_USERNAME && !env.REDIS_CLUSTER_PASSWORD)
      ctx.addIssue({
        code: 'custom',
        path: ['REDIS_CLUSTER_PASSWORD'],
        message: 'must be set with REDIS_CLUSTER_USERNAME',
      });
    const outside = env.DAVPUSH_WORKER_SHARDS?.filter((s) => s >= env.DAVPUSH_QUEUE_SHARDS);
    if (outside?.length) {
      ctx.addIssue({
        code: 'custom',
        path: ['DAVPUSH_WORKER_SHARDS'],
        message: `shard ${outside.join(', ')} does not exist (DAVPUSH_QUEUE_SHARDS=${env.DAVPUSH_QUEUE_SHARDS}: shards 0 to ${env.DAVPUSH_QUEUE_SHARDS - 1})`,
      });
    }
    // ReplicaAck's `WAIT 1 <DAVPUSH_DURABILITY_TIMEOUT_MS>` must run on the stores' own client (WAIT counts
    // the writes of its own connection, libs/storage/src/replica-ack.ts), so that client's command
    // timeout must outlast WAIT and the grace ReplicaAck gives it; else every answer would be a 503.
    // Only a value the operator set is refused: unset, loadConfig raises the default to the bound.
    const waitBound = env.DAVPUSH_DURABILITY_TIMEOUT_MS + DURABILITY_WAIT_GRACE_MS;
    const commandTimeout = env.DAVPUSH_REDIS_COMMAND_TIMEOUT_MS;
    if (env.DAVPUSH_DURABILITY === 'replicated' && commandTimeout !== undefined && commandTimeout < waitBound) {
      ctx.addIssue({
        code: 'custom',
        path: ['DAVPUSH_REDIS_COMMAND_TIMEOUT_MS'],
        message: `must be at least DAVPUSH_DURABILITY_TIMEOUT_MS + ${DURABILITY_WAIT_GRACE_MS} (${waitBound}) with DAVPUSH_DURABILITY=replicated: Redis WAIT runs on the same client`,
      });
    }
    if (!!env.DAVPUSH_PROXY_SERVICE_USER !== !!env.DAVPUSH_PROXY_SERVICE_PASSWORD) {
      const missing = env.DAVPUSH_PROXY_SERVICE_USER ? 'DAVPUSH_PROXY_SERVICE_PASSWORD' : 'DAVPUSH_PROXY_SERVICE_USER';
      ctx.addIssue({ code: 'custom', path: [missing], message: 'must be set together with its pair' });
    }
  });
