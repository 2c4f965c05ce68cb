import type { INestApplicationContext } from '@nestjs/common';
import { AppConfig } from '@davpush/config';
import { isCommandTimeout, StorageTimeoutError } from '@davpush/storage';
import { parseCommandLine, type ParsedArgs } from './args';
import { COMMANDS, EXIT, type CliIo, type Command } from './commands';

/** Opens the Nest context the commands run in, and closes it (and a Redis the CLI spawned) after. */
export type OpenContext = () => Promise<{ app: INestApplicationContext; close(): Promise<void> }>;

export function usage(commands: readonly Command[] = COMMANDS): string {
  const width = Math.max(...commands.map((c) => c.usage.length));
  return [
    'usage: davpush <command> [options]',
    '',
    'commands:',
    ...commands.map((c) => `  ${c.usage.padEnd(width)}  ${c.summary}`),
    '',
    'options:',
    '  --json       machine-readable output',
    '  --url URL    davpush base URL for `try` (default PUBLIC_URL, or http://HOST:PORT)',
    '  -h, --help   help for a command',
    '',
    'Runs against the same Redis as the service: REDIS_URL, or the private redis-server under',
    'DAVPUSH_DATA_DIR (default ./.data). Exit codes: 0 ok, 1 error, 2 usage.',
    '',
  ].join('\n');
}

function find(words: readonly string[]): { command?: Command; group?: Command[] } {
  const command = COMMANDS.find((c) => c.words.every((w, i) => words[i] === w));
  if (command) return { command };
  const group = COMMANDS.filter((c) => c.words.length > 1 && c.words[0] === words[0]);
  return { group: group.length ? group : undefined };
}

/**
 * `npx davpush …`. Arguments are checked before anything connects (a typo never spawns a Redis),
 * then the command runs in a Nest application context of CoreModule: no HTTP, no workers.
 */
export async function runCli(argv: readonly string[], io: CliIo, open: OpenContext): Promise<number> {
  let flags: ParsedArgs;
  try {
    flags = parseCommandLine(argv);
  } catch (err) {
    return usageError(io, (err as Error).message, usage());
  }
  let words = flags.positionals;
  if (words[0] === 'help') {
    words = words.slice(1);
    flags = { ...flags, help: true };
  }
  if (words.length === 0) return flags.help ? help(io, usage()) : usageError(io, 'no command given', usage());
  const { command, group } = find(words);
  if (!command) {
    if (!group) return usageError(io, `unknown command: ${words[0]}`, usage());
    if (flags.help) return help(io, usage(group));
    const what =
      words.length > 1
        ? `unknown command: ${words.slice(0, 2).join(' ')}`
        : `${words[0]} needs one of: ${group.map((c) => c.words[1]).join(', ')}`;
    return usageError(io, what, usage(group));
  }
  if (flags.help) return help(io, usage([command]));
  const args = words.slice(command.words.length);
  if (args.length < command.args.min || args.length > command.args.max) {
    return usageError(
      io,
      args.length < command.args.min ? 'missing argument' : `unexpected argument: ${args[command.args.max]}`,
      usage([command]),
    );
  }
  // Nothing to open: a standalone command talks HTTP to the running service and never reads `app`.
  if (command.standalone) return command.run({ args, flags, io, app: undefined as never });
  let ctx: Awaited<ReturnType<OpenContext>> | undefined;
  try {
    ctx = await open();
    return await command.run({ app: ctx.app, args, flags, io });
  } catch (err) {
    io.err(`davpush: ${command.words.join(' ')}: ${failureText(err, ctx?.app)}\n`);
    return EXIT.failed;
  } finally {
    await ctx?.close().catch((err: Error) => io.err(`davpush: while closing: ${err.message}\n`));
  }
}

/**
 * What a failed command prints. ioredis says only `Command timed out` when Redis does not answer a
 * command within DAVPUSH_REDIS_COMMAND_TIMEOUT_MS (libs/storage/src/redis-connection.ts): the
 * operator is told that, and which setting bounds the wait (StorageTimeoutError's message).
 */
function failureText(err: unknown, app: INestApplicationContext | undefined): string {
  if (app && isCommandTimeout(err)) return new StorageTimeoutError(app.get(AppConfig).redis.commandTimeoutMs).message;
  return (err as Error).message;
}

function help(io: CliIo, text: string): number {
  io.out(text);
  return EXIT.ok;
}

function usageError(io: CliIo, message: string, helpText: string): number {
  io.err(`davpush: ${message}\n\n${helpText}`);
  return EXIT.usage;
}
