import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './harness';

/** The OpenAPI document at /docs describes exactly the routes the app serves. */
describe('OpenAPI at /docs', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => h?.close());

  it('documents every route the app serves, and nothing it does not', async () => {
    const doc = (await (await h.request('GET', '/docs/openapi.json')).json()) as {
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
    };
    expect(doc.openapi).toBe('3.1.0');
    const documented = Object.entries(doc.paths)
      .flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`))
      .toSorted();
    // Nest's route table, read from Express (path parameters rewritten to OpenAPI's {name}).
    const router = (
      h.app.getHttpAdapter().getInstance() as {
        router: { stack: { route?: { path: string; methods: Record<string, boolean> } }[] };
      }
    ).router;
    const served = router.stack
      .filter((l) => l.route && !l.route.path.startsWith('/docs'))
      .flatMap((l) =>
        Object.keys(l.route!.methods).map((m) => `${m.toUpperCase()} ${l.route!.path.replace(/:(\w+)/g, '{$1}')}`),
      )
      .filter((r) => !r.startsWith('HEAD '));
    const dashboard = (r: string) => r.startsWith('GET /admin/queues');
    expect(served.filter((r) => !dashboard(r)).toSorted()).toEqual(documented.filter((r) => !dashboard(r)));
    expect(documented).toContain('GET /admin/queues');
  });

  it('serves Swagger UI from the package, not a CDN', async () => {
    const html = await (await h.request('GET', '/docs')).text();
    expect(html).toContain('/docs/assets/swagger-ui-bundle.js');
    expect(html).not.toMatch(/https?:\/\/(?!127\.0\.0\.1)/);
    const js = await h.request('GET', '/docs/assets/swagger-ui-bundle.js');
    expect(js.status).toBe(200);
  });
});
