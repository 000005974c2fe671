/**
 * A deployed stack's state as Terraform itself writes it, where the stack's local backend puts
 * it: `terraform apply` of a configuration holding only the outputs, through the same backend
 * path the stack is synthesized with (config.ts's stateFile). No provider, no network.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { stateFile } from '../../infra/config.ts';
import { tempDir } from '../support/fixtures.ts';

/** Applies `outputs` into the state file that CENSUS_STATE_FILE in `env` names; returns its path. */
export function applyOutputs(env: NodeJS.ProcessEnv, outputs: Record<string, string>): string {
  const dir = tempDir('census-state-');
  const file = stateFile(env);
  const output = Object.fromEntries(Object.entries(outputs).map(([name, value]) => [name, { value }]));
  const config = { terraform: { backend: { local: { path: file } } }, output };
  writeFileSync(path.join(dir, 'main.tf.json'), JSON.stringify(config));
  const offline = { ...process.env, CHECKPOINT_DISABLE: '1' };
  for (const args of [['init'], ['apply', '-auto-approve']]) {
    const r = spawnSync('terraform', [...args, '-input=false'], { cwd: dir, env: offline, encoding: 'utf8' });
    assert.equal(r.status, 0, `terraform ${args[0]}: ${r.stdout}${r.stderr}`);
  }
  return file;
}
