/** The deployed stack's outputs, read from Terraform's state file (no terraform run needed). */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ENV, stateFile } from './config.ts';
import { ROOT } from './layout.ts';

export type StackOutputs = {
  bucket: string;
  results_uri: string;
  instance_id: string;
  public_dns: string;
  instance_role_arn: string;
  ssh_command: string;
};

export function readOutputs(env: NodeJS.ProcessEnv = process.env): StackOutputs {
  const file = path.resolve(ROOT, stateFile(env));
  let state: { outputs?: Record<string, { value: string }> };
  try {
    state = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`no deployed stack: cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); run \`npx cdktf deploy\` first, or set ${ENV.stateFile}`);
  }
  const outputs = Object.fromEntries(Object.entries(state.outputs ?? {}).map(([k, v]) => [k, v.value]));
  if (!outputs.results_uri) throw new Error(`${file} holds no census-etl outputs: was the stack destroyed?`);
  return outputs as StackOutputs;
}
