/**
 * The instance's user-data, as a pure function of what it needs to know. It runs once, as
 * root, at first boot: schedule the hard stop, check the machine is the architecture the
 * release's native addon was built for, install Node 24, fetch the release (nothing else is
 * downloaded, nothing is compiled), run the loader as a systemd service logging to a file,
 * and power off, also after any failure (having uploaded the log, which then tells why).
 */
import { RESULT_NAMES } from '../runner/results.ts';
import { ARCHITECTURES, type Architecture } from './architecture.ts';
import { INSTANCE, RELEASE_FILES, RESULTS_PREFIX } from './layout.ts';

export type UserDataInput = {
  region: string;
  bucket: string;
  /** s3 key prefix of this release (RELEASE_FILES), ending in "/". */
  releasePrefix: string;
  /** The architecture the release's native addon is built for. */
  architecture: Architecture;
  timeLimitMinutes: number;
};

/** Node 24 LTS as Amazon Linux 2023 packages it: a namespaced executable, whatever `node` is. */
export const NODE_PACKAGE = 'nodejs24';
const NODE = 'node-24';

export function userData(input: UserDataInput): string {
  const { region, bucket, releasePrefix, architecture, timeLimitMinutes } = input;
  const { home, logDir, log, unitDir, service } = INSTANCE;
  const release = `s3://${bucket}/${releasePrefix}`;
  const logUri = `s3://${bucket}/${RESULTS_PREFIX}${RESULT_NAMES.log}`;
  const fetches = Object.values(RELEASE_FILES).map((f) => `aws s3 cp --only-show-errors "${release}${f}" "${home}/${f}"`);
  const { uname, prebuild } = ARCHITECTURES[architecture];
  return `#!/bin/bash
# census-etl: one run of the loader on a fresh instance, then power off (the instance terminates).
set -euo pipefail

# The hard limit comes first: whatever happens next, the instance stops within it.
shutdown -h +${timeLimitMinutes}

mkdir -p ${logDir} ${home}
exec >>${log} 2>&1
step() { echo "census-etl bootstrap: $(date -u +%FT%T.%3NZ) $*"; }
step "starting on $(uname -m)"
export AWS_REGION=${region} AWS_DEFAULT_REGION=${region}
loader_done=false

# On any exit: unless the loader published (its log included), upload this log, then power off.
finish() {
  local status=$?
  trap - EXIT
  if [[ $loader_done != true ]]; then
    step "failed (exit $status); uploading this log to ${logUri}"
    aws s3 cp --only-show-errors ${log} "${logUri}" || echo "log upload failed"
  fi
  shutdown -h now
}
trap finish EXIT

# The release carries better-sqlite3's addon for one architecture: any other machine cannot load it.
if [[ $(uname -m) != ${uname} ]]; then
  step "this release's native addon is ${prebuild} (${uname}), but this machine is $(uname -m):" \\
    "deploy again so the release matches the instance type"
  exit 1
fi

step "installing Node.js 24 (dnf install ${NODE_PACKAGE})"
dnf install -y -q ${NODE_PACKAGE}
step "fetching the release from ${release}"
${fetches.join('\n')}

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
step "starting the loader (${service})"
systemctl start ${service}
loader_done=true
step "loader finished and published; powering off"
`;
}
