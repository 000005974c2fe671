/**
 * The instance's user-data, as a pure function of what it needs to know. It runs once, as
 * root, at first boot: schedule the hard stop, install Node, fetch the release, run the
 * loader as a systemd service logging to a file, and power off, also after any failure
 * (having uploaded the log, which then tells what went wrong).
 */
import { RESULT_NAMES } from '../runner/results.ts';
import { INSTANCE, RELEASE_FILES, RESULTS_PREFIX } from './layout.ts';

export type UserDataInput = {
  region: string;
  bucket: string;
  /** s3 key prefix of this release (bundle, package.json, params), ending in "/". */
  releasePrefix: string;
  timeLimitMinutes: number;
};

/** Node 20 as Amazon Linux 2023 packages it: namespaced executables, whatever `node` points at. */
export const NODE_PACKAGES = ['nodejs20', 'nodejs20-npm'] as const;
const NODE = 'node-20';
const NPM = 'npm-20';

export function userData({ region, bucket, releasePrefix, timeLimitMinutes }: UserDataInput): string {
  const { home, logDir, log, unitDir, service } = INSTANCE;
  const release = `s3://${bucket}/${releasePrefix}`;
  const logUri = `s3://${bucket}/${RESULTS_PREFIX}${RESULT_NAMES.log}`;
  const fetches = Object.values(RELEASE_FILES).map((f) => `aws s3 cp --only-show-errors "${release}${f}" "${home}/${f}"`);
  return `#!/bin/bash
# census-etl: one run of the loader on a fresh instance, then power off (the instance terminates).
set -euo pipefail

# The hard limit comes first: whatever happens next, the instance stops within it.
shutdown -h +${timeLimitMinutes}

mkdir -p ${logDir} ${home}
exec >>${log} 2>&1
echo "census-etl bootstrap: $(date -u +%FT%TZ)"
export AWS_REGION=${region} AWS_DEFAULT_REGION=${region}
loader_done=false

# On any exit: unless the loader published (its log included), upload this log, then power off.
finish() {
  local status=$?
  trap - EXIT
  if [[ $loader_done != true ]]; then
    echo "census-etl bootstrap failed (exit $status); uploading this log to ${logUri}"
    aws s3 cp --only-show-errors ${log} "${logUri}" || echo "log upload failed"
  fi
  shutdown -h now
}
trap finish EXIT

dnf install -y -q ${NODE_PACKAGES.join(' ')}
${fetches.join('\n')}
(cd ${home} && ${NPM} install --omit=dev --no-audit --no-fund --cache ${home}/.npm)

cat >${unitDir}/${service} <<'UNIT'
[Unit]
Description=census-etl loader (one run, then exit)

[Service]
Type=oneshot
Environment=AWS_REGION=${region}
WorkingDirectory=${home}
ExecStart=${NODE} ${home}/${RELEASE_FILES.bundle} run --params ${home}/${RELEASE_FILES.params}
# The loader writes its own lines to the log; its errors join them there.
StandardOutput=null
StandardError=append:${log}
UNIT
systemctl daemon-reload
systemctl start ${service}
loader_done=true
echo "census-etl bootstrap: loader finished and published; powering off"
`;
}
