import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { contentCodingProblem, unsupportedContentCodings } from './content-encoding';
import { writeProblem } from './problem';

/** Registration documents are small (README "HTTP API": 413 over 16 KiB); event batches hold up to 1000 events. */
const REGISTRATION_BODY_LIMIT = 16 * 1024;
const EVENTS_BODY_LIMIT = 1024 * 1024;
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
 * Express's own byte reader (body-parser `raw`), one per limit: any Content-Type is read as bytes
 * (parsing is the controller's, by Content-Type), a declared or streamed length past the limit
 * stops the read, and a compressed body is refused rather than inflated.
 */
const readers = new Map<number, RequestHandler>(
  [REGISTRATION_BODY_LIMIT, EVENTS_BODY_LIMIT, DEFAULT_LIMIT].map((limit) => [
    limit,
    express.raw({ type: () => true, limit, inflate: false }),
  ]),
);

/** body-parser's error `type` (https://github.com/expressjs/body-parser#errors). */
type BodyError = Error & { type?: string };

/**
 * Reads the request body as bytes into `req.rawBody`, with a hard cap, for every method that has
 * one, so one place decides 400/413/415: over the cap → 413 (the connection is closed rather than
 * drained), a Content-Encoding → 415, a body that ends short of its Content-Length → 400.
 */
export function rawBody(req: Request, res: Response, next: NextFunction): void {
  if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'DELETE' || req.method === 'OPTIONS')
    return next();
  const codings = unsupportedContentCodings(req);
  if (codings.length > 0)
    return writeProblem(req, res, 415, 'Unsupported Media Type', contentCodingProblem(codings), undefined, {
      'Accept-Encoding': 'identity',
    });
  const limit = limitFor(req.path);
  readers.get(limit)!(req, res, (err?: unknown) => {
    if (err) return refuse(req, res, err as BodyError, limit);
    const body: unknown = req.body;
    (req as Request & { rawBody?: Buffer }).rawBody = Buffer.isBuffer(body) ? body : Buffer.alloc(0);
    // Controllers read rawBody; req.body stays what it was before any reading (bull-board looks at it).
    req.body = undefined;
    next();
  });
}

function refuse(req: Request, res: Response, err: BodyError, limit: number): void {
  if (err.type === 'entity.too.large') {
    res.setHeader('Connection', 'close');
    return writeProblem(req, res, 413, 'Payload Too Large', `request body is limited to ${limit} bytes`);
  }
  if (err.type === 'encoding.unsupported') {
    return writeProblem(
      req,
      res,
      415,
      'Unsupported Media Type',
      'a Content-Encoding is not accepted: send the body uncompressed',
    );
  }
  // Aborted by the client (nobody reads the answer), or shorter than its Content-Length.
  writeProblem(req, res, 400, 'Bad Request', 'the request body could not be read in full');
}
