import type { NextFunction, Request, Response } from 'express';
import { describe, expect, it } from 'vitest';
import { DASHBOARD_COOKIE, dashboardAuth, dashboardCookieValue, validDashboardCookie } from './dashboard-auth';

const ADMIN = 'admin-token-0123456789abcdef0123456789abcdef';
const NOW_S = 1_800_000_000;

describe('dashboard session cookie', () => {
  it.each([
    ['a fresh cookie', dashboardCookieValue(ADMIN, NOW_S + 60), true],
    ['an expired cookie', dashboardCookieValue(ADMIN, NOW_S - 1), false],
    ['a cookie made with another admin token (rotated)', dashboardCookieValue(`${ADMIN}x`, NOW_S + 60), false],
    [
      'a cookie whose expiry was edited',
      dashboardCookieValue(ADMIN, NOW_S + 60).replace(`.${NOW_S + 60}.`, `.${NOW_S + 9999}.`),
      false,
    ],
    ['the admin token itself', ADMIN, false],
    ['nothing', undefined, false],
  ])('%s → %s', (_, value, ok) => {
    expect(validDashboardCookie(value, ADMIN, NOW_S)).toBe(ok);
  });

  it('never contains the admin token', () => {
    expect(dashboardCookieValue(ADMIN, NOW_S)).not.toContain(ADMIN);
  });
});

interface Seen {
  status?: number;
  headers: Record<string, string>;
  redirect?: string;
  body?: string;
  next: boolean;
}

function call(opts: {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  secure?: boolean;
  adminToken?: string;
}): Seen {
  const seen: Seen = { headers: {}, next: false };
  const req = {
    method: opts.method ?? 'GET',
    originalUrl: opts.url,
    headers: opts.headers ?? {},
  } as unknown as Request;
  const res = {
    headersSent: false,
    setHeader: (k: string, v: string) => (seen.headers[k.toLowerCase()] = v),
    redirect: (status: number, to: string) => Object.assign(seen, { status, redirect: to }),
    status(s: number) {
      seen.status = s;
      return this;
    },
    type() {
      return this;
    },
    send: (b: string) => (seen.body = b),
  } as unknown as Response;
  const mw = dashboardAuth({
    adminToken: 'adminToken' in opts ? opts.adminToken : ADMIN,
    basePath: '/admin/queues',
    secure: !!opts.secure,
    now: () => NOW_S * 1000,
  });
  mw(req, res, (() => (seen.next = true)) as NextFunction);
  return seen;
}

describe('dashboardAuth', () => {
  it('lets a bearer token through with a CSP that keeps the browser on this origin', () => {
    const seen = call({ url: '/admin/queues', headers: { authorization: `Bearer ${ADMIN}` } });
    expect(seen.next).toBe(true);
    expect(seen.headers['content-security-policy']).toContain("default-src 'self'");
  });

  it('trades ?token= for an HttpOnly SameSite=Strict cookie scoped to the dashboard and drops the token from the URL', () => {
    const seen = call({ url: `/admin/queues/queue/fanout?status=failed&token=${ADMIN}`, secure: true });
    expect(seen.next).toBe(false);
    expect(seen.status).toBe(303);
    expect(seen.redirect).toBe('/admin/queues/queue/fanout?status=failed');
    const cookie = seen.headers['set-cookie']!;
    expect(cookie).toMatch(new RegExp(`^${DASHBOARD_COOKIE}=v1\\.\\d+\\.[A-Za-z0-9_-]{43}; `));
    expect(cookie).toContain('Path=/admin/queues');
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Strict');
    expect(cookie).toContain('Secure');
    expect(cookie).not.toContain(ADMIN);
  });

  it('accepts the cookie on later requests', () => {
    const value = dashboardCookieValue(ADMIN, NOW_S + 100);
    expect(
      call({ url: '/admin/queues/api/queues', headers: { cookie: `other=1; ${DASHBOARD_COOKIE}=${value}` } }).next,
    ).toBe(true);
  });

  it.each([
    ['no credentials', { url: '/admin/queues' }],
    ['a wrong ?token=', { url: '/admin/queues?token=wrong' }],
    ['a wrong bearer token', { url: '/admin/queues', headers: { authorization: 'Bearer wrong' } }],
    [
      'a forged cookie',
      { url: '/admin/queues', headers: { cookie: `${DASHBOARD_COOKIE}=v1.9999999999.${'A'.repeat(43)}` } },
    ],
    [
      '?token= on a POST (no session from a cross-site form)',
      { url: `/admin/queues/api/queues/fanout/clean?token=${ADMIN}`, method: 'POST' },
    ],
    ['no admin token configured', { url: '/admin/queues?token=', adminToken: undefined }],
  ])('refuses %s with 401', (_, opts) => {
    const seen = call(opts as Parameters<typeof call>[0]);
    expect(seen.next).toBe(false);
    expect(seen.status).toBe(401);
    expect(seen.headers['www-authenticate']).toBe('Bearer');
    expect(seen.headers['set-cookie']).toBeUndefined();
  });
});
