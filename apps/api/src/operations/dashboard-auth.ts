import type { NextFunction, Request, Response } from 'express';
import { createHmac } from 'node:crypto';
import { bearerToken, secretEquals } from '../http/auth.guards';
import { writeProblem } from '../http/problem';

export const DASHBOARD_COOKIE = 'davpush_admin';
const SESSION_SECONDS = 8 * 3600;

export interface DashboardAuthOptions {
  adminToken?: string;
  /** Where the dashboard is mounted; the cookie is scoped to it. */
  basePath: string;
  /** Set the cookie's Secure flag (PUBLIC_URL is https). */
  secure: boolean;
  now?: () => number;
}

/**
 * The cookie holds an expiry and an HMAC of it keyed by the admin token, never the token: a copy
 * of the cookie opens the dashboard until it expires, but not the admin API, and rotating the
 * admin token ends every session.
 */
export function dashboardCookieValue(adminToken: string, expiresAtSeconds: number): string {
  const mac = createHmac('sha256', adminToken).update(`davpush-dashboard:${expiresAtSeconds}`).digest('base64url');
  return `v1.${expiresAtSeconds}.${mac}`;
}

export function validDashboardCookie(value: string | undefined, adminToken: string, nowSeconds: number): boolean {
  const m = value ? /^v1\.(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(value) : null;
  if (!m) return false;
  const exp = Number(m[1]);
  // Constant-time on the MAC whatever the expiry says, so timing tells nothing about either.
  const macOk = secretEquals(value!, dashboardCookieValue(adminToken, exp));
  return macOk && exp > nowSeconds;
}

function cookie(req: Request, name: string): string | undefined {
  for (const part of String(req.headers.cookie ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at > 0 && part.slice(0, at).trim() === name) return part.slice(at + 1).trim();
  }
  return undefined;
}

/**
 * Admin auth for the bull-board pages (`/admin/*`, docs/operations.md "Queue dashboard"). An API client sends
 * `Authorization: Bearer`; a browser cannot on navigation, so `?token=<admin token>` is accepted
 * once: it sets an HttpOnly SameSite=Strict cookie (no cross-site request carries it, which also
 * covers CSRF on the dashboard's actions) and redirects to the same URL without the token, so it
 * leaves the address bar and history. Everything else gets 401.
 */
export function dashboardAuth(opts: DashboardAuthOptions) {
  const now = () => Math.floor((opts.now?.() ?? Date.now()) / 1000);
  return (req: Request, res: Response, next: NextFunction): void => {
    const admin = opts.adminToken;
    const bearer = bearerToken(req);
    if (admin && bearer !== undefined && secretEquals(bearer, admin)) return proceed(req, res, next);
    if (admin && validDashboardCookie(cookie(req, DASHBOARD_COOKIE), admin, now())) return proceed(req, res, next);
    const url = new URL(req.originalUrl, 'http://davpush.invalid');
    const given = url.searchParams.get('token');
    if (admin && given !== null && (req.method === 'GET' || req.method === 'HEAD') && secretEquals(given, admin)) {
      const exp = now() + SESSION_SECONDS;
      const flags = [
        `Path=${opts.basePath}`,
        `Max-Age=${SESSION_SECONDS}`,
        'HttpOnly',
        'SameSite=Strict',
        ...(opts.secure ? ['Secure'] : []),
      ];
      res.setHeader('Set-Cookie', `${DASHBOARD_COOKIE}=${dashboardCookieValue(admin, exp)}; ${flags.join('; ')}`);
      res.setHeader('Cache-Control', 'no-store');
      res.setHeader('Referrer-Policy', 'no-referrer');
      url.searchParams.delete('token');
      res.redirect(303, `${url.pathname}${url.search}`);
      return;
    }
    res.setHeader('WWW-Authenticate', 'Bearer');
    writeProblem(
      req,
      res,
      401,
      'Unauthorized',
      'the admin token is required (Authorization: Bearer <token>, or open the page once with ?token=<token>)',
    );
  };
}

/**
 * The dashboard's page links a web font from a third-party host; the policy keeps the browser on
 * this origin (no operator's browser tells a font CDN where the dashboard lives), and forbids
 * framing (clickjacking the job actions).
 */
const DASHBOARD_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'self'",
  "form-action 'self'",
].join('; ');

/**
 * Also: the app reads every request body into `req.rawBody` before routing (configure-http), so the
 * dashboard's own JSON parser would find the stream drained: hand it the parsed body instead.
 */
function proceed(req: Request & { rawBody?: Buffer }, res: Response, next: NextFunction): void {
  res.setHeader('Content-Security-Policy', DASHBOARD_CSP);
  res.setHeader('Referrer-Policy', 'no-referrer');
  if (req.rawBody?.length && /json/i.test(String(req.headers['content-type'] ?? ''))) {
    try {
      req.body = JSON.parse(req.rawBody.toString('utf8')) as unknown;
    } catch {
      req.body = undefined;
    }
  }
  next();
}
