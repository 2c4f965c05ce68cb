import { Injectable, Logger, Optional } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PushMetrics } from '../push-metrics';

type Req = IncomingMessage & { route?: { path?: unknown }; baseUrl?: string; originalUrl?: string };
type Next = (err?: unknown) => void;

/** Probes and scrapes arrive every few seconds: logged at debug so they don't drown real traffic. */
const QUIET_ROUTES = /^\/(health\/(live|ready)|metrics)$/;

/**
 * The route template a request matched (`/v1/registrations/:id`), never its path: paths carry
 * registration ids (capabilities) and topics. Mounted routers without a matching route (the
 * dashboard's static files) collapse to `<mount>/*`, anything else to `unmatched`, so the label
 * set stays bounded whatever clients send.
 */
export function routeTemplate(req: Req): string {
  const base = typeof req.baseUrl === 'string' ? req.baseUrl : '';
  const path = req.route?.path;
  if (typeof path === 'string') return `${base}${path === '/' && base ? '' : path}` || '/';
  return base ? `${base}/*` : 'unmatched';
}

/**
 * One access-log line and one latency observation per HTTP request: method, route template,
 * status, duration and X-Request-Id; never the query string (it may hold `?token=`) nor headers.
 * Registered on the Express instance when this provider is created, which is before the app's own
 * `app.use()` plumbing and before Nest's routes, so 413s from the body reader and 401s from guards
 * are seen too. A client that hangs up before the answer is logged with status 499.
 */
@Injectable()
export class HttpTelemetry {
  private readonly logger = new Logger('Access');

  constructor(
    private readonly metrics: PushMetrics,
    @Optional() adapterHost?: HttpAdapterHost,
  ) {
    // Absent in an application context (CLI): there is no HTTP server to watch.
    adapterHost?.httpAdapter?.use(this.middleware);
  }

  readonly middleware = (req: Req, res: ServerResponse, next: Next): void => {
    const started = performance.now();
    res.once('close', () => this.record(req, res, performance.now() - started));
    next();
  };

  record(req: Req, res: ServerResponse, elapsedMs: number): void {
    const route = routeTemplate(req);
    const status = res.writableFinished ? res.statusCode : 499;
    const method = req.method ?? 'GET';
    this.metrics.httpDuration.observe({ method, route, status: String(status) }, elapsedMs / 1000);
    const given = req.headers['x-request-id'] ?? res.getHeader('x-request-id');
    const line = {
      msg: 'http request',
      method,
      route,
      status,
      ms: Math.round(elapsedMs * 10) / 10,
      requestId: typeof given === 'string' ? given : undefined,
    };
    // A failing probe is terminus' to report (it logs why); its access line stays quiet too.
    if (QUIET_ROUTES.test(route)) this.logger.debug(line);
    else if (status >= 500) this.logger.error(line);
    else this.logger.log(line);
  }
}
