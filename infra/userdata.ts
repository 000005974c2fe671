/**
 * The instance's user-data, as a pure function of what it needs to know. It runs once, as
 * root, at first boot: schedule the hard stop, name the run, check the machine is the
 * architecture the release's native addon was built for, install Node 24, fetch the release
 * (nothing else is downloaded, nothing is compiled), with PostgreSQL put the database's password
 * where only systemd reads it, run the loader as a systemd service that logs to a file and that
 * a watchdog stops a little before the time limit, and power off.
 * Whatever stops the loader or the bootstrap (a failure, a crash, the out-of-memory killer,
 * the watchdog), the log reaches the run's prefix and run.json says failed or stopped, and
 * why: written after the loader has exited, it is the final word. latest.json is never touched.
 * Terraform reads "\${" and "%{" in a string as its own templates: the script has neither.
 */
import path from 'node:path';
import { RESULT_NAMES, runPrefix } from '../runner/publish/results.ts';
import { ARCHITECTURES, type Architecture } from './architecture.ts';
import { ENV, TIME_LIMIT } from './config.ts';
import { INSTANCE, RELEASE_FILES, RESULTS_PREFIX, releaseFiles, releasePrefix } from './layout.ts';

export type UserDataInput = {
  region: string;
  bucket: string;
  /** The release id (a content hash): its files are under releasePrefix(release). */
  release: string;
  /** The architecture the release's native addon is built for. */
  architecture: Architecture;
  timeLimitMinutes: number;
  /** PostgreSQL only: the Secrets Manager secret RDS keeps the master password in. */
  postgres: { secretArn: string } | null;
};

/** Node 24 LTS as Amazon Linux 2023 packages it: a namespaced executable, whatever `node` is. */
export const NODE_PACKAGE = 'nodejs24';
const NODE = 'node-24';

/** Seconds systemd waits after the watchdog's SIGTERM before it kills the loader. */
const STOP_GRACE_SECONDS = 20;

/**
 * The secret's JSON (stdin) as an EnvironmentFile line, PGPASSWORD="…" with systemd's escapes in
 * double quotes; nothing of the secret on stderr, not even JSON.parse's excerpt of it. RDS's
 * passwords are printable ASCII.
 */
const PASSWORD_LINE = String.raw`let p;
try { p = JSON.parse(require("fs").readFileSync(0, "utf8")).password; } catch {}
if (typeof p !== "string" || !/^[\x20-\x7e]+$/.test(p)) {
  console.error("census-etl bootstrap: the secret holds no password of printable ASCII (not shown)");
  process.exit(1);
}
process.stdout.write("PGPASSWORD=\"" + p.replace(/[\\"$\x60]/g, "\\$&") + "\"\n");`;

/** Reads the database's password into INSTANCE.databaseEnv (root's alone, on tmpfs); prints none of it. */
function databasePassword(secretArn: string): string {
  const { databaseEnv } = INSTANCE;
  return `

# The database's password, which RDS keeps in Secrets Manager: into a file only root can read, on
# tmpfs, that systemd gives the loader as PGPASSWORD. Never printed; ${NODE} parses the JSON (jq
# is not sure to be there).
password_secret="${secretArn}"
# JavaScript, not shell, in the single quotes.
password_line='${PASSWORD_LINE}'
why="reading the database password from Secrets Manager ($password_secret) failed"
step "reading the database password from Secrets Manager ($password_secret)"
install -d -m 700 ${path.dirname(databaseEnv)}
(
  umask 077
  aws secretsmanager get-secret-value --secret-id "$password_secret" --query SecretString --output text |
    ${NODE} -e "$password_line" >${databaseEnv}
)`;
}

