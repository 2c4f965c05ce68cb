import type { INestApplication } from '@nestjs/common';
import { static as serveStatic, type Request, type Response } from 'express';
import * as path from 'node:path';
import { openApiDocument } from './openapi.document';

const UI_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>davpush API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="ui"></div><script src="/docs/assets/swagger-ui-bundle.js"></script><script src="/docs/init.js"></script></body></html>`;
const INIT_JS = `window.ui = SwaggerUIBundle({ url: '/docs/openapi.json', dom_id: '#ui', deepLinking: true });`;

/** `/docs` (Swagger UI, served from the swagger-ui-dist package: no CDN) and `/docs/openapi.json`. */
export function setupOpenApi(app: INestApplication, publicUrl: string): void {
  const http = app.getHttpAdapter().getInstance() as {
    get(p: string, h: (req: Request, res: Response) => void): void;
    use(p: string, h: unknown): void;
  };
  // Generated at the first request: by then every module has registered its routes.
  let document: string | undefined;
  const uiDir = path.dirname(require.resolve('swagger-ui-dist/package.json'));
  http.get(
    '/docs/openapi.json',
    (_req, res) =>
      void res.type('application/json').send((document ??= JSON.stringify(openApiDocument(app, publicUrl)))),
  );
  http.get('/docs/init.js', (_req, res) => void res.type('text/javascript').send(INIT_JS));
  http.get(
    '/docs',
    (_req, res) =>
      void res
        .type('text/html')
        .set('Content-Security-Policy', "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'")
        .send(UI_HTML),
  );
  http.use('/docs/assets', serveStatic(uiDir, { index: false, fallthrough: false }));
}
