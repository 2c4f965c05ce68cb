import type { LoggerService } from '@nestjs/common';

export interface LogLine {
  level: string;
  message: unknown;
  context?: string;
}

/**
 * Keeps what the app logs (Nest's Logger calls, i.e. what ConsoleLogger would print as one JSON
 * line each), for tests that assert on fields such as `requestId`. Install with `app.useLogger()`.
 */
export class LogRecorder implements LoggerService {
  readonly lines: LogLine[] = [];

  log(message: unknown, context?: string) {
    this.lines.push({ level: 'log', message, context });
  }
  error(message: unknown, ...rest: unknown[]) {
    this.lines.push({
      level: 'error',
      message,
      context: typeof rest.at(-1) === 'string' ? (rest.at(-1) as string) : undefined,
    });
  }
  warn(message: unknown, context?: string) {
    this.lines.push({ level: 'warn', message, context });
  }
  debug(message: unknown, context?: string) {
    this.lines.push({ level: 'debug', message, context });
  }
  verbose(message: unknown, context?: string) {
    this.lines.push({ level: 'verbose', message, context });
  }

  /** Structured messages (objects) that have every given field value. */
  matching(fields: Record<string, unknown>): Record<string, unknown>[] {
    return this.lines
      .map((l) => l.message)
      .filter((m): m is Record<string, unknown> => typeof m === 'object' && m !== null)
      .filter((m) => Object.entries(fields).every(([k, v]) => m[k] === v));
  }

  /** Everything logged, as the text an operator would search. */
  text(): string {
    return this.lines.map((l) => (typeof l.message === 'string' ? l.message : JSON.stringify(l.message))).join('\n');
  }
}
