// For `npm run bench` only: the least a proxy written in Node.js can do, to
// show where the workshop proxy's cost per request comes from. One replica
// (TARGET=host:port), keep-alive connections to it, no balancing, no retries,
// no body held, no log. BARE=node: Node's http module alone; BARE=http-proxy-3:
// the library the workshop proxy is built on, with the proxy's agent and xfwd.
import { Agent, createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createProxyServer } from 'http-proxy-3';

const [host = '127.0.0.1', port = '8080'] = (process.env.TARGET ?? '').split(':');
const target = { host, port: Number(port) };
const agent = new Agent({ keepAlive: true });

function failed(res: ServerResponse): void {
  if (!res.headersSent) res.writeHead(502);
  res.end();
}

function nodeOnly(req: IncomingMessage, res: ServerResponse): void {
  const upstream = request(
    { ...target, method: req.method, path: req.url, headers: req.headers, agent },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    },
  );
  upstream.on('error', () => failed(res));
  req.pipe(upstream);
}

const proxy = createProxyServer({ agent, xfwd: true });
proxy.on('error', (_err, _req, res) => failed(res as ServerResponse));
const withHttpProxy = (req: IncomingMessage, res: ServerResponse) => proxy.web(req, res, { target });

const server = createServer(process.env.BARE === 'node' ? nodeOnly : withHttpProxy);
server.listen(0, '127.0.0.1', () => {
  console.log(`listening on port ${(server.address() as AddressInfo).port}`);
});
process.once('SIGTERM', () => process.exit(0));
