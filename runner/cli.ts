#!/usr/bin/env -S npx tsx
/**
 * census-etl: the command line, a thin shell over the pipeline modules.
 * Exit codes: 0 done, 2 bad usage or parameters (nothing written), 1 runtime failure.
 */
import './shared/memory.ts'; // first: it sets how V8 sizes the heap while the rest loads
import { existsSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { DEFAULTS, resolveParams, type Overrides } from './params.ts';
import { UsageError } from './shared/errors.ts';
import { RUN_ID } from './publish/results.ts';
import { RunFailed, publishJob, runJob } from './pipeline.ts';
import { StoppedError } from './load/schedule.ts';
import { isPostgresUrl, openStore, type Status } from './store/store.ts';
import { printable, redact } from './shared/redact.ts';
import { END_REPORT_TIMEOUT_MS } from './run.ts';

const positiveInt = (value: string) => {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new InvalidArgumentError('must be a positive integer');
  return Number(value);
};
const resultsOption = (value: string) => (value === 'none' ? null : value);
const runIdOption = (value: string) => {
  if (!RUN_ID.test(value)) {
    throw new InvalidArgumentError('must be YYYYMMDDTHHMMSSZ-<release>, e.g. 20261124T104441Z-local');
  }
  return value;
};

/** SIGTERM/SIGINT abort the job under way with a StoppedError (see `main`). */
const stop = new AbortController();
/** Whether a job is under way that records its own stop (then it gets a few seconds for that). */
let jobRunning = false;

type Counts = { recordsRead: number; records: number; loaded: number; quarantined: number; skipped: number };
const countsRow = (name: string, c: Counts) =>
  `  ${name.padEnd(14)} ${String(c.recordsRead).padStart(8)}/${String(c.records).padEnd(8)} records  ` +
  `${String(c.loaded).padStart(8)} loaded  ${String(c.quarantined).padStart(5)} quarantined  ` +
  `${String(c.skipped).padStart(5)} skipped`;

function formatStatus(s: Status, db: string): string {
  const t = s.totals;
  return [
    `database ${db}: ${s.complete ? 'complete' : 'in progress'}, ${t.percent}% of ${t.records} records`,
    `run: ${s.run.id ?? 'none yet'}${s.run.release ? ` (release ${s.run.release})` : ''}`,
    ...s.sources.map((x) => countsRow(x.name, x)),
    countsRow('total', t),
    `batches: ${s.batches.count}, last committed ${s.batches.lastAt ?? 'never'}, ` +
      `ms p50 ${s.batches.msP50 ?? '-'} p99 ${s.batches.msP99 ?? '-'}`,
    ...(s.quarantineReasons.length
      ? ['quarantine reasons:', ...s.quarantineReasons.map((r) => `  ${r.count} × ${printable(r.reason)}`)]
      : []),
    ...(s.otherReasons.reasons
      ? [`  … and ${s.otherReasons.reasons} other reasons (${s.otherReasons.records} records)`]
      : []),
    `published: ${s.run.publishedAt ? `${s.run.publishedTo} at ${s.run.publishedAt}` : 'no'}`,
  ].join('\n');
}

/** Where the log goes unless --log or the parameters say (params.ts). */
const LOG_DEFAULT = 'census-etl.log in the database’s folder';

export function buildCli(): Command {
  const program = new Command('census-etl')
    .description(
      'Loads a dataset (a Frictionless Data Package; by default US Census Adult) into SQLite or ' +
        'PostgreSQL on a schedule, then publishes it.',
    )
    .exitOverride()
    .showHelpAfterError();

  program
    .command('run', { isDefault: true })
    .description('load the sources in batches on the schedule, then publish (the default command)')
    .option('--params <file>', 'parameters JSON file: a local path or s3://bucket/key')
    .option(
      '--dataset <descriptor>',
      'the dataset: a datapackage.json (local path, s3:// or https://); default: Adult, built in',
    )
    .option('--db <database>', `SQLite file or postgres:// URL to load into (default ${DEFAULTS.database})`)
    .option(
      '--data-dir <dir>',
      "read the dataset's files from this folder, under their own names, as they are " +
        '(default for Adult: $CENSUS_DATA_DIR, else download)',
    )
    .option('--batch-size <n>', `records per batch (default ${DEFAULTS.batchSize})`, positiveInt)
    .option(
      '--every <seconds>',
      `seconds between batches, a divisor of 60 (default ${DEFAULTS.everySeconds})`,
      positiveInt,
    )
    .option('--unthrottled', 'no waiting between batches (backfills, benchmarks)')
    .option('--log <path>', `log file (default ${LOG_DEFAULT})`)
    .addOption(
      new Option('--results <uri>', 's3://bucket/prefix/ to publish to, or none (default none)').argParser(
        resultsOption,
      ),
    )
    .option(
      '--run-id <id>',
      "this run's id (the instance gives one); default: the database's own, or a new one",
      runIdOption,
    )
    .action(async (o) => {
      const overrides: Overrides = {
        dataset: o.dataset,
        database: o.db,
        dataDir: o.dataDir,
        batchSize: o.batchSize,
        everySeconds: o.every,
        unthrottled: o.unthrottled,
        log: o.log,
        results: o.results,
      };
      const params = await resolveParams(o.params, overrides);
      // Checked before anything is written: a run's id ends with its release.
      if (o.runId && !o.runId.endsWith(`-${params.release}`)) {
        const should = `its id would end with "-${params.release}"`;
        throw new UsageError(`--run-id ${o.runId} is not a run of release ${params.release} (${should})`);
      }
      jobRunning = true;
      await runJob(params, { runId: o.runId, stop: stop.signal });
    });

  program
    .command('publish')
    .description('publish a complete database (database, log, summary) under its run, without its sources')
    .option('--params <file>', 'parameters JSON file, local or s3://bucket/key (its results, log, retry)')
    .option(
      '--db <database>',
      `the complete database: SQLite file or postgres:// URL (default ${DEFAULTS.database})`,
    )
    .option('--log <path>', `log file, published with it (default ${LOG_DEFAULT})`)
    .addOption(new Option('--results <uri>', 's3://bucket/prefix/ to publish to').argParser(resultsOption))
    .action(async (o) => {
      const params = await resolveParams(o.params, { database: o.db, log: o.log, results: o.results });
      jobRunning = true;
      await publishJob(params, { stop: stop.signal });
    });

  program
    .command('status')
    .description("print a database's progress: batches, rows loaded, quarantined and skipped, per source")
    .option('--db <database>', 'SQLite file or postgres:// URL', DEFAULTS.database)
    .option('--json', 'print JSON, for machines')
    .action(async (o) => {
      if (!isPostgresUrl(o.db) && !existsSync(o.db)) throw new UsageError(`no database at ${o.db}`);
      const store = await openStore(o.db, { dataset: null, readOnly: true });
      try {
        const status = await store.status();
        process.stdout.write(
          o.json ? `${JSON.stringify(status, null, 2)}\n` : `${formatStatus(status, store.display)}\n`,
        );
      } finally {
        await store.close();
      }
    });

  program
    .command('report')
    .description(
      'write report.html (self-contained, charts inlined) and report.md from a database, complete or mid-run',
    )
    .option('--db <database>', 'SQLite file or postgres:// URL (read only)', DEFAULTS.database)
    .option('--out <dir>', 'folder to write the report into', 'out/report')
    .action(async (o) => {
      if (!isPostgresUrl(o.db) && !existsSync(o.db)) throw new UsageError(`no database at ${o.db}`);
      // Loaded on demand: the charting library adds ~250 ms and ~25 MB that a load never needs.
      const { writeReport } = await import('./insights/report.ts');
      const store = await openStore(o.db, { dataset: null, readOnly: true });
      try {
        const files = await writeReport({ store, out: o.out });
        process.stdout.write(`report written: ${files.html} and ${files.markdown}\n`);
      } finally {
        await store.close();
      }
    });

  program
    .command('infer')
    .description('draft a Data Package descriptor (datapackage.json) for CSV files, one resource each')
    .argument('<csv...>', 'the CSV files (UTF-8)')
    .option(
      '--out <file>',
      'write the descriptor here; paths in it are relative to its folder (default: print)',
    )
    .option('--force', 'overwrite the --out file if it exists')
    .option('--name <name>', 'the package name (default: the file name for one file, else "dataset")')
    .option('--sample-bytes <n>', 'bytes of each file to infer from (default 1048576)', positiveInt)
    .action(async (files: string[], o) => {
      // Loaded on demand, as is everything infer needs beyond this file's own imports.
      const [{ inferDescriptor }, { writeFile }, path] = await Promise.all([
        import('./dataset/infer.ts'),
        import('node:fs/promises'),
        import('node:path'),
      ]);
      if (o.out && existsSync(o.out) && !o.force) {
        throw new UsageError(`${o.out} exists: give --force to overwrite it`);
      }
      const outDir = o.out ? path.dirname(path.resolve(o.out)) : undefined;
      const { descriptor, notes } = await inferDescriptor(files, {
        outDir,
        name: o.name,
        sampleBytes: o.sampleBytes,
      });
      for (const note of notes) process.stderr.write(`note: ${note}\n`);
      const json = `${JSON.stringify(descriptor, null, 2)}\n`;
      if (!o.out) {
        process.stdout.write(json);
        return;
      }
      await writeFile(o.out, json, { flag: o.force ? 'w' : 'wx' }).catch((e: NodeJS.ErrnoException) => {
        throw new UsageError(
          e.code === 'EEXIST' ? `${o.out} exists: give --force to overwrite it` : `${o.out}: ${e.message}`,
        );
      });
      process.stderr.write(`descriptor written: ${o.out}\n`);
    });

  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildCli().parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (e instanceof StoppedError) return exitCodeOf(e.signal);
    if (e instanceof UsageError) {
      process.stderr.write(`census-etl: ${redact(e.message)}\n`);
      return 2;
    }
    // A run's failure is on stderr and in its log already.
    if (!(e instanceof RunFailed))
      process.stderr.write(`census-etl: error: ${redact((e as Error).message)}\n`);
    return 1;
  }
}

const exitCodeOf = (signal: NodeJS.Signals) => (signal === 'SIGINT' ? 130 : 143);

/** A stop leaves the job a few seconds to record it; a second signal ends the process at once. */
const STOP_GRACE_MS = END_REPORT_TIMEOUT_MS + 3000;

function onSignal(signal: NodeJS.Signals) {
  const now = () => {
    const kept = 'every committed batch is kept, run again to resume';
    process.stderr.write(`census-etl: stopped by ${signal}; ${kept}\n`);
    process.exit(exitCodeOf(signal));
  };
  if (!jobRunning || stop.signal.aborted) return now();
  // Batches commit synchronously, so a signal is handled between two of them.
  stop.abort(new StoppedError(signal));
  setTimeout(() => process.exit(exitCodeOf(signal)), STOP_GRACE_MS);
}

// Run as the program (npm start, the bundle), not when a module imports buildCli: the docs'
// test reads the commands and options from it. Node 24 says false for an imported module.
if (import.meta.main !== false) {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => onSignal(signal));
  const code = await main(process.argv.slice(2));
  // Stopped: exit now, whatever the job leaves behind (a download, a parser thread).
  if (stop.signal.aborted) process.exit(code);
  process.exitCode = code;
}
