import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * A throw-away certificate authority for local TLS in tests (fake push services, fake FCM).
 *
 * Synchronous on purpose: vitest.config.ts calls it before Vitest forks its workers, so that
 * NODE_EXTRA_CA_CERTS (read by Node only at process start) can point at the CA certificate.
 * Everything is cached under `os.tmpdir()/davpush-test-ca-v1/`; each artefact is generated in a
 * private temp dir and renamed into place, so two processes racing end up sharing one winner.
 */
export interface TestCa {
  caCertPath: string;
  caCert: string;
  dir: string;
}

const CA_DIR = path.join(os.tmpdir(), 'davpush-test-ca-v1');
const CA_FILES = ['ca.key', 'ca.pem'] as const;
const LEAF_FILES = ['key.pem', 'cert.pem'] as const;
const DAYS = '3650';

let cached: TestCa | undefined;

export function ensureTestCa(): TestCa {
  if (cached && fs.existsSync(cached.caCertPath)) return cached;
  materialise(CA_DIR, CA_FILES, (tmp) => {
    const cnf = path.join(tmp, 'ca.cnf');
    fs.writeFileSync(
      cnf,
      [
        '[req]',
        'distinguished_name = dn',
        'prompt = no',
        'x509_extensions = v3_ca',
        '[dn]',
        'CN = davpush test CA (throw-away)',
        '[v3_ca]',
        'basicConstraints = critical,CA:TRUE',
        'keyUsage = critical,keyCertSign,cRLSign',
        'subjectKeyIdentifier = hash',
        '',
      ].join('\n'),
    );
    const key = path.join(tmp, 'ca.key');
    openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key]);
    openssl([
      'req',
      '-x509',
      '-new',
      '-config',
      cnf,
      '-key',
      key,
      '-sha256',
      '-days',
      DAYS,
      '-set_serial',
      serial(),
      '-out',
      path.join(tmp, 'ca.pem'),
    ]);
    fs.rmSync(cnf);
  });
  const caCertPath = path.join(CA_DIR, 'ca.pem');
  cached = { caCertPath, caCert: fs.readFileSync(caCertPath, 'utf8'), dir: CA_DIR };
  return cached;
}

/**
 * A server certificate signed by the test CA, with subjectAltName for `names` (IP addresses as
 * `IP:`, everything else as `DNS:`). Cached on disk by a hash of the sorted names.
 */
export function issueServerCert(names: string[] = ['localhost', '127.0.0.1', '::1']): { key: string; cert: string } {
  if (names.length === 0) throw new Error('issueServerCert: give at least one DNS name or IP address');
  const ca = ensureTestCa();
  const sorted = [...new Set(names)].toSorted();
  const hash = crypto.createHash('sha256').update(sorted.join('\n')).digest('hex').slice(0, 16);
  const dir = path.join(ca.dir, `leaf-${hash}`);
  materialise(dir, LEAF_FILES, (tmp) => {
    const san = [
      ...sorted.filter((n) => !net.isIP(n)).map((n) => `DNS:${n}`),
      ...sorted.filter((n) => net.isIP(n)).map((n) => `IP:${n}`),
    ].join(',');
    const cnf = path.join(tmp, 'leaf.cnf');
    fs.writeFileSync(
      cnf,
      [
        '[req]',
        'distinguished_name = dn',
        'prompt = no',
        '[dn]',
        `CN = ${sorted.find((n) => !net.isIP(n)) ?? sorted[0]}`,
        '[leaf]',
        'basicConstraints = critical,CA:FALSE',
        'keyUsage = critical,digitalSignature',
        'extendedKeyUsage = serverAuth',
        'subjectKeyIdentifier = hash',
        'authorityKeyIdentifier = keyid',
        `subjectAltName = ${san}`,
        '',
      ].join('\n'),
    );
    const key = path.join(tmp, 'key.pem');
    const csr = path.join(tmp, 'leaf.csr');
    openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key]);
    openssl(['req', '-new', '-config', cnf, '-key', key, '-out', csr]);
    openssl([
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      ca.caCertPath,
      '-CAkey',
      path.join(ca.dir, 'ca.key'),
      '-set_serial',
      serial(),
      '-days',
      DAYS,
      '-sha256',
      '-extfile',
      cnf,
      '-extensions',
      'leaf',
      '-out',
      path.join(tmp, 'cert.pem'),
    ]);
    fs.rmSync(cnf);
    fs.rmSync(csr);
  });
  return {
    key: fs.readFileSync(path.join(dir, 'key.pem'), 'utf8'),
    cert: fs.readFileSync(path.join(dir, 'cert.pem'), 'utf8'),
  };
}

/** Makes `dir` hold `files`, generating them with `build(tmpDir)` unless they already exist. */
function materialise(dir: string, files: readonly string[], build: (tmp: string) => void): void {
  const complete = () => files.every((f) => fs.existsSync(path.join(dir, f)));
  if (complete()) return;
  if (fs.existsSync(dir)) {
    // Half-written or damaged by hand: move it aside atomically, then delete it.
    const stale = `${dir}.stale-${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
    try {
      fs.renameSync(dir, stale);
      fs.rmSync(stale, { recursive: true, force: true });
    } catch {
      // Another process got there first.
    }
    if (complete()) return;
  }
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  const tmp = fs.mkdtempSync(`${dir}.tmp-`);
  try {
    build(tmp);
    try {
      fs.renameSync(tmp, dir);
    } catch (err) {
      // Lost the race: another process renamed its own result into place.
      if (!complete()) throw err;
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

function openssl(args: string[]): void {
  try {
    execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: Buffer };
    if (e.code === 'ENOENT')
      throw new Error(
        'openssl was not found on PATH; the test CA needs it (Debian/Ubuntu: `apt-get install openssl`).',
        { cause: err },
      );
    throw new Error(`openssl ${args[0]} failed: ${e.stderr?.toString().trim() || e.message}`, { cause: err });
  }
}

function serial(): string {
  return `0x${crypto
    .randomBytes(16)
    .toString('hex')
    .replace(/^[89a-f]/, '1')}`;
}
