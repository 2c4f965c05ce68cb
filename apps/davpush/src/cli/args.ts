import { parseArgs } from 'node:util';

/** A mistake on the command line: exit code 2 and the command's usage. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly usage?: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface ParsedArgs {
  positionals: string[];
  json: boolean;
  help: boolean;
  limit?: number;
  /** `--url`: the davpush base URL (`try`); default PUBLIC_URL. */
  url?: string;
}

/**
 * The few flags the CLI knows (node:util parseArgs, strict: an unknown flag is a usage error).
 * `--` ends the flags, so a tenant may be called `--weird`.
 */
export function parseCommandLine(argv: readonly string[]): ParsedArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
        limit: { type: 'string' },
        url: { type: 'string' },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/\. To specify a positional argument.*$/s, ''));
  }
  const { values, positionals } = parsed;
  let limit: number | undefined;
  if (values.limit !== undefined) {
    if (!/^\d{1,4}$/.test(values.limit) || Number(values.limit) < 1 || Number(values.limit) > 1000) {
      throw new UsageError(`--limit must be a whole number from 1 to 1000, not ${JSON.stringify(values.limit)}`);
    }
    limit = Number(values.limit);
  }
  let url: string | undefined;
  if (values.url !== undefined) {
    if (!/^https?:\/\/[^\s/]+/.test(values.url))
      throw new UsageError(`--url must be an http: or https: URL, not ${JSON.stringify(values.url)}`);
    url = values.url;
  }
  return { positionals, json: values.json, help: values.help, limit, url };
}
