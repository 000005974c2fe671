/**
 * The twin's EC2 instance: runs a user-data script the way a fresh Amazon Linux 2023 instance
 * does, and as bare. In private mount and network namespaces: /opt, /var/log and
 * /etc/systemd/system are scratch folders, /run a fresh tmpfs; the only network is loopback,
 * where one relay reaches the S3 endpoint (moto), another the database if there is one (its
 * host name in /etc/hosts), and nothing else answers, not the npm registry, not GitHub.
 * On PATH, before the system's: shims for what cannot exist here (dnf, systemctl, shutdown)
 * and for what AL2023 lacks (cc, gcc, g++, c++, make, node-gyp; node, npm, npx before dnf
 * installs a Node), which fail loudly naming what was attempted.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  realpathSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { INSTANCE, ROOT } from '../infra/layout.ts';

const SHIMS = path.join(ROOT, 'twin', 'shims');
const FORWARD = path.join(ROOT, 'twin', 'forward.mjs');
/** Installed as each of these names: what a fresh AL2023 instance does not have. */
const ABSENT = ['cc', 'gcc', 'g++', 'c++', 'make', 'node-gyp', 'node', 'npm', 'npx'];
/** root's PATH on Amazon Linux 2023. */
const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** The instance's folders, replaced by scratch folders of the boot. */
const MOUNTS = { opt: '/opt', log: '/var/log', units: INSTANCE.unitDir } as const;
const NODE_MAJOR = '24';

const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;

/**
 * A real Node 24, for the dnf shim's nodejs24: this process's node if it is a 24, else
 * installed from the npm registry into .cache/node24 as .ci/run does (before the boot, which
 * has no network).
 */
export function node24(): string {
  if (process.versions.node.split('.')[0] === NODE_MAJOR) return process.execPath;
  const dir = path.join(ROOT, '.cache', `node${NODE_MAJOR}`);
  const bin = path.join(dir, 'node_modules', '.bin', 'node');
  if (!existsSync(bin)) {
    const args = ['install', '--prefix', dir, '--no-audit', '--no-fund', `node@${NODE_MAJOR}`];
    const r = spawnSync('npm', args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`could not install Node ${NODE_MAJOR} for the twin: ${r.stderr}`);
  }
  return realpathSync(bin);
}

/** npm's own CLI script on this machine: what nodejs24-npm's npm-24 runs with node-24. */
function npmCli(): string {
  const r = spawnSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' });
  return r.status === 0 ? realpathSync(r.stdout.trim()) : '';
}

export type BootSettings = {
  /** Scratch folder of this boot (its /opt, /var/log, unit folder, shims, console). */
  dir: string;
  userData: string;
  /** The instance's AWS environment: the role's credentials (IMDS on AWS) and the S3 endpoint. */
  aws: NodeJS.ProcessEnv;
  /** Port of the S3 endpoint on 127.0.0.1 that the instance may reach; null: no route at all. */
  s3Port: number | null;
  /**
   * A database the instance reaches at `host`:`port` (its /etc/hosts says 127.0.0.1), served on
   * this machine's 127.0.0.1:`serverPort`; null or absent: none.
   */
  database?: { host: string; port: number; serverPort: number } | null;
  /** The hard limit: the boot is killed then, whatever it is doing. */
  timeLimitMs: number;
  /** Patterns to time in the instance's log (first match, ms after the boot started). */
  watch?: Record<string, RegExp>;
  /** More shims (name → script), for tests that play a different machine. */
  extraShims?: Record<string, string>;
  /**
   * Fires the loader's watchdog (the unit's TimeoutStartSec) after this many seconds, if that
   * is sooner than the unit says: like fast-forwarding the clock; stricter, never later.
   */
  watchdogSeconds?: number;
};

export type BootOutcome = {
  /** "powered off" when shutdown -h now ran, else how the boot ended. */
  ended: string;
  /** Shim calls in order: "shutdown -h +30", "dnf install ...", "gcc ...", "shutdown -h now". */
  calls: string[];
  /** The loader's log file on the instance. */
  log: string;
  /** What the boot wrote before the user-data redirected its output (EC2's console output). */
  console: string;
  /** When each watched pattern first appeared in the log, in ms after the boot started. */
  milestones: Record<string, number>;
  /** When the boot started (epoch ms), and how long it lasted. */
  started: number;
  ms: number;
};

function installShims(bin: string, extra: Record<string, string>): void {
  mkdirSync(bin, { recursive: true });
  const install = (name: string, from: string) => {
    copyFileSync(from, path.join(bin, name));
    chmodSync(path.join(bin, name), 0o755);
  };
  for (const shim of readdirSync(SHIMS).filter((f) => f !== 'absent')) install(shim, path.join(SHIMS, shim));
  for (const name of ABSENT) install(name, path.join(SHIMS, 'absent'));
  // AL2023 comes with the AWS CLI: this machine's, with the PATH and HOME it was installed for.
  const host = `PATH=${quote(process.env.PATH ?? '')} HOME=${quote(process.env.HOME ?? '/root')}`;
  writeFileSync(path.join(bin, 'aws'), `#!/bin/sh\n${host} exec aws "$@"\n`, { mode: 0o755 });
  for (const [name, text] of Object.entries(extra)) {
    writeFileSync(path.join(bin, name), text, { mode: 0o755 });
  }
}

/** A relay started as a child process; resolves once it listens. */
function relay(listen: string, connect: string, node = process.execPath): Promise<ChildProcess> {
  const child = spawn(node, [FORWARD, listen, connect], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.stdout!.once('data', () => resolve(child));
    child.once('exit', (code) => reject(new Error(`the relay ${listen} → ${connect} exited (${code})`)));
  });
}

