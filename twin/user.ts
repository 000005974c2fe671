/**
 * The twin's user: a fresh clone of the project, and a shell that types the commands of
 * docs/aws.md in it (commands.ts), verbatim, with the settings a user would have exported.
 * Each command is logged as typed, with how it ended; its output goes to a transcript.
 */
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, chmodSync, copyFileSync, existsSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from '../infra/layout.ts';

/**
 * Copies the project as it is now into `into`: tracked files and untracked ones git does not
 * ignore (so uncommitted work is what is tested), not what ignored folders hold (cdktf.out,
 * state, caches). node_modules is hard-linked, not installed: the same packages `npm ci` would
 * give from the lock file, in a second instead of minutes; nothing in the journey writes there.
 */
export function cloneProject(into: string, from = ROOT): void {
  const files = ['ls-files', '-z', '--cached', '--others', '--exclude-standard'];
  const listed = spawnSync('git', files, { cwd: from, encoding: 'utf8' });
  if (listed.status !== 0) throw new Error(`git ls-files in ${from} failed: ${listed.stderr}`);
  for (const file of listed.stdout.split('\0').filter(Boolean)) {
    const source = path.join(from, file);
    if (!existsSync(source)) continue; // deleted in the working tree, not yet committed
    const target = path.join(into, file);
    mkdirSync(path.dirname(target), { recursive: true });
    copyFileSync(source, target);
    chmodSync(target, statSync(source).mode);
  }
  const modules = [path.join(from, 'node_modules'), path.join(into, 'node_modules')];
  const linked = spawnSync('cp', ['-al', ...modules], { encoding: 'utf8' });
  if (linked.status !== 0) throw new Error(`could not link node_modules into the clone: ${linked.stderr}`);
}

export type Typed = {
  command: string;
  status: number | null;
  output: string;
  ms: number;
  /** When each watched pattern first appeared in the output (epoch ms). */
  seen: Record<string, number>;
};

export class UserShell {
  constructor(
    /** The project folder the user works in. */
    readonly dir: string,
    private readonly env: NodeJS.ProcessEnv,
    private readonly transcript: string,
    private readonly log: (line: string) => void,
  ) {}

  /** `export NAME=value`, as the user changes a setting between two commands. */
  export(name: string, value: string): void {
    this.log(`$ export ${name}=${value}`);
    appendFileSync(this.transcript, `\n$ export ${name}=${value}\n`);
    this.env[name] = value;
  }

  /** Types `command` in the project folder; resolves when it ends, however it ends. */
  type(command: string, watch: Record<string, RegExp> = {}): Promise<Typed> {
    this.log(`$ ${command}`);
    appendFileSync(this.transcript, `\n$ ${command}\n`);
    const started = performance.now();
    const stdio = ['ignore', 'pipe', 'pipe'] as const;
    const child = spawn('bash', ['-c', command], { cwd: this.dir, env: this.env, stdio: [...stdio] });
    let output = '';
    const seen: Record<string, number> = {};
    const take = (chunk: Buffer) => {
      output += chunk;
      appendFileSync(this.transcript, chunk);
      for (const [name, pattern] of Object.entries(watch)) {
        if (!(name in seen) && pattern.test(output)) seen[name] = Date.now();
      }
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    return new Promise((resolve) =>
      child.on('close', (status) => {
        const ms = performance.now() - started;
        this.log(`  (exit ${status}, ${(ms / 1000).toFixed(1)} s)`);
        resolve({ command, status, output, ms, seen });
      }),
    );
  }
}
