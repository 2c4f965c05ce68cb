import * as fs from 'node:fs';
import * as net from 'node:net';
import * as tty from 'node:tty';
import type { INestApplication, INestApplicationContext, LoggerService } from '@nestjs/common';
import { ConfigError } from '@davpush/config';
import { ShutdownState, within } from '@davpush/observability';
import { createLogger, prepareRuntime, type Runtime } from './bootstrap';
import { mountHome, serviceLinks, type ServiceLink } from './home';
import { configuredRedis, reachRedis } from './redis-reachability';
import { startUpWarnings } from './start-up-warnings';

/** One process role (`npm start`, `start:api`, `start:worker`) as the launcher runs it. */
export interface RoleSpec<A extends INestApplicationContext = INestApplicationContext> {
  /** `davpush`, `davpush api`, `davpush worker`: the first word of every line printed without a logger. */
  name: string;
  /** Serves the API (docs, dashboard) or only probes and metrics. */
  api: boolean;
  /** Builds the Nest application (not yet listening), or a context for a role that serves its own listener. */
  create(runtime: Runtime, logger: LoggerService): Promise<A>;
  /**
   * Where to listen, and the variable that sets the port (named when it is in use). Absent: the role
   * listens by itself once created (the proxy's DAV listener), and gets no home page.
   */
  listen?(runtime: Runtime): { port: number; host: string; portVariable: string };
  /** The public base URL of this process once it listens. */
  baseUrl(runtime: Runtime, app: A): Promise<string>;
  /** Role-specific lines for the banner (VAPID key, admin token file…). */
  details?(runtime: Runtime, app: A): Record<string, string>;
}

type Signal = 'SIGTERM' | 'SIGINT' | 'SIGHUP';

/**
 * Runs a role: configuration, Redis (reachable, or the private one started), Nest, the listener,
 * then a banner with the URLs that matter. Every failure is one line and exit 1, and a Redis this
 * process spawned is stopped first. SIGTERM and SIGINT (also a second one, as when both the
 * terminal and `npm` deliver Ctrl-C), and SIGHUP (the terminal closed: POSIX's default action would
 * end us at once and leave the private redis-server, in its own process group, running) stop
 * everything within DAVPUSH_SHUTDOWN_TIMEOUT_MS; the last line says so.
 */
export async function launch<A extends INestApplicationContext>(role: RoleSpec<A>): Promise<void> {
  let runtime: Runtime | undefined;
  let logger: LoggerService | undefined;
  let app: A | undefined;
  let stopping: Signal | undefined;

  const startedOnTerminal = [0, 1, 2].filter((fd) => tty.isatty(fd));
  // Installed before anything starts, so a signal during start-up is a clean stop too.
  const onSignal = (signal: Signal) => {
    if (stopping) return logger?.debug?.({ msg: 'already stopping', signal }, 'Shutdown');
    stopping = signal;
    void stop(signal);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  process.on('SIGHUP', onSignal);
  // A redis-server we spawned runs in its own process group: it must not outlive us on any exit path.
  process.on('exit', () => runtime?.redis?.killNow());

  let preparing: Promise<Runtime> | undefined;

  async function stop(signal: Signal): Promise<void> {
    const started = Date.now();
    // A signal while the private Redis is being spawned: let that finish, so it can be stopped too.
    if (!runtime && preparing) {
      const late = new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 10_000));
      runtime = await Promise.race([preparing.catch(() => undefined), late]);
    }
    const timeoutMs = runtime?.config.shutdownTimeoutMs ?? 10_000;
    try {
      app?.get(ShutdownState, { strict: false }).begin();
    } catch {
      /* no probes in this context */
    }
    logger?.log({ msg: 'shutting down', signal, timeoutMs }, 'Shutdown');
    // Redis goes last, after the app's connections closed; keep part of the budget for it.
    const redisBudget = runtime?.redis?.spawned ? Math.min(2000, Math.floor(timeoutMs / 4)) : 0;
    let timedOut = false;
    if (app) {
      const closing = app
        .close()
        .catch((err: Error) => logger?.error({ msg: 'error during shutdown', error: err.message }, 'Shutdown'));
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>(
        (resolve) => (timer = setTimeout(() => resolve('late'), Math.max(0, timeoutMs - redisBudget))),
      );
      timedOut = (await Promise.race([closing, late])) === 'late';
      clearTimeout(timer);
      if (timedOut)
        logger?.warn(
          {
            msg: 'shutdown timeout passed; exiting with work still active (jobs return to the queue when their lock lapses)',
          },
          'Shutdown',
        );
    }
    await runtime?.redis?.stop(Math.max(100, timeoutMs - (Date.now() - started)));
    finish(timedOut ? 1 : 0, { msg: `${role.name} stopped`, signal, ms: Date.now() - started });
  }

  function finish(code: number, line: Record<string, unknown>): void {
    if (logger) logger.log(line, 'Shutdown');
    else process.stderr.write(`${role.name}: ${String(line.msg)}\n`);
    releaseHungUpTerminal(startedOnTerminal);
    process.exit(code);
  }

  try {
    preparing = prepareRuntime();
    runtime = await preparing;
    if (stopping) return;
    logger = createLogger(runtime.config);
    await reachRedis(runtime.config);
    if (stopping) return;
    // Before anything is created: a worker consumes jobs (and pushes) from its bootstrap on, which
    // comes before the listen that would fail on a busy port.
    if (role.listen) await portFree(role.listen(runtime));
    app = await role.create(runtime, logger);
    if (role.listen) {
      // A role with a listener of the launcher's creates an HTTP application (NestFactory.create).
      const http = app as unknown as INestApplication;
      const { port, host, portVariable } = role.listen(runtime);
      // The API's links use PUBLIC_URL; a worker's probe port has no public URL, so its links are relative.
      mountHome(http, role.name, serviceLinks(role.api ? runtime.config.http.publicUrl : '', role));
      await http.listen(port, host).catch((err: NodeJS.ErrnoException) => {
        throw err.code === 'EADDRINUSE' ? portInUse({ port, host, portVariable }) : err;
      });
    }
    if (stopping) return;
    banner(role, runtime, app, logger, await role.baseUrl(runtime, app));
  } catch (err) {
    if (stopping) return; // the stop in progress exits
    stopping = 'SIGTERM';
    const message = err instanceof ConfigError ? err.message : `could not start: ${(err as Error).message}`;
    if (logger) logger.error({ msg: message }, 'Bootstrap');
    else process.stderr.write(`${role.name}: ${message}\n`);
    if (app) await within(app.close(), 5000, 'closing').catch(() => undefined);
    await runtime?.redis?.stop(2000);
    process.exit(1);
  }
}

