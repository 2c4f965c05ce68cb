import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort } from '../e2e/harness';

/** Users of the test Radicale (htpasswd, `plain` scheme). `davpush` is the proxy's read-all service account. */
export const USERS = { alice: 'alice-pw', bob: 'bob-pw', davpush: 'service-pw' } as const;

export interface DavServer {
  url: string;
  dir: string;
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

/**
 * Radicale 3.1.8 (Debian `radicale`) on loopback: htpasswd auth (plain), `from_file` rights that
 * let `davpush` read everything (the admin-read-all example of Radicale's shipped `rights` file)
 * and share `/alice/shared/` with bob, and a storage hook that reports writes to `hookUrl`.
 */
export async function startRadicale(opts: { hookUrl?: string } = {}): Promise<DavServer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'davpush-radicale-'));
  fs.writeFileSync(
    path.join(dir, 'users'),
    Object.entries(USERS)
      .map(([u, p]) => `${u}:${p}`)
      .join('\n') + '\n',
  );
  fs.writeFileSync(
    path.join(dir, 'rights'),
    [
      '[davpush]',
      'user: davpush',
      'collection: .*',
      'permissions: Rr',
      '[shared]',
      'user: bob',
      'collection: alice/shared(/.*)?',
      'permissions: rw',
      '[root]',
      'user: .+',
      'collection:',
      'permissions: R',
      '[principal]',
      'user: .+',
      'collection: {user}',
      'permissions: RW',
      '[calendars]',
      'user: .+',
      'collection: {user}/[^/]+',
      'permissions: rw',
      '',
    ].join('\n'),
  );
  const port = await freePort();
  const args = [
    '--config',
    '',
    '--server-hosts',
    `127.0.0.1:${port}`,
    '--storage-filesystem-folder',
    path.join(dir, 'collections'),
    '--auth-type',
    'htpasswd',
    '--auth-htpasswd-filename',
    path.join(dir, 'users'),
    '--auth-htpasswd-encryption',
    'plain',
    '--auth-delay',
    '0',
    '--rights-type',
    'from_file',
    '--rights-file',
    path.join(dir, 'rights'),
  ];
  if (opts.hookUrl) args.push('--storage-hook', `curl -fsS -m 2 -o /dev/null -X POST ${opts.hookUrl} || true`);
  return spawnServer('/usr/bin/radicale', args, port, dir);
}

/** Xandikos 0.2.8 (Debian `xandikos`): no authentication, `/user/calendars/calendar/` and `/user/contacts/addressbook/`. */
export async function startXandikos(): Promise<DavServer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'davpush-xandikos-'));
  const port = await freePort();
  return spawnServer('/usr/bin/xandikos', ['-d', dir, '--defaults', '-l', '127.0.0.1', '-p', String(port)], port, dir);
}

async function spawnServer(cmd: string, args: string[], port: number, dir: string): Promise<DavServer> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], cwd: dir });
  live.add(child);
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
  const until = Date.now() + 15_000;
  while (!(await listening(port))) {
    if (child.exitCode !== null) throw new Error(`${cmd} exited: ${stderr}`);
    if (Date.now() > until) {
      child.kill('SIGKILL');
      throw new Error(`${cmd} did not listen within 15 s: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url: `http://127.0.0.1:${port}`,
    dir,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(t);
      }
      live.delete(child);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createConnection({ port, host: '127.0.0.1' });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

export const basic = (user: keyof typeof USERS | string, password?: string): string =>
  `Basic ${Buffer.from(`${user}:${password ?? USERS[user as keyof typeof USERS]}`).toString('base64')}`;
