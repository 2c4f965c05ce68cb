import * as https from 'node:https';
import { issueServerCert } from '../test/support/test-ca';

/**
 * The benchmark's push service, in a process of its own: an RFC 8030 endpoint that answers 201
 * with a Location, as fast as Node can, and counts what it accepted. The full fake push service
 * (recording, validation, decryption in tests) would itself become the bottleneck being measured.
 * Prints `listening <port>`; on any stdin line prints `count <n>`.
 */
const { key, cert } = issueServerCert(['localhost', '127.0.0.1', '::1']);
let count = 0;
let bytes = 0;
const server = https.createServer({ key, cert, keepAlive: true, keepAliveTimeout: 30_000 }, (req, res) => {
  req.on('data', (c: Buffer) => (bytes += c.length));
  req.on('end', () => {
    const ok = req.method === 'POST' && req.headers.ttl !== undefined && req.headers['content-encoding'] === 'aes128gcm';
    if (ok) count++;
    res.writeHead(ok ? 201 : 400, { location: `/message/${count}` }).end();
  });
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening ${(server.address() as { port: number }).port}\n`);
});
process.stdin.on('data', () => process.stdout.write(`count ${count} bytes ${bytes}\n`));
