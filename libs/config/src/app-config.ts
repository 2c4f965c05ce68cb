import { createECDH } from 'node:crypto';
import * as path from 'node:path';
import { DEFAULT_REDIS_COMMAND_TIMEOUT_MS, DURABILITY_WAIT_GRACE_MS, envSchema } from './env.schema';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * The WebDAV-Push reverse proxy: `upstream` is the DAV server's URL (origin and root path, no
 * trailing slash), `publicUrl` the proxy's public base (no trailing slash), `pollSeconds` 0 = no
 * polling, `service` the account that reads sync-tokens for the hook and the poller.
 */
export interface ProxyConfig {
  upstream: string;
  port: number;
  publicUrl: string;
  service?: { user: string; password: string };
  pollSeconds: number;
  hookSecret?: string;
  /** Chunked request bodies up to this many bytes are sent with a Content-Length; 0 = off. */
  chunkedBufferBytes: number;
}

const PLACEHOLDER_VAPID_SUBJECT = 'mailto:davpush@example.invalid';

/**
 * The validated, typed configuration. The one place that reads the environment (once, at start-up);
 * injected everywhere else by class. `toJSON()` redacts secrets so it is safe to log.
 */
export class AppConfig {
  readonly http!: { host: string; port: number; publicUrl: string };
  readonly redis!: {
    url?: string;
    clusterNodes?: { host: string; port: number }[];
    /** AUTH for every cluster node (REDIS_CLUSTER_USERNAME / REDIS_CLUSTER_PASSWORD); never logged. */
    clusterAuth?: { username?: string; password: string };
    /**
     * Milliseconds a command of the stores' client (libs/storage/src/redis-connection.ts) may take
     * before it rejects with `Command timed out` (DAVPUSH_REDIS_COMMAND_TIMEOUT_MS); BullMQ's are unbounded.
     * Unset: 10 000, or under `replicated` at least DAVPUSH_DURABILITY_TIMEOUT_MS + 1000 (Redis WAIT runs on that client).
     */
    commandTimeoutMs: number;
  };
  readonly dataDir!: string;
  readonly adminToken?: string;
  readonly vapid!: { subject: string; subjectIsPlaceholder: boolean; publicKey?: string; privateKey?: string };
  readonly fcm!: { credentialsPath?: string; endpoint?: string };
  readonly allowPrivatePushEndpoints!: boolean;
  readonly coalesceMs!: number;
  readonly defaultTtlSeconds!: number;
  /**
   * Seconds event status records, event-id de-duplication and dispatch records (counters, settled
   * and handed-off deliveries) are kept, from the event's acceptance or the dispatch's last settlement.
   */
  readonly eventRetentionSeconds!: number;
  readonly ingestRatePerSecond!: number;
  readonly maxExpirySeconds!: number;
  /** docs/security.md "Limits": live registrations per tenant topic and per tenant principal (X-Davpush-Principal). */
  readonly limits!: { registrationsPerTopic: number; registrationsPerPrincipal: number };
  readonly worker!: { concurrency: number; pushTimeoutMs: number };
  readonly shutdownTimeoutMs!: number;
  readonly delivery!: {
    jobLockMs: number;
    originConcurrency: number;
    encryptThreads: number;
    pruneAfterFailures: number;
    pruneAfterSeconds: number;
    retryBaseMs: number;
    retryMaxMs: number;
  };
  /** docs/operations.md: readiness backlog threshold, the worker-alone probe port, the post-SIGTERM drain delay. */
  readonly operations!: { readyMaxWaitAgeMs: number; workerPort: number; shutdownDrainMs: number };
  readonly log!: { level: 'error' | 'warn' | 'log' | 'debug' | 'verbose'; format: 'json' | 'pretty' };
  /** CalConnect CC/CD 70025 gateway: the refresh-interval advertised per transport (seconds). */
  readonly gateway!: { refreshIntervalSeconds: number };
  /** Proxy mode (docs/proxy.md); absent unless DAVPUSH_PROXY_UPSTREAM is set. */
  readonly proxy?: ProxyConfig;
  /** Fan-out jobs run at once per worker process, and fan-outs in the accepting process (DAVPUSH_FANOUT_CONCURRENCY; default 16 per core, at least 16). */
  readonly fanoutConcurrency!: number;
  /** Web Push registrations a topic may have to be delivered inside its fan-out job (DAVPUSH_INLINE_DELIVERY_MAX; 0 = never). */
  readonly inlineDeliveryMax!: number;
  /** Leading and urgent changes fanned out in the accepting process when it runs the worker role (DAVPUSH_IN_PROCESS_FANOUT). */
  readonly inProcessFanout!: boolean;
  /**
   * Queue shards (docs/cluster.md): `count` fan-out/delivery queue shards, numbered 0…count-1;
   * `consumed` the shards this process's worker takes jobs from (every shard unless DAVPUSH_WORKER_SHARDS).
   */
  readonly queues!: { shards: number; consumed: readonly number[] };
  /**
   * docs/durability.md: `replicated` = an accepted event or registration is answered only once at
   * least one replica acknowledged it (Redis WAIT, up to `timeoutMs` ms), else 503.
   */
  readonly durability!: { mode: 'local' | 'replicated'; timeoutMs: number };

