import type { INestApplication } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { randomUUID } from 'node:crypto';
import { writeProblem } from './problem';
import { rawBody } from './raw-body.middleware';

/** A caller's X-Request-Id is kept if it is sane, else one is made; it follows the event into its jobs. */
function requestId(req: Request, res: Response, next: NextFunction): void {
  const given = req.headers['x-request-id'];
  const id = typeof given === 'string' && /^[A-Za-z0-9._:-]{1,128}$/.test(given) ? given : randomUUID();
  req.headers['x-request-id'] = id;
  res.setHeader('X-Request-Id', id);
  next();
}

/**
 * Headers that must come once. Node keeps only the first Authorization and Content-Type and joins
 * repeated custom headers with ", ", so `X-Davpush-Principal: alice` twice would read as the
 * principal "alice, alice" and two Authorization headers could be read differently by a proxy in
 * front of us than by us. Ambiguity is refused, never resolved by guessing.
 */
const SINGLE_HEADERS = new Set(['authorization', 'content-type', 'x-davpush-principal', 'idempotency-key']);

function singleHeaders(req: Request, res: Response, next: NextFunction): void {
  const seen = new Set<string>();
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!.toLowerCase();
    if (!SINGLE_HEADERS.has(name)) continue;
    if (seen.has(name)) return writeProblem(req, res, 400, 'Bad Request', `the ${name} header must be given once`);
    seen.add(name);
  }
  next();
}

/** HTTP plumbing shared by the api and all-in-one entries (NestFactory must be given bodyParser: false). */
export function configureHttp(app: INestApplication): void {
  const express = app.getHttpAdapter().getInstance() as {
    disable(name: string): void;
    set(name: string, v: unknown): void;
  };
  express.disable('x-powered-by');
  express.set('etag', false);
  app.use(singleHeaders);
  app.use(requestId);
  app.use(rawBody);
}
