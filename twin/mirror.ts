/**
 * Terraform without the registry, for the twin and the tests on machines with no internet: a
 * CLI config (TF_CLI_CONFIG_FILE) whose only provider source is a local filesystem mirror,
 * generated at run time so that no path of one machine is committed. A user with internet
 * access never needs it.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';

/** The mirror folder: TWIN_PROVIDER_MIRROR, else where these development machines keep it. */
export const providerMirror = (env: NodeJS.ProcessEnv = process.env) =>
  env.TWIN_PROVIDER_MIRROR || '/opt/tf-plugins';

/** Writes the CLI config into `dir`; the environment that makes Terraform use it and stay offline. */
export function offlineTerraformEnv(dir: string, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const file = path.join(dir, 'terraform-offline.tfrc');
  const config = [
    'provider_installation {',
    '  filesystem_mirror {',
    `    path    = ${JSON.stringify(providerMirror(env))}`,
    '    include = ["registry.terraform.io/*/*"]',
    '  }',
    '}',
  ];
  writeFileSync(file, `${config.join('\n')}\n`);
  // CHECKPOINT_DISABLE: no version check, which could only time out here.
  return { TF_CLI_CONFIG_FILE: file, CHECKPOINT_DISABLE: '1' };
}
