import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PushApiModel } from 'web-push-testing/src/PushApiModel.js';
import WebPushTestingServer from 'web-push-testing/src/server.js';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { freePort } from '../e2e/harness';
import { processesMatching, ServiceProcess } from './service-process';

interface Subscription {
  endpoint: string;
  keys: { p256dh: string; auth: string };
  clientHash: string;
}

/**
 * A second opinion on what `davpush try` shows: web-push-testing (a mock push service from npm,
 * not ours) subscribes with davpush's VAPID key, checks the JWT with jsonwebtoken and decrypts with
 * http_ece. The real built service delivers to it.
 */
describe('a third-party push receiver (web-push-testing) gets what the real service sends', () => {
  let service: ServiceProcess;
  let receiver: WebPushTestingServer;
  let receiverUrl: string;

  beforeAll(async () => {
    const port = await freePort();
    receiver = new WebPushTestingServer(new PushApiModel(), port);
    receiver.startServer();
    receiverUrl = `http://localhost:${port}`;
    service = await ServiceProcess.start({
      env: { DAVPUSH_ALLOW_PRIVATE_PUSH_ENDPOINTS: '1', DAVPUSH_VAPID_SUBJECT: 'mailto:push@posteo.de' },
    });
  }, 60_000);

  afterAll(async () => {
    // The library keeps its http.Server there and offers no stop method (it is meant to run as a CLI).
    // oxlint-disable-next-line no-underscore-dangle
    receiver?._server.close();
    await service?.kill();
    ServiceProcess.removeDataDirs();
  });

  it('registers a web-push-testing subscription, posts an event, and the receiver decrypts the push-message', async () => {
    const post = async (url: string, body: unknown, token?: string) => {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify(body),
      });
      return { status: res.status, json: (await res.json().catch(() => undefined)) as Record<string, unknown> };
    };
    const admin = fs.readFileSync(path.join(service.dataDir, 'admin-token'), 'utf8').trim();
    const { apiKey } = (await post(`${service.baseUrl}/v1/tenants`, { name: 'third-party' }, admin)).json as {
      apiKey: string;
    };
    const vapid = String(service.banner()!.vapidPublicKey);

    // web-push-testing takes the options as the form fields a browser would send: strings.
    const sub = (await post(`${receiverUrl}/subscribe`, { userVisibleOnly: 'true', applicationServerKey: vapid })).json
      .data as Subscription;
    const b64url = (s: string) => Buffer.from(s, 'base64').toString('base64url');
    const reg = await post(
      `${service.baseUrl}/v1/topics/third-party-cal/registrations`,
      {
        subscription: {
          type: 'web-push',
          pushResource: sub.endpoint,
          publicKey: b64url(sub.keys.p256dh),
          authSecret: b64url(sub.keys.auth),
        },
      },
      apiKey,
    );
    expect(reg.status).toBe(201);
    expect(
      (
        await post(
          `${service.baseUrl}/v1/events`,
          { topic: 'third-party-cal', changes: ['content'], syncToken: 'https://cal.example.org/sync/7' },
          apiKey,
        )
      ).status,
    ).toBe(202);

    let messages: string[] = [];
    const until = Date.now() + 20_000;
    while (messages.length === 0 && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 200));
      messages = (
        (await post(`${receiverUrl}/get-notifications`, { clientHash: sub.clientHash })).json.data as {
          messages: string[];
        }
      ).messages;
    }
    expect(messages).toEqual([
      '<?xml version="1.0" encoding="UTF-8"?><push-message xmlns="https://bitfire.at/webdav-push" xmlns:D="DAV:"><topic>third-party-cal</topic><content-update><D:sync-token>https://cal.example.org/sync/7</D:sync-token></content-update></push-message>',
    ]);

    service.signal('SIGTERM');
    expect(await service.exitWithin(10_000)).toMatchObject({ code: 0 });
    expect(processesMatching(service.dataDir)).toEqual([]);
  }, 60_000);
});