/** Runs the user-data as the instance's first boot; resolves when it powers off, dies or runs out of time. */
export async function bootInstance(settings: BootSettings): Promise<BootOutcome> {
  const { dir, s3Port } = settings;
  for (const target of Object.values(MOUNTS)) {
    if (!existsSync(target)) {
      throw new Error(`the twin mounts a scratch folder over ${target}, which this machine lacks`);
    }
  }
  for (const sub of Object.keys(MOUNTS)) mkdirSync(path.join(dir, sub), { recursive: true });
  const bin = path.join(dir, 'bin');
  installShims(bin, settings.extraShims ?? {});
  const script = path.join(dir, 'user-data');
  writeFileSync(script, settings.userData);
  const calls = path.join(dir, 'calls');
  writeFileSync(calls, '');
  const consoleFile = path.join(dir, 'console');
  // Each route: a relay inside the namespace, listening where the instance looks, to a socket,
  // and one outside, from that socket to the server on this machine.
  const routes = [
    ...(s3Port === null ? [] : [{ name: 'S3', listen: s3Port, serverPort: s3Port }]),
    ...(settings.database
      ? [{ name: 'database', listen: settings.database.port, ...settings.database }]
      : []),
  ].map((r) => ({
    ...r,
    socket: path.join(dir, `${r.name}.sock`),
    ready: path.join(dir, `${r.name}.ready`),
  }));
  const hosts = path.join(dir, 'hosts');
  if (settings.database) {
    writeFileSync(hosts, `127.0.0.1 localhost\n::1 localhost\n127.0.0.1 ${settings.database.host}\n`);
  }

  const setup = [
    'set -e',
    ...Object.entries(MOUNTS).map(([sub, target]) => `mount --bind ${quote(path.join(dir, sub))} ${target}`),
    // A fresh /run, tmpfs as on Amazon Linux 2023; and the database's name, if any.
    'mount -t tmpfs -o mode=755 tmpfs /run',
    ...(settings.database ? [`mount --bind ${quote(hosts)} /etc/hosts`] : []),
    'ip link set lo up',
    ...routes.flatMap((r) => [
      `${quote(process.execPath)} ${quote(FORWARD)} 127.0.0.1:${r.listen} ${quote(r.socket)} \\`,
      `  >${quote(r.ready)} &`,
      `for _ in $(seq 100); do [[ -s ${quote(r.ready)} ]] && break; sleep 0.05; done`,
      `[[ -s ${quote(r.ready)} ]] || { echo "twin: the ${r.name} relay did not start" >&2; exit 1; }`,
    ]),
    'cd /',
    `exec bash ${quote(script)}`,
  ].join('\n');
  // Only what an instance has: its PATH (shims first), an empty home (no npm cache to fall
  // back on when the registry is unreachable: a fresh instance has none), its AWS environment.
  const home = path.join(dir, 'root');
  mkdirSync(home);
  const env: NodeJS.ProcessEnv = {
    PATH: `${bin}:${SYSTEM_PATH}`,
    HOME: home,
    LANG: 'C.UTF-8',
    ...settings.aws,
    TWIN_CALLS: calls,
    TWIN_NODE24: node24(),
    TWIN_NPM_CLI: npmCli(),
    ...(settings.watchdogSeconds ? { TWIN_WATCHDOG_SECONDS: String(settings.watchdogSeconds) } : {}),
  };

  const outside = await Promise.all(routes.map((r) => relay(r.socket, `127.0.0.1:${r.serverPort}`)));
  const startedAt = Date.now();
  const started = performance.now();
  const milestones: Record<string, number> = {};
  const logFile = path.join(dir, 'log', path.relative('/var/log', INSTANCE.log));
  const readLog = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
  const look = () => {
    const log = readLog();
    for (const [name, pattern] of Object.entries(settings.watch ?? {})) {
      if (!(name in milestones) && pattern.test(log)) milestones[name] = performance.now() - started;
    }
  };
  const watch = setInterval(look, 200);
  const consoleFd = openSync(consoleFile, 'w');
  try {
    const asRoot = process.getuid?.() === 0 ? [] : ['--map-root-user'];
    const namespaces = ['--mount', '--net', '--propagation', 'private', ...asRoot];
    const child = spawn('unshare', [...namespaces, 'bash', '-c', setup], {
      env,
      detached: true,
      stdio: ['ignore', consoleFd, consoleFd],
    });
    let timedOut = false;
    const limit = setTimeout(() => {
      timedOut = true;
      process.kill(-child.pid!, 'SIGKILL');
    }, settings.timeLimitMs);
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
      child.on('close', (c, s) => resolve([c, s])),
    );
    clearTimeout(limit);
    look();
    const callList = readFileSync(calls, 'utf8').split('\n').filter(Boolean);
    const poweredOff = signal === 'SIGTERM' && callList.at(-1) === 'shutdown -h now';
    return {
      ended: poweredOff
        ? 'powered off'
        : timedOut
          ? 'killed by the time limit'
          : signal
            ? `killed by ${signal}`
            : `exited with ${code}`,
      calls: callList,
      log: readLog(),
      console: readFileSync(consoleFile, 'utf8'),
      milestones,
      started: startedAt,
      ms: performance.now() - started,
    };
  } finally {
    clearInterval(watch);
    closeSync(consoleFd);
    for (const child of outside) child.kill();
  }
}
