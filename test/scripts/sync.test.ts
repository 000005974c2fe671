/**
 * npm run sync against a real S3 (moto) holding runs in the layout of runner/publish/results.ts: real
 * runs published by the loader, and run.json documents as the instance writes them for runs
 * that failed, were stopped, or are still going. Verified downloads, a report, plain words.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import Database from 'better-sqlite3';
import { startMoto, type Moto } from '../../twin/moto.ts';
import type { RunDocument, RunState } from '../../runner/publish/results.ts';
import { inside } from '../../scripts/lib/sync.ts';
import { ROOT, runCli } from '../support/cli.ts';
import { lines, record, records, tempDir, writeSources } from '../support/fixtures.ts';
import { latestJson } from '../support/results.ts';
import { createBucket, type Bucket } from '../support/s3.ts';
import { skipUnless } from '../support/tools.ts';
import { applyOutputs } from './state.ts';

const skip = skipUnless('moto_server');
let moto: Moto;
let results: Bucket;
const bucket = 'census-sync';

/** The sync script as the user runs it (in the project folder), with the results location given. */
function sync(resultsUri: string, out: string, ...args: string[]) {
  const script = path.join(ROOT, 'scripts', 'sync.ts');
  return spawnSync(process.execPath, ['--import', 'tsx', script, '--out', out, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...moto.env, CENSUS_RESULTS_URI: resultsUri },
    encoding: 'utf8',
  });
}

