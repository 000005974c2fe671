/**
 * npm run logs: follows the deployed instance's run from S3, like `tail -F`, a few seconds
 * behind: its log (census-etl.log, read from where it was last read with ranged GETs) until
 * its run.json says it is complete, failed or stopped. The run is the newest one started since
 * Terraform created the instance; until it exists, logs waits and says for what. `--run ID`
 * follows that run. `npm run logs -- --ssh [ssh args]` tails the file on the instance over SSH
 * instead (a stack deployed with CENSUS_SSH_KEY_NAME and CENSUS_SSH_CIDR).
 * Exit 0 when the run completed; 1 when it failed, was stopped, or went silent past its limit;
 * 2 for a --run that is not a run id. What it prints from S3, the log above all, has its
 * control characters made visible: a log line cannot retitle the terminal, erase lines or plant links.
 */
import { spawnSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_TIME_LIMIT_MINUTES } from '../../infra/config.ts';
import { INSTANCE } from '../../infra/layout.ts';
import { readOutputs, type StackOutputs } from './outputs.ts';
import { ResultsLocation, describeRun, isStale, startOf } from './runs.ts';
import { PROGRESS_EVERY_SECONDS, isRunId, notARunId } from '../../runner/publish/results.ts';
import { printable } from '../../runner/shared/redact.ts';

/** How often S3 is asked for more: the runner uploads every PROGRESS_EVERY_SECONDS at most. */
const POLL_SECONDS = 5;
/**
 * How far an instance's clock may be behind this machine's, when matching runs to it: a run
 * starts a minute or more after its instance is created, and deploys take longer than this.
 */
const CLOCK_SKEW_MS = 30_000;

/** The ssh command line: user@host from the stack outputs, the log path from the layout. */
export function sshArgs(publicDns: string, extra: string[]): string[] {
  return [...extra, `${INSTANCE.sshUser}@${publicDns}`, 'tail', '-n', '+1', '-F', INSTANCE.log];
}

function ssh(outputs: StackOutputs, extra: string[]): number {
  if (outputs.ssh_command.startsWith('none')) {
    process.stderr.write(
      `logs: the stack allows no SSH (${outputs.ssh_command}); npm run logs follows the run from S3\n`,
    );
    return 1;
  }
  if (!outputs.public_dns) {
    process.stderr.write(
      `logs: instance ${outputs.instance_id} has no public DNS name (stopped, or no public IP)\n`,
    );
    return 1;
  }
  return spawnSync('ssh', sshArgs(outputs.public_dns, extra), { stdio: 'inherit' }).status ?? 1;
}

const say = (line: string) => process.stderr.write(`logs: ${printable(line)}\n`);

/** Says each refusal once (the same object is read again at every poll). */
function reportOnce(): (problem: string) => void {
  const told = new Set<string>();
  return (problem) => {
    if (!told.has(problem)) say(problem);
    told.add(problem);
  };
}

/**
 * The log's bytes as the terminal gets them: UTF-8 decoded across reads, controls made
 * visible. A carriage return that ends a read waits for the next: it may be half a CRLF.
 */
export function terminalText(): (bytes: Buffer) => string {
  const decoder = new TextDecoder();
  let held = '';
  return (bytes) => {
    const text = held + decoder.decode(bytes, { stream: true });
    held = text.endsWith('\r') ? '\r' : '';
    return printable(held ? text.slice(0, -1) : text);
  };
}

/** The instance's run: the newest one that started after the instance was created. */
async function instanceRun(
  at: ResultsLocation,
  outputs: StackOutputs,
  deadline: number,
): Promise<string | null> {
  // A state from before that output: any run is the instance's.
  const created = Date.parse(outputs.instance_created_at) || 0;
  let waiting = false;
  for (;;) {
    const run = (await at.runs()).filter((r) => startOf(r).getTime() >= created - CLOCK_SKEW_MS).at(-1);
    if (run) return run;
    if (Date.now() > deadline) return null;
    if (!waiting) {
      say(
        `waiting for instance ${outputs.instance_id} (created ${outputs.instance_created_at}) ` +
          `to start its run under ${at.uri}: ` +
          'it boots, installs Node.js and fetches the release first (a minute or two)',
      );
      waiting = true;
    }
    await sleep(POLL_SECONDS * 1000);
  }
}

/** Prints the run's log as it grows until run.json is terminal; true when the run completed. */
export async function follow(at: ResultsLocation, run: string, limitMinutes: number): Promise<boolean> {
  say(
    `following run ${run} from ${at.uri}${run}/ ` +
      `(every ${POLL_SECONDS} s; the instance uploads every ${PROGRESS_EVERY_SECONDS} s)`,
  );
  const giveUp = startOf(run).getTime() + (limitMinutes + 5) * 60_000;
  let offset = 0;
  let toldStale = false;
  const toTerminal = terminalText();
  const more = async () => {
    const bytes = await at.logFrom(run, offset);
    offset += bytes.length;
    process.stdout.write(toTerminal(bytes));
  };
  for (;;) {
    const doc = await at.runDocument(run);
    await more();
    if (doc && doc.state !== 'running') {
      say(describeRun(run, doc));
      return doc.state === 'complete';
    }
    if (doc && isStale(doc) && !toldStale) {
      say(describeRun(run, doc));
      toldStale = true;
    }
    if (Date.now() > giveUp) {
      say(
        `run ${run}'s time limit (${limitMinutes} min) has passed and its run.json never said how it ended`,
      );
      return false;
    }
    await sleep(POLL_SECONDS * 1000);
  }
}

export async function main(argv: string[]): Promise<number> {
  const asked = argv[0] === '--run' ? (argv[1] ?? '') : null;
  if (asked !== null && !isRunId(asked)) {
    say(notARunId('--run', asked));
    return 2;
  }
  let outputs: StackOutputs;
  try {
    outputs = readOutputs();
  } catch (e) {
    say((e as Error).message);
    return 1;
  }
  if (argv[0] === '--ssh') return ssh(outputs, argv.slice(1));
  process.env.AWS_REGION = outputs.region;
  const at = new ResultsLocation(outputs.results_uri, reportOnce());
  const limit = Number(outputs.time_limit_minutes) || DEFAULT_TIME_LIMIT_MINUTES;
  try {
    const deadline = (Date.parse(outputs.instance_created_at) || Date.now()) + limit * 60_000;
    const run = asked ?? (await instanceRun(at, outputs, deadline));
    if (!run) {
      say(
        `no run appeared under ${at.uri} within the time limit (${limit} min) after the instance was created`,
      );
      return 1;
    }
    return (await follow(at, run, limit)) ? 0 : 1;
  } catch (e) {
    say((e as Error).message);
    return 1;
  }
}
