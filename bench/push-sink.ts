import * as https from 'node:https';
import { issueServerCert } from '../test/support/test-ca';

/**
 * The benchmark's push service, in a process of its own: an RFC 8030 endpoint that answers 201
 * with a Location, as fast as Node can, and counts what it accepted. The full fake push service
 * (recording, validation, decryption in tests) would itself become the bottleneck being measured.
 * Prints `listening <port>`; on a stdin line `times` prints `times <json>` (epoch ms of every push
 * accepted on a `/push/lat-…` path since the last `times`, by path) and forgets them; on any other
 * line prints `count <n>`.
 */
const { key, cert } = issueServerCert(['localhost', '127.0.0.1', '::1']);
let count = 0;
let bytes = 0;
let arrivals: Record<string, number[]> = {};
const server = https.createServer({ key, cert, keepAlive: true, keepAliveTimeout: 30_000 }, (req, res) => {
  req.on('data', (c: Buffer) => (bytes += c.length));
  req.on('end', () => {
    const ok =
      req.method === 'POST' && req.headers.ttl !== undefined && req.headers['content-encoding'] === 'aes128gcm';
    if (ok) count++;
    if (ok && req.url?.startsWith('/push/lat-')) (arrivals[req.url] ??= []).push(Date.now());
    res.writeHead(ok ? 201 : 400, { location: `/message/${count}` }).end();
  });
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening ${(server.address() as { port: number }).port}\n`);
});
process.stdin.on('data', (line: Buffer) => {
  if (line.toString().trim() !== 'times') return void process.stdout.write(`count ${count} bytes ${bytes}\n`);
  process.stdout.write(`times ${JSON.stringify(arrivals)}\n`);
  arrivals = {};
});