/** A real run, published by the loader under `prefix` as `run` (release "local"); its output. */
function publish(prefix: string, run: string): string {
  const dir = writeSources([lines([...records(20), record(3, { age: 'x' })]), lines(records(5, 20))]);
  const out = (name: string) => path.join(dir, 'out', name);
  const args = ['run', '--unthrottled', '--data-dir', dir, '--db', out('c.db'), '--log', out('c.log')];
  const r = runCli([...args, '--results', `s3://${bucket}/${prefix}`, '--run-id', run], moto.env);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

/** A run that did not complete, as the instance records it: its log and its run.json. */
async function record_(
  prefix: string,
  run: string,
  state: RunState,
  why: string | null,
  updatedAt = new Date(),
) {
  const progress =
    state === 'running'
      ? { batches: 3, linesRead: 30, lines: 100, percent: 30, loaded: 30, quarantined: 0, skipped: 0 }
      : null;
  const doc: RunDocument = {
    run,
    release: 'local',
    state,
    why,
    startedAt: updatedAt.toISOString(),
    updatedAt: updatedAt.toISOString(),
    progress,
  };
  await results.put(`${prefix}${run}/census-etl.log`, `log of ${run}\n`);
  await results.put(`${prefix}${run}/run.json`, JSON.stringify(doc));
}

const RUN1 = '20261101T100000Z-local';
const RUN2 = '20261102T100000Z-local';
const RUN3 = '20261103T100000Z-local';

before(async () => {
  if (skip) return;
  moto = await startMoto();
  results = await createBucket(moto, bucket);
});
after(async () => moto?.stop());

const count = (db: string) => {
  const d = new Database(db, { readonly: true });
  try {
    return d.prepare('SELECT count(*) FROM adult').pluck().get();
  } finally {
    d.close();
  }
};

test(
  'the latest complete run: db, log, summary checked and written to <out>/<run>/, with the report',
  { skip },
  () => {
    publish('ok/', RUN1);
    publish('ok/', RUN2);
    const out = tempDir();
    const r = sync(`s3://${bucket}/ok/`, out);
    assert.equal(r.status, 0, r.stderr);
    const [head, ...files] = r.stdout.trim().split('\n');
    assert.match(head, new RegExp(`^latest complete run ${RUN2} \\(release local, completed \\S+\\):$`));
    const dir = path.join(out, RUN2);
    for (const name of ['census.db', 'census-etl.log', 'summary.json'])
      assert.ok(files.includes(path.join(dir, name)), name);
    assert.ok(files.length > 3 && files.every((f) => existsSync(f)), `files: ${files.join(', ')}`);
    assert.equal(count(path.join(dir, 'census.db')), 25);
    assert.equal(JSON.parse(readFileSync(path.join(dir, 'summary.json'), 'utf8')).run, RUN2);

    const older = sync(`s3://${bucket}/ok/`, out, '--run', RUN1);
    assert.equal(older.status, 0, older.stderr);
    assert.match(older.stdout, new RegExp(`^run ${RUN1} \\(release local\\):\\n`));
    assert.ok(existsSync(path.join(out, RUN1, 'census.db')));
  },
);

test(
  'the newest run failed: sync says so and saves its log; the latest complete run is still downloaded',
  { skip },
  async () => {
    publish('failed/', RUN1);
    await record_(
      'failed/',
      RUN2,
      'failed',
      'the loader failed (exit status 1): source x: SHA-256 is 00, expected 11',
    );
    const out = tempDir();
    const r = sync(`s3://${bucket}/failed/`, out);
    assert.equal(r.status, 1);
    const log = path.join(out, RUN2, 'census-etl.log');
    assert.ok(
      r.stdout.startsWith(
        `newest run ${RUN2} failed: ` +
          'the loader failed (exit status 1): source x: SHA-256 is 00, expected 11\n' +
          `its log: ${log}\nlatest complete run ${RUN1} `,
      ),
      r.stdout,
    );
    assert.equal(readFileSync(log, 'utf8'), `log of ${RUN2}\n`);
    assert.equal(count(path.join(out, RUN1, 'census.db')), 25);
  },
);

test('the newest run was stopped by the time limit: said, with its log', { skip }, async () => {
  publish('stopped/', RUN1);
  await record_('stopped/', RUN2, 'stopped', 'stopped by the time limit: CENSUS_TIME_LIMIT_MINUTES=30');
  const r = sync(`s3://${bucket}/stopped/`, tempDir());
  assert.equal(r.status, 1);
  assert.match(
    r.stdout,
    new RegExp(
      `^newest run ${RUN2} was stopped: stopped by the time limit: CENSUS_TIME_LIMIT_MINUTES=30\\nits log: `,
    ),
  );
});

test(
  'the newest run is still going: its progress; silent for too long: no news since when',
  { skip },
  async () => {
    publish('going/', RUN1);
    await record_('going/', RUN2, 'running', null);
    const going = sync(`s3://${bucket}/going/`, tempDir());
    assert.equal(going.status, 0, going.stderr);
    assert.match(
      going.stdout,
      new RegExp(
        `^newest run ${RUN2} is still going: batch 3, 30% of 100 lines ` +
          '\\(updated \\d+ s ago\\); npm run logs follows it\\n',
      ),
    );

    await record_('going/', RUN3, 'running', null, new Date(Date.now() - 5 * 60_000));
    const silent = sync(`s3://${bucket}/going/`, tempDir());
    assert.equal(silent.status, 1);
    assert.match(
      silent.stdout,
      new RegExp(
        `^newest run ${RUN3} says it is running \\(batch 3, 30% of 100 lines\\), ` +
          'but there is no news since \\S+ \\(5 min ago\\)',
      ),
    );
  },
);

test(
  '--list: every run, its state, progress, update and why; the latest complete one marked',
  { skip },
  async () => {
    publish('list/', RUN1);
    await record_('list/', RUN2, 'failed', 'the loader failed (exit status 1): boom');
    await record_('list/', RUN3, 'running', null);
    const r = sync(`s3://${bucket}/list/`, tempDir(), '--list');
    assert.equal(r.status, 0, r.stderr);
    const rows = r.stdout.trim().split('\n');
    assert.equal(rows[0], `runs at s3://${bucket}/list/ (* latest complete):`);
    assert.match(rows[1], new RegExp(`^\\* ${RUN1} {2}complete {2} +100% {2}\\S+$`));
    assert.match(
      rows[2],
      new RegExp(`^  ${RUN2} {2}failed {4} +- {2}\\S+ {2}the loader failed \\(exit status 1\\): boom$`),
    );
    assert.match(rows[3], new RegExp(`^  ${RUN3} {2}running {3} +30% {2}\\S+$`));
  },
);

test('a database that does not match the summary checksum is refused', { skip }, async () => {
  publish('tampered/', RUN1);
  await results.put(`tampered/${RUN1}/census.db`, 'not the database');
  const out = tempDir();
  const r = sync(`s3://${bucket}/tampered/`, out);
  assert.equal(r.status, 1);
  const object = `s3://${bucket}/tampered/${RUN1}/census.db`;
  const message = `sync: ${object}: sha256 [0-9a-f]{64} is not the [0-9a-f]{64} that summary.json lists`;
  assert.match(r.stderr, new RegExp(`^${message}$`, 'm'));
  assert.ok(!existsSync(path.join(out, RUN1, 'census.db')));
});

test('nothing yet: no run has started; only failed runs: none has completed', { skip }, async () => {
  const none = sync(`s3://${bucket}/none/`, tempDir());
  assert.equal(none.status, 1);
  assert.match(
    none.stderr,
    /^sync: no run at s3:\/\/census-sync\/none\/ yet: the instance has not started one/,
  );
  await record_('none/', RUN1, 'failed', 'the bootstrap failed');
  const failed = sync(`s3://${bucket}/none/`, tempDir());
  assert.equal(failed.status, 1);
  assert.match(failed.stdout, /\nno run at s3:\/\/census-sync\/none\/ has completed yet\n$/);
});

const fromState = { skip: skip || skipUnless('terraform') };
test('without CENSUS_RESULTS_URI, the location comes from the state; none: deploy first', fromState, () => {
  const state = path.join(tempDir(), 'terraform.tfstate');
  const env = { ...process.env, ...moto.env, CENSUS_RESULTS_URI: '', CENSUS_STATE_FILE: state };
  const script = path.join(ROOT, 'scripts', 'sync.ts');
  const args = ['--import', 'tsx', script, '--out', tempDir()];
  const run = () => spawnSync(process.execPath, args, { cwd: ROOT, env, encoding: 'utf8' });
  const missing = run();
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /no deployed stack: cannot read .*\.tfstate \(ENOENT\); run `npx cdktf/);

  publish('from-state/', RUN1);
  applyOutputs(env, { region: 'us-east-1', results_uri: `s3://${bucket}/from-state/` });
  const found = run();
  assert.equal(found.status, 0, found.stderr);
});

/** Every file under `dir`, at any depth. */
const filesUnder = (dir: string) =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name));

