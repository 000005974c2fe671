/**
 * The AWS twin with CENSUS_DESTINATION=postgres, the RDS stack end to end: deploy, the twin's
 * PostgreSQL behind the endpoint moto reports, a boot whose loader loads into it over verified
 * TLS, publishes and powers off; its tables equal a local SQLite load of the same files; sync;
 * a release with a CA bundle that did not sign the database's certificate fails on TLS; destroy
 * leaves nothing. It needs the runner's PostgreSQL store: until `census-etl run --db
 * postgres://…` loads a database, it skips and says why (under CI=true it fails instead).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { buildBundle } from '../../infra/bundle.ts';
import { bootCalls } from '../../twin/journey.ts';
import { runPostgresTwin } from '../../twin/postgres-journey.ts';
import { makeCa, postgresBin, startTwinPostgres } from '../../twin/postgres.ts';
import { DATA_DIR } from '../support/cli.ts';
import { lines, records, tempDir, writeSources } from '../support/fixtures.ts';
import { requireTool } from '../support/tools.ts';

const TOOLS = ['terraform', 'moto_server', 'aws', 'unshare', 'ip', 'openssl', 'psql'];
const LIMIT = 15;

/**
 * Whether the release loads into PostgreSQL: `census-etl run --db postgres://…` (verify-full, the
 * password from PGPASSWORD) of three records into a throwaway server, which must then hold them.
 * True, or why not.
 */
async function runnerLoadsPostgres(): Promise<true | string> {
  const dir = tempDir('census-probe-');
  const ca = makeCa(path.join(dir, 'ca'), 'probe');
  const spec = { host: 'localhost', user: 'census', password: 'probe-password', database: 'census' };
  const server = await startTwinPostgres({ ...spec, ca });
  try {
    const data = writeSources([lines(records(2)), lines(records(1, 2))], path.join(dir, 'data'));
    const tls = `sslmode=verify-full&sslrootcert=${ca.cert}`;
    const url = `postgres://census@localhost:${server.serverPort}/census?${tls}`;
    // The release the instance runs, in a folder of its own (a runner that took the URL for a
    // file would write there).
    const release = buildBundle(path.join(dir, 'release'));
    const args = [release.files.bundle, 'run', '--unthrottled', '--data-dir', data, '--db', url];
    args.push('--log', path.join(dir, 'probe.log'));
    const env = { ...process.env, PGPASSWORD: spec.password };
    const r = spawnSync(process.execPath, args, {
      cwd: release.dir,
      env,
      encoding: 'utf8',
      timeout: 120_000,
    });
    const said = r.stderr
      .trim()
      .replaceAll(/\s*\n\s*/g, ' ')
      .slice(0, 300);
    if (r.status !== 0) return `\`census-etl run --db postgres://…\` exited with ${r.status}: ${said}`;
    try {
      const rows = Number(server.sql('SELECT count(*) FROM adult'));
      return rows === 3 || `it loaded ${rows} rows of 3 into PostgreSQL`;
    } catch {
      return '`census-etl run --db postgres://…` exited with 0, but PostgreSQL holds no table adult';
    }
  } finally {
    server.stop();
  }
}

const journey = 'deploy → boot → load into PostgreSQL → publish → sync → another CA → destroy';
test(`the twin with CENSUS_DESTINATION=postgres: ${journey}`, { timeout: 20 * 60_000 }, async (t) => {
  if (!TOOLS.every((tool) => requireTool(t, tool))) return;
  if (!postgresBin()) {
    const why = 'PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb)';
    if (process.env.CI === 'true') assert.fail(`${why} (CI=true: .ci/run must install it)`);
    return t.skip(why);
  }
  const loads = await runnerLoadsPostgres();
  if (loads !== true) {
    const why = `the runner does not load into PostgreSQL yet: ${loads}`;
    if (process.env.CI === 'true') assert.fail(`${why} (CI=true: the journey must run)`);
    return t.skip(why);
  }
  const r = await runPostgresTwin({
    region: 'eu-west-3',
    batchSize: 5000,
    everySeconds: 1,
    timeLimitMinutes: LIMIT,
    dataDir: DATA_DIR,
    log: (line) => t.diagnostic(line),
  });

  const deploy = 'npx cdktf deploy --auto-approve';
  assert.deepEqual(r.typed, [
    { command: 'npx cdktf synth', status: 0 },
    { command: '(cd cdktf.out/stacks/census-etl && terraform init -input=false)', status: 0 },
    { command: deploy, status: 0 },
    { command: 'npm run sync', status: 0 },
    { command: deploy, status: 0 },
    { command: 'npx cdktf destroy --auto-approve', status: 0 },
  ]);
  assert.equal(r.outputs.database_address, r.served.host);
  assert.equal(r.outputs.database_port, 5432);
  assert.deepEqual([r.outputs.database_name, r.outputs.database_user], ['census', 'census']);
  assert.equal(r.served.user, 'census', 'the role the secret names');

  assert.equal(r.run.ended, 'powered off');
  assert.deepEqual(r.run.calls, bootCalls(LIMIT, true), 'nothing but nodejs24 installed');
  assert.equal(r.run.doc?.state, 'complete', r.run.log.slice(-2000));
  for (const name of ['census-etl.log', 'summary.json', 'run.json']) {
    assert.ok(r.run.resultKeys.includes(`results/${r.run.run}/${name}`), name);
  }
  assert.deepEqual(r.tables, r.expected, 'the PostgreSQL tables are the local SQLite load');
  assert.deepEqual([r.expected.adult.rows, r.expected.quarantine.rows], [48_837, 5]);
  for (const b of [r.run, r.wrongCa]) {
    assert.ok(![b.log, b.console, JSON.stringify(b.doc)].some((s) => s.includes(r.served.password)));
  }

  assert.notEqual(r.wrongCa.instanceId, r.run.instanceId, 'another CA bundle: another release, a new run');
  assert.equal(r.wrongCa.doc?.state, 'failed');
  assert.match(r.wrongCa.doc!.why!, /certificate/i, 'the loader refused the certificate');
  assert.deepEqual(r.leftovers, []);
  for (const s of r.stages) t.diagnostic(`${s.name}: ${(s.ms / 1000).toFixed(1)} s`);
});
