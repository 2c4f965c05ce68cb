import type { INestApplication } from '@nestjs/common';

/** A link on the start page and in the start-up banner. */
export interface ServiceLink {
  rel: string;
  href: string;
  title: string;
}

/**
 * The URLs that matter for a role: the API's docs and dashboard where it serves them, probes and
 * metrics everywhere. `base` is the process' public base URL without a trailing slash.
 */
export function serviceLinks(base: string, role: { api: boolean }): ServiceLink[] {
  return [
    ...(role.api
      ? [
          { rel: 'docs', href: `${base}/docs`, title: 'API reference (OpenAPI, Swagger UI)' },
          { rel: 'openapi', href: `${base}/docs/openapi.json`, title: 'OpenAPI document' },
          { rel: 'dashboard', href: `${base}/admin/queues`, title: 'queue dashboard (admin token)' },
        ]
      : []),
    { rel: 'metrics', href: `${base}/metrics`, title: 'Prometheus metrics' },
    { rel: 'ready', href: `${base}/health/ready`, title: 'readiness' },
    { rel: 'live', href: `${base}/health/live`, title: 'liveness' },
  ];
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

interface HomeRequest {
  accepts(types: string[]): string | false;
}
interface HomeResponse {
  status(code: number): HomeResponse;
  type(t: string): HomeResponse;
  set(name: string, value: string): HomeResponse;
  send(body: string): void;
}

/**
 * `GET /` lists the links instead of answering 404: HTML for a browser, JSON otherwise (content
 * negotiation on Accept, RFC 9110 §12.5.1).
 */
export function mountHome(app: INestApplication, name: string, links: readonly ServiceLink[]): void {
  const json = JSON.stringify({ service: name, links: Object.fromEntries(links.map((l) => [l.rel, l.href])) });
  const html = `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(name)}</title></head><body><h1>${escapeHtml(name)}</h1><ul>${links
    .map(
      (l) => `<li><a href="${escapeHtml(l.href)}">${escapeHtml(l.title)}</a> <code>${escapeHtml(l.href)}</code></li>`,
    )
    .join('')}</ul></body></html>\n`;
  const adapter = app.getHttpAdapter();
  adapter.get('/', (req: HomeRequest, res: HomeResponse) => {
    res.set('Vary', 'Accept').set('Cache-Control', 'no-store');
    if (req.accepts(['json', 'html']) === 'html') res.status(200).type('text/html; charset=utf-8').send(html);
    else res.status(200).type('application/json').send(json);
  });
}
