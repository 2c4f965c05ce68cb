import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** A throw-away Google service-account key file, shaped like the one the Firebase console hands out. */
export interface TestServiceAccount {
  file: string;
  dir: string;
  projectId: string;
  clientEmail: string;
  privateKeyId: string;
  /** For the fake's token endpoint: verifies the RS256 assertion. */
  publicKey: crypto.KeyObject;
  json: Record<string, string>;
  /** Writes another file next to this one (bad-credentials tests). */
  writeVariant(name: string, content: string): string;
  cleanup(): void;
}

export function createTestServiceAccount(projectId = 'davpush-test'): TestServiceAccount {
  const { publicKey, privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'davpush-fcm-sa-'));
  const privateKeyId = crypto.randomBytes(20).toString('hex');
  const clientEmail = `firebase-adminsdk-test@${projectId}.iam.gserviceaccount.com`;
  const json = {
    type: 'service_account',
    project_id: projectId,
    private_key_id: privateKeyId,
    private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    client_email: clientEmail,
    client_id: String(100_000_000_000_000_000_000n + BigInt(crypto.randomInt(1e9))),
    auth_uri: 'https://accounts.google.com/o/oauth2/auth',
    token_uri: 'https://oauth2.googleapis.com/token',
    auth_provider_x509_cert_url: 'https://www.googleapis.com/oauth2/v1/certs',
    client_x509_cert_url: `https://www.googleapis.com/robot/v1/metadata/x509/${encodeURIComponent(clientEmail)}`,
    universe_domain: 'googleapis.com',
  };
  const file = path.join(dir, 'service-account.json');
  fs.writeFileSync(file, JSON.stringify(json, null, 2), { mode: 0o600 });
  return {
    file,
    dir,
    projectId,
    clientEmail,
    privateKeyId,
    publicKey,
    json,
    writeVariant(name, content) {
      const p = path.join(dir, name);
      fs.writeFileSync(p, content, { mode: 0o600 });
      return p;
    },
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}