test('inside: a path built from what S3 says stays inside its folder, or is refused', () => {
  assert.equal(inside('results', RUN1, 'census.db'), path.join('results', RUN1, 'census.db'));
  assert.equal(inside('/tmp/out', RUN1), path.join('/tmp/out', RUN1));
  for (const parts of [
    ['..', 'x'],
    ['../../x', 'census.db'],
    [RUN1, '..', '..', 'x'],
    ['/etc/passwd'],
    ['.'],
    [''],
  ])
    assert.throws(() => inside('results', ...parts), /^Error: ".*" is not a path inside results: refused$/);
});

test(
  'latest.json naming run "../../x", its files planted there: nothing written outside --out; exit 1, why',
  { skip },
  async () => {
    publish('hostile/', RUN1);
    // The run's own files, where "../../x" points, with a summary naming that run: all checksums match.
    for (const name of ['census.db', 'census-etl.log', 'run.json'])
      await results.put(`hostile/../../x/${name}`, await results.get(`hostile/${RUN1}/${name}`));
    const summary = JSON.parse((await results.get(`hostile/${RUN1}/summary.json`)).toString('utf8'));
    await results.put('hostile/../../x/summary.json', JSON.stringify({ ...summary, run: '../../x' }));
    const completedAt = new Date().toISOString();
    await results.put(
      'hostile/latest.json',
      JSON.stringify({ run: '../../x', release: 'local', completedAt }),
    );

    const root = tempDir();
    const out = path.join(root, 'a', 'b', 'results');
    const r = sync(`s3://${bucket}/hostile/`, out);
    assert.equal(r.status, 1, r.stdout);
    const why = 'latest.json: "../../x" is not a run id (YYYYMMDDTHHMMSSZ-<release>): ignored';
    assert.ok(r.stderr.startsWith(`sync: s3://${bucket}/hostile/${why}\n`), r.stderr);
    assert.match(r.stdout, /\nno run at s3:\/\/census-sync\/hostile\/ has completed yet\n$/);
    assert.deepEqual(
      filesUnder(root).filter((f) => !f.startsWith(`${out}${path.sep}`)),
      [],
      'nothing outside --out',
    );

    const asked = sync(`s3://${bucket}/hostile/`, out, '--run', '../../x');
    assert.equal(asked.status, 2);
    assert.equal(asked.stderr, 'sync: --run: "../../x" is not a run id (YYYYMMDDTHHMMSSZ-<release>)\n');
  },
);