  constructor(init: Omit<AppConfig, 'toJSON' | 'with'>) {
    Object.assign(this, init);
  }

  /** A copy with some fields replaced (tests, all-in-one start-up after Redis is spawned). */
  with(patch: Partial<Omit<AppConfig, 'toJSON' | 'with'>>): AppConfig {
    return new AppConfig({ ...this, ...patch });
  }

  toJSON(): unknown {
    const redact = (v: string | undefined) => (v ? '[redacted]' : undefined);
    return {
      ...this,
      redis: { ...this.redis, url: this.redis.url?.replace(/\/\/[^@/]*@/, '//[redacted]@') },
      adminToken: redact(this.adminToken),
      vapid: { ...this.vapid, privateKey: redact(this.vapid.privateKey) },
      proxy: this.proxy && {
        ...this.proxy,
        service: this.proxy.service && { user: this.proxy.service.user, password: '[redacted]' },
        hookSecret: redact(this.proxy.hookSecret),
      },
    };
  }
}

function keyPairProblem(publicKey: string, privateKey: string): string | undefined {
  // The pair must belong together, or every push fails with 401/403 at the push service.
  try {
    const ecdh = createECDH('prime256v1');
    ecdh.setPrivateKey(Buffer.from(privateKey, 'base64url'));
    return ecdh.getPublicKey().equals(Buffer.from(publicKey, 'base64url'))
      ? undefined
      : 'DAVPUSH_VAPID_PRIVATE_KEY: does not match DAVPUSH_VAPID_PUBLIC_KEY';
  } catch {
    return 'DAVPUSH_VAPID_PRIVATE_KEY: is not a P-256 private key (32 bytes, base64url)';
  }
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  // Empty strings mean "unset" (a blank line in .env must not fail validation).
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`));
  }
  const e = parsed.data;
  if (e.DAVPUSH_VAPID_PUBLIC_KEY && e.DAVPUSH_VAPID_PRIVATE_KEY) {
    const problem = keyPairProblem(e.DAVPUSH_VAPID_PUBLIC_KEY, e.DAVPUSH_VAPID_PRIVATE_KEY);
    if (problem) throw new ConfigError([problem]);
  }
  const hostForUrl = e.HOST.includes(':') ? `[${e.HOST}]` : e.HOST;
  return new AppConfig({
    http: {
      host: e.HOST,
      port: e.PORT,
      publicUrl: (e.PUBLIC_URL ?? `http://${hostForUrl}:${e.PORT}`).replace(/\/+$/, ''),
    },
    redis: {
      url: e.REDIS_URL,
      clusterNodes: e.REDIS_CLUSTER_NODES?.split(',').map((hp) => {
        const [host, port] = hp.split(':');
        return { host: host!, port: Number(port) };
      }),
      clusterAuth: e.REDIS_CLUSTER_PASSWORD
        ? { username: e.REDIS_CLUSTER_USERNAME, password: e.REDIS_CLUSTER_PASSWORD }
        : undefined,
      // An operator who set only DAVPUSH_DURABILITY_TIMEOUT_MS (before this variable existed, or not
      // caring) gets a command timeout WAIT fits in; one set explicitly too low was refused above.
      commandTimeoutMs:
        e.DAVPUSH_REDIS_COMMAND_TIMEOUT_MS ??
        (e.DAVPUSH_DURABILITY === 'replicated'
          ? Math.max(DEFAULT_REDIS_COMMAND_TIMEOUT_MS, e.DAVPUSH_DURABILITY_TIMEOUT_MS + DURABILITY_WAIT_GRACE_MS)
          : DEFAULT_REDIS_COMMAND_TIMEOUT_MS),
    },
    dataDir: path.resolve(e.DAVPUSH_DATA_DIR),
    adminToken: e.DAVPUSH_ADMIN_TOKEN,
    vapid: {
      subject: e.DAVPUSH_VAPID_SUBJECT ?? PLACEHOLDER_VAPID_SUBJECT,
      subjectIsPlaceholder: !e.DAVPUSH_VAPID_SUBJECT,
      publicKey: e.DAVPUSH_VAPID_PUBLIC_KEY,
      privateKey: e.DAVPUSH_VAPID_PRIVATE_KEY,
    },
    fcm: {
      credentialsPath: e.DAVPUSH_FCM_CREDENTIALS ?? e.GOOGLE_APPLICATION_CREDENTIALS,
      endpoint: e.DAVPUSH_FCM_ENDPOINT,
    },
    allowPrivatePushEndpoints: e.DAVPUSH_ALLOW_PRIVATE_PUSH_ENDPOINTS,
    coalesceMs: e.DAVPUSH_COALESCE_MS,
    defaultTtlSeconds: e.DAVPUSH_DEFAULT_TTL,
    eventRetentionSeconds: e.DAVPUSH_EVENT_RETENTION_SECONDS,
    ingestRatePerSecond: e.DAVPUSH_INGEST_RATE,
    maxExpirySeconds: e.DAVPUSH_MAX_EXPIRY,
    limits: {
      registrationsPerTopic: e.DAVPUSH_MAX_REGISTRATIONS_PER_TOPIC,
      registrationsPerPrincipal: e.DAVPUSH_MAX_REGISTRATIONS_PER_PRINCIPAL,
    },
    worker: { concurrency: e.DAVPUSH_WORKER_CONCURRENCY, pushTimeoutMs: e.DAVPUSH_PUSH_TIMEOUT_MS },
    shutdownTimeoutMs: e.DAVPUSH_SHUTDOWN_TIMEOUT_MS,
    delivery: {
      jobLockMs: e.DAVPUSH_JOB_LOCK_MS,
      originConcurrency: e.DAVPUSH_ORIGIN_CONCURRENCY,
      encryptThreads: e.DAVPUSH_ENCRYPT_THREADS,
      pruneAfterFailures: e.DAVPUSH_PRUNE_AFTER_FAILURES,
      pruneAfterSeconds: e.DAVPUSH_PRUNE_AFTER_SECONDS,
      retryBaseMs: e.DAVPUSH_RETRY_BASE_MS,
      retryMaxMs: e.DAVPUSH_RETRY_MAX_MS,
    },
    operations: {
      readyMaxWaitAgeMs: e.DAVPUSH_READY_MAX_WAIT_AGE_MS,
      workerPort: e.DAVPUSH_WORKER_PORT,
      shutdownDrainMs: e.DAVPUSH_SHUTDOWN_DRAIN_MS,
    },
    log: { level: e.DAVPUSH_LOG_LEVEL, format: e.DAVPUSH_LOG_FORMAT },
    gateway: { refreshIntervalSeconds: e.DAVPUSH_GATEWAY_REFRESH_INTERVAL },
    proxy: e.DAVPUSH_PROXY_UPSTREAM
      ? {
          upstream: e.DAVPUSH_PROXY_UPSTREAM.replace(/\/+$/, ''),
          port: e.DAVPUSH_PROXY_PORT,
          publicUrl: (e.DAVPUSH_PROXY_PUBLIC_URL ?? `http://${hostForUrl}:${e.DAVPUSH_PROXY_PORT}`).replace(/\/+$/, ''),
          service: e.DAVPUSH_PROXY_SERVICE_USER
            ? { user: e.DAVPUSH_PROXY_SERVICE_USER, password: e.DAVPUSH_PROXY_SERVICE_PASSWORD! }
            : undefined,
          pollSeconds: e.DAVPUSH_PROXY_POLL_SECONDS,
          hookSecret: e.DAVPUSH_PROXY_HOOK_SECRET,
          chunkedBufferBytes: e.DAVPUSH_PROXY_CHUNKED_BUFFER_BYTES,
        }
      : undefined,
    fanoutConcurrency: e.DAVPUSH_FANOUT_CONCURRENCY,
    inlineDeliveryMax: e.DAVPUSH_INLINE_DELIVERY_MAX,
    inProcessFanout: e.DAVPUSH_IN_PROCESS_FANOUT,
    queues: {
      shards: e.DAVPUSH_QUEUE_SHARDS,
      consumed: e.DAVPUSH_WORKER_SHARDS ?? Array.from({ length: e.DAVPUSH_QUEUE_SHARDS }, (_, i) => i),
    },
    durability: { mode: e.DAVPUSH_DURABILITY, timeoutMs: e.DAVPUSH_DURABILITY_TIMEOUT_MS },
  });
}
