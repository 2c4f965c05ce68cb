import type { NextFunction, Request, Response } from 'express';
import { writeProblem } from './problem';

/** Registration documents are small (README "HTTP API": 413 over 16 KiB); event batches hold up to 1000 events. */
export const REGISTRATION_BODY_LIMIT = 16 * 1024;
export const EVENTS_BODY_LIMIT = 1024 * 1024;
const DEFAULT_LIMIT = 64 * 1024;

// Express matches routes case-insensitively and with a trailing slash, so the cap must too:
// `/V1/Topics/x/Registrations/` is the registration route and gets its 16 KiB, not 64 KiB.
// The CC/CD 70025 gateway root takes pushes of up to 1000 messages; a client's subscribe is a registration.
const limitFor = (path: string): number =>
  /^\/v1\/(events|gateway)\/?$/i.test(path)
    ? EVENTS_BODY_LIMIT
    : /\/registrations\/?$|^\/v1\/gateway\/subscribe\/?$/i.test(path)
      ? REGISTRATION_BODY_LIMIT
      : DEFAULT_LIMIT;

/**
 * Reads the request body as bytes, with a hard cap, for every method that has one. Parsing is the
 * controller's job (JSON or WebDAV-Push XML by Content-Type), so one place decides 400/413/415.
 */
export function rawBody(req: Request, res: Response, next: NextFunction): void {
  if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'DELETE' || req.method === 'OPTIONS') return next();
  const limit = limitFor(req.path);
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > limit) {
    res.setHeader('Connection', 'close');
    return writeProblem(req, res, 413, 'Payload Too Large', `request body is limited to ${limit} bytes`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let failed = false;
  req.on('data', (c: Buffer) => {
    if (failed) return;
    size += c.length;
    if (size > limit) {
      failed = true;
      res.setHeader('Connection', 'close');
      writeProblem(req, res, 413, 'Payload Too Large', `request body is limited to ${limit} bytes`);
      req.resume();
      return;
    }
    chunks.push(c);
  });
  req.on('end', () => {
    if (failed) return;
    (req as Request & { rawBody?: Buffer }).rawBody = Buffer.concat(chunks);
    next();
  });
  req.on('error', () => {
    failed = true;
  });
}