const portInUse = (l: { port: number; host: string; portVariable: string }) =>
  new Error(`port ${l.port} on ${l.host} is in use (set ${l.portVariable})`);

/** Binds and releases the port: a busy one is refused before the application exists. */
async function portFree(l: { port: number; host: string; portVariable: string }): Promise<void> {
  if (l.port === 0) return;
  const probe = net.createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', (err: NodeJS.ErrnoException) => reject(err.code === 'EADDRINUSE' ? portInUse(l) : err));
    probe.listen({ port: l.port, host: l.host, exclusive: true }, () => probe.close(() => resolve()));
  });
}

/**
 * Node 20 aborts at exit with a native stack trace ("ResetStdio … Assertion failed") when it cannot
 * restore a terminal that went away (closed window, `npm start & disown`): tcsetattr fails with
 * EIO (https://github.com/nodejs/node/issues/51519, fixed by https://github.com/nodejs/node/pull/58200
 * in later releases). Node skips a descriptor the program closed, so close the ones whose terminal
 * hung up: isatty() is false on a hung-up terminal (its ioctl fails with EIO).
 */
function releaseHungUpTerminal(startedOnTerminal: number[]): void {
  for (const fd of startedOnTerminal) {
    if (tty.isatty(fd)) continue;
    try {
      fs.closeSync(fd);
    } catch {
      /* already closed */
    }
  }
}

const LABELS: Record<string, string> = {
  adminToken: 'admin token',
  vapidPublicKey: 'VAPID public key',
  redis: 'redis',
  concurrency: 'concurrency',
  proxy: 'WebDAV-Push proxy',
  proxyTenant: 'proxy tenant',
  queueShards: 'queue shards',
  durability: 'durability',
};

/** The start-up warnings, then the banner: one JSON line in JSON mode, a short block in pretty mode. */
function banner<A extends INestApplicationContext>(
  role: RoleSpec<A>,
  runtime: Runtime,
  app: A,
  logger: LoggerService,
  base: string,
): void {
  const { config } = runtime;
  // A role without a listener of the launcher's (the proxy alone) has no probe or metrics links.
  const links: ServiceLink[] = role.listen ? serviceLinks(base, role) : [];
  const adopted = runtime.redis?.adopted ? ', adopted from an earlier start' : '';
  const redis = runtime.redis?.spawned
    ? `private redis-server (AOF) at ${runtime.redis.url}${adopted}`
    : runtime.redis
      ? `${runtime.redis.url} (already running)`
      : configuredRedis(config);
  const details: Record<string, string> = {
    ...role.details?.(runtime, app),
    redis,
    queueShards: String(config.queues.shards),
    durability: config.durability.mode,
  };
  // Warnings first: the banner is the last start-up line, the one left on screen.
  for (const warning of startUpWarnings(config)) logger.warn(warning, 'Bootstrap');
  if (config.log.format === 'json') {
    logger.log(
      {
        msg: `${role.name} started on ${base}`,
        url: base,
        links: Object.fromEntries(links.map((l) => [l.rel, l.href])),
        ...details,
      },
      'Bootstrap',
    );
  } else {
    const width = Math.max(...links.map((l) => l.title.length));
    const lines = [
      `${role.name} is listening on ${base}`,
      ...links.map((l) => `${l.title.padEnd(width)}  ${l.href}`),
      ...Object.entries(details).map(([k, v]) => `${LABELS[k] ?? k}: ${v}`),
    ];
    process.stdout.write(`\n${lines.map((l) => `  ${l}`).join('\n')}\n\n`);
  }
}