export function userData(input: UserDataInput): string {
  const { region, bucket, release, architecture, timeLimitMinutes, postgres } = input;
  const { home, logDir, log, unitDir, service } = INSTANCE;
  const releaseUri = `s3://${bucket}/${releasePrefix(release)}`;
  const fetches = releaseFiles(postgres !== null).map(
    (name) =>
      `aws s3 cp --only-show-errors "${releaseUri}${RELEASE_FILES[name]}" "${home}/${RELEASE_FILES[name]}"`,
  );
  const { uname, prebuild } = ARCHITECTURES[architecture];
  const margin = TIME_LIMIT.watchdogMarginSeconds;
  const paramsFile = `${home}/${RELEASE_FILES.params}`;
  return `#!/bin/bash
# census-etl: one run of the loader on a fresh instance, then power off (the instance stops).
set -euo pipefail

# The hard limit comes first: whatever happens next, the instance powers off within it.
shutdown -h +${timeLimitMinutes}
booted=$(date +%s)

# The run: its UTC start time first, so run ids sort by time, then the release.
run_id="$(date -u +%Y%m%dT%H%M%SZ)-${release}"
started_at=$(date -u +%FT%TZ)
run_prefix="s3://${bucket}/${runPrefix(RESULTS_PREFIX, '$run_id')}"
mkdir -p ${logDir} ${home}
exec >>${log} 2>&1
step() { echo "census-etl bootstrap: $(date -u +%FT%T.%3NZ) $*"; }
step "run $run_id starting on $(uname -m)"
export AWS_REGION=${region} AWS_DEFAULT_REGION=${region}

# What the run is, should this script end now: it says so in run.json unless it completed.
state=failed
why="the bootstrap failed"

# A JSON string: control characters made spaces, backslashes and quotes escaped. (Called from
# the EXIT trap only, which shellcheck cannot see.)
# shellcheck disable=SC2317
json() {
  printf '"%s"' "$(printf '%s' "$1" | tr '\\000-\\037' ' ' | sed -e 's/\\\\/\\\\\\\\/g' -e 's/"/\\\\"/g')"
}

# On any exit: unless the loader completed (it published everything itself), the log and
# run.json go to the run's prefix; then power off.
# shellcheck disable=SC2317
finish() {
  local status=$?
  trap - EXIT
  if [[ $state != complete ]]; then
    step "$state (exit $status): $why; uploading this log and run.json to $run_prefix"
    aws s3 cp --only-show-errors ${log} "$run_prefix"${RESULT_NAMES.log} || step "log upload failed"
    printf '{"run":%s,"release":%s,"state":%s,"why":%s,"startedAt":%s,"updatedAt":%s,"progress":null}\\n' \\
      "$(json "$run_id")" "$(json "${release}")" "$(json "$state")" "$(json "$why")" \\
      "$(json "$started_at")" "$(json "$(date -u +%FT%TZ)")" |
      aws s3 cp --only-show-errors --content-type application/json - "$run_prefix"${RESULT_NAMES.run} ||
      step "run.json upload failed"
  fi
  shutdown -h now
}
trap finish EXIT

# The release carries better-sqlite3's addon for one architecture: any other machine cannot load it.
if [[ $(uname -m) != ${uname} ]]; then
  why="this release's native addon is ${prebuild} (${uname}), but this machine is $(uname -m):"
  why+=" deploy again so the release matches the instance type"
  step "$why"
  exit 1
fi

why="dnf install ${NODE_PACKAGE} failed"
step "installing Node.js 24 (dnf install ${NODE_PACKAGE})"
dnf install -y -q ${NODE_PACKAGE}
why="fetching the release from ${releaseUri} failed"
step "fetching the release from ${releaseUri}"
${fetches.join('\n')}${postgres ? databasePassword(postgres.secretArn) : ''}

# The watchdog: a oneshot's start is its whole run, so its start timeout stops the loader
# (SIGTERM, then SIGKILL) ${margin} s before the time limit, leaving time to record why.
watchdog=$((booted + ${timeLimitMinutes * 60 - margin} - $(date +%s)))
why="no time left for the loader before the time limit (${ENV.timeLimitMinutes}=${timeLimitMinutes})"
((watchdog > 0))
cat >${unitDir}/${service} <<UNIT
[Unit]
Description=census-etl loader (one run, then exit)

[Service]
Type=oneshot
Environment=AWS_REGION=${region}${postgres ? `\nEnvironmentFile=${INSTANCE.databaseEnv}` : ''}
WorkingDirectory=${home}
ExecStart=${NODE} ${home}/${RELEASE_FILES.bundle} run --params ${paramsFile} --run-id $run_id
TimeoutStartSec=$watchdog
TimeoutStopSec=${STOP_GRACE_SECONDS}
# The loader writes its own lines to the log; its errors join them there.
StandardOutput=null
StandardError=append:${log}
UNIT
systemctl daemon-reload
step "starting the loader (${service}); the watchdog stops it in $watchdog s"
if systemctl start ${service}; then
  state=complete
  step "loader finished and published; powering off"
  exit 0
fi

# Why the loader ended, as systemd saw it; with its last error line when it failed (its stderr
# lines, unstamped: "census-etl: error: …" for a failure, "census-etl: …" for a wrong setting).
result=$(systemctl show -p Result --value ${service})
code=$(systemctl show -p ExecMainStatus --value ${service})
error=$(grep -h '^census-etl: ' ${log} | tail -n 1 | sed -E 's/^census-etl: (error: )?//') || error=''
case $result in
  timeout)
    state=stopped
    why="stopped by the time limit: ${ENV.timeLimitMinutes}=${timeLimitMinutes}"
    why+=" (the watchdog stops the loader ${margin} s before it)"
    ;;
  oom-kill) why="the loader was killed by the kernel for lack of memory (the out-of-memory killer)" ;;
  signal)
    why="the loader was killed by signal $code"
    if ((code == 9)); then why+=" (SIGKILL: often the out-of-memory killer)"; fi
    ;;
  *)
    why="the loader failed (exit status $code)"
    if [[ -n $error ]]; then why+=": $error"; fi
    ;;
esac
exit 1
`;
}
