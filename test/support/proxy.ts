/**
 * A TCP proxy on loopback in front of a server (moto): an S3 outage or a request that never
 * gets an answer, on demand, while the server behind keeps its state (a restarted moto
 * would forget its buckets).
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { freePort } from '../../infra/moto.ts';

export type Fault = 'stall' | 'down';

export type Proxy = {
  endpoint: string;
  /** Refuses new connections and cuts open ones, until `up()`. */
  down: () => Promise<void>;
  up: () => Promise<void>;
  /**
   * The next request whose bytes match `pattern` meets `fault`: 'stall' holds it unanswered
   * (the client waits), 'down' takes the proxy down as it arrives. Resolves when it happens.
   */
  onRequest: (pattern: RegExp, fault: Fault) => Promise<void>;
  close: () => Promise<void>;
};

export async function startProxy(targetPort: number): Promise<Proxy> {
  const port = await freePort();
  const sockets = new Set<Socket>();
  let rule: { pattern: RegExp; fault: Fault; happened: () => void } | null = null;
  let server: Server | null = null;

  const track = (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => s.destroy());
  };

  const handle = (client: Socket) => {
    const upstream = connect(targetPort, '127.0.0.1');
    track(client);
    track(upstream);
    let stalled = false;
    client.on('data', (chunk) => {
      if (rule && rule.pattern.test(chunk.toString('latin1'))) {
        const { fault, happened } = rule;
        rule = null;
        happened();
        if (fault === 'down') return void proxy.down();
        stalled = true;
      }
      if (!stalled) upstream.write(chunk);
    });
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  };

  const proxy: Proxy = {
    endpoint: `http://127.0.0.1:${port}`,
    up: () =>
      new Promise((resolve, reject) => {
        server = createServer(handle);
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
