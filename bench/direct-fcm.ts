import * as fs from 'node:fs';
import * as path from 'node:path';
import { initializeApp, deleteApp } from 'firebase-admin/app';
import { getMessaging, type Message } from 'firebase-admin/messaging';
import { DIST } from './lib';

/**
 * Baseline process: firebase-admin's `sendEach` called directly in batches of 500, routed to the
 * same local FCM and authenticated the same way as davpush's gateway (our endpoint credential and
 * agent, required from the build). argv: messages JSON file, service-account file, endpoint.
 */
async function main(): Promise<void> {
  const [file, accountFile, endpoint] = process.argv.slice(2);
  const fcm = require(path.join(DIST, 'libs/gateways/src/fcm/index.js'));
  const { endpointRoute } = require(path.join(DIST, 'libs/gateways/src/fcm/fcm-endpoint.js'));
  const messages = JSON.parse(fs.readFileSync(file!, 'utf8')) as Message[];
  const account = fcm.loadServiceAccount(accountFile!);
  const route = endpointRoute(endpoint!);
  const app = initializeApp(
    {
      projectId: account.projectId,
      httpAgent: route.agent,
      credential: new fcm.EndpointTokenCredential(account, route.tokenUrl, route.agent, new fcm.CredentialHealth()),
    },
    'bench-direct',
  );
  const messaging = getMessaging(app);
  messaging.enableLegacyHttpTransport();
  await messaging.sendEach(messages.slice(0, 1)); // token exchange and connection, not timed
  const started = performance.now();
  let failed = 0;
  for (let i = 0; i < messages.length; i += 500)
    failed += (await messaging.sendEach(messages.slice(i, i + 500))).failureCount;
  const ms = performance.now() - started;
  await deleteApp(app);
  process.stdout.write(`done ${ms} failed ${failed}\n`);
}

void main().catch((err: Error) => {
  process.stderr.write(`${err.stack}\n`);
  process.exit(1);
});
