/**
 * npm run rerun: a new run of the deployed release, on a new instance, leaving no setting
 * behind (a setting that had to stay set would start another run the day it was unset). It is
 * `terraform apply -replace=<the instance>` in the synthesized stack, after the same synth a
 * deploy does: with unchanged settings, replacing the instance is the only change. `--new-ami`
 * also looks up the latest Amazon Linux 2023 image again (else the first deploy's is kept).
 * Other arguments go to terraform apply (e.g. `npm run rerun -- --auto-approve`).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT, STACK_NAME } from '../../infra/layout.ts';

const STACK_DIR = path.join(ROOT, 'cdktf.out', 'stacks', STACK_NAME);

type StackJson = { resource: Record<string, Record<string, { '//'?: { metadata?: { path?: string } } }>> };

/** Terraform addresses of the resources whose construct path ends with `suffix`. */
export function addressesOf(stack: StackJson, suffix: string): string[] {
  return Object.entries(stack.resource).flatMap(([type, resources]) =>
    Object.entries(resources)
      .filter(([, r]) => r['//']?.metadata?.path?.endsWith(suffix))
      .map(([name]) => `${type}.${name}`),
  );
}

function run(command: string, args: string[], cwd: string): void {
  process.stderr.write(`rerun: ${command} ${args.join(' ')}\n`);
  const r = spawnSync(command, args, { cwd, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

/** What to replace: the instance (a new run), and with --new-ami the AMI kept since the first deploy. */
export const replaced = (stack: StackJson, newAmi: boolean) => [
  ...addressesOf(stack, '/loader/instance'),
  ...(newAmi ? addressesOf(stack, '/loader/ami') : []),
];

export function main(args: string[]): void {
  run('npx', ['cdktf', 'synth'], ROOT);
  const stack = JSON.parse(readFileSync(path.join(STACK_DIR, 'cdk.tf.json'), 'utf8')) as StackJson;
  const replace = replaced(stack, args.includes('--new-ami')).map((a) => `-replace=${a}`);
  run('terraform', ['init', '-input=false'], STACK_DIR);
  run('terraform', ['apply', ...replace, ...args.filter((a) => a !== '--new-ami')], STACK_DIR);
  process.stderr.write('rerun: a new instance runs the same release; npm run logs follows its run\n');
}
