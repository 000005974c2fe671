/**
 * A real S3 (and EC2/IAM/STS/SSM) server on loopback: moto_server on a free port,
 * for the tests and the AWS twin.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export type Moto = {
  endpoint: string;
  port: number;
  env: NodeJS.ProcessEnv;
  stop: () => Promise<void>;
  restart: () => Promise<void>;
};

async function waitReady(endpoint: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(`${endpoint}/moto-api/`);
      if (res.status < 500) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline)
      throw new Error(`moto_server at ${endpoint} did not start within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Starts moto_server; `env` holds the standard AWS settings that point any AWS client at it.
 * `extraEnv` reaches moto itself (e.g. INITIAL_NO_AUTH_ACTION_COUNT to enforce IAM).
 */
export async function startMoto(extraEnv: NodeJS.ProcessEnv = {}, port?: number): Promise<Moto> {
  const p = port ?? (await freePort());
  const endpoint = `http://127.0.0.1:${p}`;
  let child: ChildProcess;
  const launch = async () => {
    child = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(p)], {
      env: { ...process.env, ...extraEnv },
      stdio: 'ignore',
    });
    await waitReady(endpoint);
  };
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  await launch();
  return {
    endpoint,
    port: p,
    env: {
      AWS_ENDPOINT_URL: endpoint,
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      AWS_REGION: 'us-east-1',
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_EC2_METADATA_DISABLED: 'true',
    },
    stop,
    restart: async () => {
      await stop();
      await launch();
    },
  };
}
