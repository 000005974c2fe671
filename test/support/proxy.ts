/**
 * An HTTP proxy on loopback in front of a server (moto): it records every request, and makes
 * an S3 outage or a request that never gets an answer on demand, while the server behind
 * keeps its state (a restarted moto would forget its buckets).
 */
import { createServer, request, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { freePort } from '../../twin/moto.ts';

export type Fault = 'stall' | 'down';

/** A request as it reached the proxy: "PUT /bucket/key?x-id=PutObject", and when. */
export type Seen = { line: string; at: number };

export type Proxy = {
  endpoint: string;
  /** Every request received, in order (also those the proxy then failed). */
  seen: Seen[];
  /** Refuses new connections and cuts open ones, until `up()`. */
  down: () => Promise<void>;
  up: () => Promise<void>;
  /**
   * The next request whose line ("METHOD /path?query") matches `pattern` meets `fault`:
   * 'stall' holds it unanswered (the client waits), 'down' takes the proxy down as it
   * arrives. Resolves when it happens.
   */
  onRequest: (pattern: RegExp, fault: Fault) => Promise<void>;
  close: () => Promise<void>;
};

export async function startProxy(targetPort: number): Promise<Proxy> {
  const port = await freePort();
  const sockets = new Set<Socket>();
  const seen: Seen[] = [];
  let rule: { pattern: RegExp; fault: Fault; happened: () => void } | null = null;
  let server: Server | null = null;

  const proxy: Proxy = {
    endpoint: `http://127.0.0.1:${port}`,
    seen,
    up: () =>
      new Promise((resolve, reject) => {
        server = createServer((req, res) => {
          const line = `${req.method} ${req.url}`;
          seen.push({ line, at: Date.now() });
          if (rule && rule.pattern.test(line)) {
            const { fault, happened } = rule;
            rule = null;
            happened();
            if (fault === 'down') void proxy.down();
            return; // stalled: never forwarded, never answered
          }
          const upstream = request(
            { host: '127.0.0.1', port: targetPort, method: req.method, path: req.url, headers: req.headers },
            (answer) => {
              res.writeHead(answer.statusCode!, answer.headers);
              answer.pipe(res);
            },
          );
          upstream.on('error', () => res.destroy());
          req.pipe(upstream);
        });
        server.on('connection', (s: Socket) => {
          sockets.add(s);
          s.on('close', () => sockets.delete(s));
        });
        server.once('error', reject);
        server.listen(port, '127.0.0.1', () => resolve());
      }),
    down: () =>
      new Promise((resolve) => {
        const s = server;
        server = null;
        for (const socket of sockets) socket.destroy();
        if (!s) return resolve();
        s.close(() => resolve());
      }),
    onRequest: (pattern, fault) => new Promise((happened) => (rule = { pattern, fault, happened })),
    close: () => proxy.down(),
  };
  await proxy.up();
  return proxy;
}
