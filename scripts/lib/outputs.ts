/**
 * The deployed stack's outputs, read from Terraform's state file (no terraform run needed),
 * where the stack's local backend puts it: config.ts resolves it for both.
 */
import { readFileSync } from 'node:fs';
import { ENV, stateFile } from '../../infra/config.ts';

export type StackOutputs = {
  /** The stack's region: where the bucket is, whatever AWS_REGION the user's shell has. */
  region: string;
  /** The deployed release (content hash); its runs' ids end with it. */
  release: string;
  /** When Terraform created the instance (ISO 8601): its run starts after that. */
  instance_created_at: string;
  time_limit_minutes: number;
  bucket: string;
  results_uri: string;
  instance_id: string;
  public_dns: string;
  instance_role_arn: string;
  ssh_command: string;
};

/** The outputs of the stack deployed from `project` (this project unless told). */
export function readOutputs(env: NodeJS.ProcessEnv = process.env, project?: string): StackOutputs {
  const file = stateFile(env, project);
  let state: { outputs?: Record<string, { value: string | number }> };
  try {
    state = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    throw new Error(
      `no deployed stack: cannot read ${file} (${why}); ` +
        `run \`npx cdktf deploy\` first, or set ${ENV.stateFile}`,
    );
  }
  const outputs = Object.fromEntries(Object.entries(state.outputs ?? {}).map(([k, v]) => [k, v.value]));
  if (!outputs.results_uri) throw new Error(`${file} holds no census-etl outputs: was the stack destroyed?`);
  return outputs as StackOutputs;
}
