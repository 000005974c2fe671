/** Runs the real CLI in a child process, as a user would. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { ROOT } from '../../infra/layout.ts';

/** The project folder, and the real dataset (tests and CI set CENSUS_DATA_DIR). */
export { ROOT } from '../../infra/layout.ts';
export { DEV_DATA_DIR as DATA_DIR } from '../../scripts/lib/dev-data.ts';

const CLI = path.join(ROOT, 'runner/cli.ts');

/** `census-etl run` on the files in `dir`, into `db`, logging to `log`: the tests' usual run. */
export const runArgs = (o: { dir: string; db: string; log: string; batchSize: number }): string[] => [
  'run',
  '--batch-size',
  String(o.batchSize),
  '--data-dir',
  o.dir,
  '--db',
  o.db,
  '--log',
  o.log,
];

export type CliResult = { code: number | null; stdout: string; stderr: string };

export function runCli(args: string[], env: NodeJS.ProcessEnv = {}, cwd = ROOT): CliResult {
  const r = spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], {
    cwd,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 300_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function startCli(args: string[], env: NodeJS.ProcessEnv = {}, cwd = ROOT): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Resolves with the exit code and output of a started child. */
export function finished(child: ChildProcess): Promise<CliResult & { signal: NodeJS.Signals | null }> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d) => (stdout += d));
  child.stderr?.on('data', (d) => (stderr += d));
  return new Promise((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
}
