import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * The admin token: DAVPUSH_ADMIN_TOKEN if set, else generated once into <dataDir>/admin-token
 * (mode 600) and reused. Created with O_EXCL so two processes starting together agree.
 */
export function ensureAdminToken(dataDir: string, configured?: string): { token: string; file?: string } {
  if (configured) return { token: configured };
  const file = path.join(dataDir, 'admin-token');
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  try {
    fs.writeFileSync(file, `${randomBytes(32).toString('base64url')}\n`, { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const token = fs.readFileSync(file, 'utf8').trim();
  if (token.length < 32) throw new Error(`${file} holds no valid admin token; delete it to generate a new one`);
  return { token, file };
}
