/**
 * npm run logs: ssh to the loader instance and follow its log (tail -F waits for the file
 * while the instance is still installing). Extra arguments go to ssh, e.g.
 * `npm run logs -- -i ~/.ssh/census.pem`.
 */
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { readOutputs } from '../infra/outputs.ts';
import { INSTANCE } from '../infra/layout.ts';

/** The ssh command line: user@host from the stack outputs, the log path from the layout. */
export function sshArgs(publicDns: string, extra: string[]): string[] {
  return [...extra, `${INSTANCE.sshUser}@${publicDns}`, 'tail', '-n', '+1', '-F', INSTANCE.log];
}

function main(): number {
  let outputs;
  try {
    outputs = readOutputs();
  } catch (e) {
    process.stderr.write(`logs: ${(e as Error).message}\n`);
    return 1;
  }
  if (outputs.ssh_command.startsWith('none')) {
    process.stderr.write(`logs: the stack allows no SSH (${outputs.ssh_command}); redeploy with them, or wait for npm run sync\n`);
    return 1;
  }
  if (!outputs.public_dns) {
    process.stderr.write(`logs: instance ${outputs.instance_id} has no public DNS name (terminated, or no public IP)\n`);
    return 1;
  }
  return spawnSync('ssh', sshArgs(outputs.public_dns, process.argv.slice(2)), { stdio: 'inherit' }).status ?? 1;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) process.exitCode = main();