test('keys planted beside the runs ("results/../x/run.json", "%2e%2e") are no runs', { skip }, async () => {
  publish('planted/', RUN1);
  const doc = await results.get(`planted/${RUN1}/run.json`);
  for (const key of [
    'planted/../x/run.json',
    'planted/%2e%2e/x/run.json',
    'planted/./run.json',
    'planted/x/run.json',
  ])
    await results.put(key, doc);
  const r = sync(`s3://${bucket}/planted/`, tempDir(), '--list');
  assert.equal(r.status, 0, r.stderr);
  const rows = r.stdout.trim().split('\n').slice(1);
  assert.deepEqual(
    rows.map((row) => row.split(/ +/)[1]),
    [RUN1],
  );
});

test(
  "text from S3 reaches the terminal with its controls made visible: a run's why, a --list row",
  { skip },
  async () => {
    publish('controls/', RUN1);
    const why =
      'boom\x1b]0;owned\x07\x1b[2K\x1b]8;;https://evil.example/\x1b\\click\x1b]8;;\x1b\\\rfine\u202e';
    await record_('controls/', RUN2, 'failed', why);
    const shown =
      'boom\\x1b]0;owned\\x07\\x1b[2K\\x1b]8;;https://evil.example/\\x1b\\click\\x1b]8;;\\x1b\\' +
      '\\x0dfine\\u202e';
    const control = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u202e]/;
    const r = sync(`s3://${bucket}/controls/`, tempDir());
    assert.equal(r.status, 1);
    assert.ok(r.stdout.startsWith(`newest run ${RUN2} failed: ${shown}\nits log: `), r.stdout);
    assert.doesNotMatch(r.stdout + r.stderr, control);
    const list = sync(`s3://${bucket}/controls/`, tempDir(), '--list');
    assert.equal(list.status, 0, list.stderr);
    const row = list.stdout.trimEnd().split('\n').at(-1)!;
    assert.ok(row.startsWith(`  ${RUN2}  failed`) && row.endsWith(`  ${shown}`), row);
    assert.doesNotMatch(list.stdout, control);
  },
);

test("a run.json that is not its run's (another id, no state) is said and ignored", { skip }, async () => {
  publish('others/', RUN1);
  const doc = JSON.parse((await results.get(`others/${RUN1}/run.json`)).toString('utf8'));
  await results.put(`others/${RUN2}/run.json`, JSON.stringify({ ...doc, run: '../x\x1b[2J' }));
  await results.put(`others/${RUN3}/run.json`, JSON.stringify({ ...doc, run: RUN3, state: 'pwned' }));
  const r = sync(`s3://${bucket}/others/`, tempDir(), '--list');
  assert.equal(r.status, 1);
  const at = `s3://${bucket}/others/`;
  assert.equal(
    r.stderr,
    `sync: ${at}${RUN2}/run.json is run ${JSON.stringify('../x\x1b[2J')}'s, not ${RUN2}'s: ignored\n` +
      `sync: ${at}${RUN3}/run.json has state "pwned", ` +
      'not one of running, complete, failed, stopped: ignored\n',
  );
  assert.match(r.stdout, new RegExp(`\\n  ${RUN2}  unknown  +-  -\\n  ${RUN3}  unknown  +-  -\\n$`));
});

test(
  'a latest.json naming no run id, even one sorting after every id, is replaced by the next complete run',
  { skip },
  async () => {
    const planted = '99991231T235959Z-../../x';
    const completedAt = new Date().toISOString();
    await results.put(
      'replaced/latest.json',
      JSON.stringify({ run: planted, release: 'local', completedAt }),
    );
    const said = publish('replaced/', RUN1);
    const why = `latest.json: "${planted}" is not a run id (YYYYMMDDTHHMMSSZ-<release>): replaced\n`;
    assert.ok(said.includes(`s3://${bucket}/replaced/${why}`), said);
    assert.equal((await latestJson(results, 'replaced/')).run, RUN1);
    const r = sync(`s3://${bucket}/replaced/`, tempDir());
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^latest complete run ${RUN1} `));
  },
);
