import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { RequestHeaderOptions } from './headers';

/** What {@link Forwarder.forward} may change on the way. */
export interface ForwardOptions {
  body?: Buffer | string | Readable;
  headers?: RequestHeaderOptions;
  /** Adjusts the answer's headers (lower-case names) before they are sent. */
  answerHeaders?: (headers: Record<string, string | string[]>, status: number) => void;
}

/** The proxy's pass-through, as the handlers that change some requests use it. */
export interface Forwarder {
  forward(req: IncomingMessage, res: ServerResponse, opts?: ForwardOptions): Promise<number | undefined>;
  answerHeaders(headers: Record<string, string | string[] | undefined>, drop?: readonly string[]): Record<string, string | string[]>;
}
