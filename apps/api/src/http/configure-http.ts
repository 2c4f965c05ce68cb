import type { INestApplication } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { randomUUID } from 'node:crypto';
import { rawBody } from './raw-body.middleware';

/** A caller's X-Request-Id is kept if it is sane, else one is made; it follows the event into its jobs. */
function requestId(req: Request, res: Response, next: NextFunction): void {
  const given = req.headers['x-request-id'];
  const id = typeof given === 'string' && /^[A-Za-z0-9._:-]{1,128}$/.test(given) ? given : randomUUID();
  req.headers['x-request-id'] = id;
  res.setHeader('X-Request-Id', id);
  next();
}

/** HTTP plumbing shared by the api and all-in-one entries (NestFactory must be given bodyParser: false). */
export function configureHttp(app: INestApplication): void {
  const express = app.getHttpAdapter().getInstance() as { disable(name: string): void; set(name: string, v: unknown): void };
  express.disable('x-powered-by');
  express.set('etag', false);
  app.use(requestId);
  app.use(rawBody);
}
