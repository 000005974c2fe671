/**
 * An https:// server on loopback for source downloads, with a throwaway self-signed
 * certificate that child processes trust through NODE_EXTRA_CA_CERTS (the runner accepts
 * https only, and verifies certificates like any download).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { tempDir } from './fixtures.ts';

/** What the server does for a path: send these bytes, or misbehave. */
export type Route =
  | { body: Buffer }
  /**
   * Announces the whole length, sends `cutAfter` bytes, then drops the connection;
   * `times` times, then serves whole.
   */
  | { body: Buffer; cutAfter: number; times?: number }
  /** Sends only the first `truncateTo` bytes as if they were everything (a truncated upstream file). */
  | { body: Buffer; truncateTo: number }
  /** Accepts the request and never answers it. */
  | { silent: true }
  /** Sends the headers and `stallAfter` bytes, then nothing more, keeping the connection open. */
  | { body: Buffer; stallAfter: number }
  /** Sends the body slowly but steadily: `piece` bytes every `everyMs`. */
  | { body: Buffer; piece: number; everyMs: number };

export type SourceServer = {
  url: (file: string) => string;
  /** Environment that makes a child trust the server's certificate. */
  env: NodeJS.ProcessEnv;
  /** Requests received per path. */
  hits: Map<string, number>;
  close: () => Promise<void>;
};

function selfSigned(): { key: Buffer; cert: Buffer; certFile: string } {
  const dir = tempDir('census-etl-tls-');
  const [keyFile, certFile] = [path.join(dir, 'key.pem'), path.join(dir, 'cert.pem')];
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      keyFile,
      '-out',
      certFile,
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  return { key: readFileSync(keyFile), cert: readFileSync(certFile), certFile };
}

function serve(res: ServerResponse, route: Route, hit: number) {
  if ('silent' in route) return;
  if ('stallAfter' in route) {
    res.writeHead(200, { 'content-length': route.body.length });
    res.write(route.body.subarray(0, route.stallAfter));
  } else if ('piece' in route) {
    res.writeHead(200, { 'content-length': route.body.length });
    let at = 0;
    const next = () => {
      res.write(route.body.subarray(at, (at += route.piece)));
      if (at < route.body.length) setTimeout(next, route.everyMs);
      else res.end();
    };
    next();
  } else if ('cutAfter' in route && hit <= (route.times ?? Infinity)) {
    res.writeHead(200, { 'content-length': route.body.length });
    res.write(route.body.subarray(0, route.cutAfter), () => res.socket?.destroy());
  } else {
    const body = 'truncateTo' in route ? route.body.subarray(0, route.truncateTo) : route.body;
    res.writeHead(200, { 'content-length': body.length }).end(body);
  }
}

export async function startSourceServer(routes: Record<string, Route>): Promise<SourceServer> {
  const { key, cert, certFile } = selfSigned();
  const hits = new Map<string, number>();
  const server = createServer({ key, cert }, (req, res) => {
    const file = new URL(req.url!, 'https://x').pathname.slice(1);
    const hit = (hits.get(file) ?? 0) + 1;
    hits.set(file, hit);
    const route = routes[file];
    if (route) serve(res, route, hit);
    else res.writeHead(404).end('not found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (file) => `https://127.0.0.1:${port}/${file}`,
    env: { NODE_EXTRA_CA_CERTS: certFile },
    hits,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
