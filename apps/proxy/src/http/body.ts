import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';

export interface BodyPrefix {
  /** What was read, at most a little over `cap` bytes. */
  buffer: Buffer;
  /** The whole body was read. */
  complete: boolean;
}

/** Reads a body (request or answer) up to `cap` bytes; the rest stays in the (paused) request. */
export function readPrefix(req: Readable, cap: number): Promise<BodyPrefix> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (complete: boolean) => {
      req.off('data', onData).off('end', onEnd).off('error', onError);
      if (!complete) req.pause();
      resolve({ buffer: Buffer.concat(chunks), complete });
    };
    const onData = (c: Buffer) => {
      chunks.push(c);
      size += c.length;
      if (size > cap) done(false);
    };
    const onEnd = () => done(true);
    const onError = (err: Error) => {
      req.off('data', onData).off('end', onEnd).off('error', onError);
      reject(err);
    };
    req.on('data', onData).on('end', onEnd).on('error', onError);
  });
}

/** The body again: the prefix already read, then the rest of the request, streamed. */
export function replay(prefix: BodyPrefix, req: Readable): Buffer | Readable {
  if (prefix.complete) return prefix.buffer;
  return Readable.from(
    (async function* () {
      yield prefix.buffer;
      yield* req;
    })(),
  );
}

/** Whether the request carries a body (RFC 9112 §6.3: Content-Length or Transfer-Encoding). */
export function hasBody(req: IncomingMessage): boolean {
  if (req.headers['transfer-encoding'] !== undefined) return true;
  const len = req.headers['content-length'];
  return len !== undefined && len !== '0';
}

/** An XML media type (RFC 7303: application/xml, text/xml, or a +xml suffix), any parameters. */
export function isXml(contentType: string | undefined): boolean {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  return type === 'application/xml' || type === 'text/xml' || type.endsWith('+xml');
}
