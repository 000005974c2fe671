/**
 * The twin's journey with CENSUS_DESTINATION=postgres, the RDS stack end to end: deploy (bucket,
 * instance and an RDS PostgreSQL, which moto emulates as an API only); the twin's PostgreSQL
 * behind moto's endpoint (postgres.ts); a boot whose loader loads into it, publishes, powers
 * off; its tables against a local SQLite load of the same files; `npm run sync`; a release
 * whose CA bundle did not sign the server's certificate, whose run fails on TLS; destroy, and
 * nothing left (no database, secret, subnet group or security group).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import path from 'node:path';
import Database from 'better-sqlite3';
import { ENV } from '../infra/config.ts';
import { ROOT } from '../infra/layout.ts';
import type { StackOutputs } from '../scripts/lib/outputs.ts';
import { userCommands } from './commands.ts';
import { makeCa, type ServedDatabase } from './postgres.ts';
import { Twin, type InstanceBoot, type UserSettings } from './twin.ts';
import type { Typed } from './user.ts';

export type PostgresJourneySettings = Omit<UserSettings, 'postgres'> & { log: (line: string) => void };

/** A table's rows in a stable order: how many, and the MD5 of their JSON, one per line. */
export type TableDigest = { rows: number; md5: string };

/** The tables the data contract defines, with the columns compared and the order of rows. */
export const COMPARED = {
  adult: { columns: null, order: ['source', 'line'] },
  quarantine: { columns: ['source', 'line', 'raw', 'reason'], order: ['source', 'line'] },
} as const;
type Table = keyof typeof COMPARED;

export type PostgresTwinReport = {
  stages: { name: string; ms: number }[];
  typed: { command: string; status: number | null }[];
  outputs: StackOutputs & Record<string, string | number>;
  served: ServedDatabase;
  run: InstanceBoot;
  /** The twin database's tables after the run, and a local SQLite load's of the same files. */
  tables: Record<Table, TableDigest | string>;
  expected: Record<Table, TableDigest>;
  sync: Typed;
  /** A release whose CA bundle did not sign the database's certificate. */
  wrongCa: InstanceBoot;
  leftovers: string[];
};

const quoteIdent = (name: string) => `"${name.replaceAll('"', '""')}"`;

/** Columns of `table` in the SQLite file: all of them unless the contract names some. */
function columnsOf(db: Database.Database, table: Table): string[] {
  const named = COMPARED[table].columns;
  if (named) return [...named];
  return (db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) => c.name);
}

/** The rows of a table as PostgreSQL's row_to_json writes them (JSON.stringify's form). */
const digest = (lines: string[]): TableDigest => ({
  rows: lines.length,
  md5: createHash('md5').update(lines.join('\n')).digest('hex'),
});

/** Loads the same files into SQLite on this machine (no schedule), then digests its tables. */
function localLoad(
  dataDir: string,
  dir: string,
): { digests: Record<Table, TableDigest>; columns: Record<Table, string[]> } {
  const file = path.join(dir, 'local.db');
  const args = [
    '--import',
    'tsx',
    'runner/cli.ts',
    'run',
    '--unthrottled',
    '--data-dir',
    dataDir,
    '--db',
    file,
  ];
  args.push('--log', path.join(dir, 'local.log'));
  const r = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`the local SQLite load failed: ${r.stderr}`);
  const db = new Database(file, { readonly: true });
  try {
    const entries = (Object.keys(COMPARED) as Table[]).map((table) => {
      const columns = columnsOf(db, table);
      const order = COMPARED[table].order.join(', ');
      const select = `SELECT ${columns.map(quoteIdent).join(', ')} FROM ${table} ORDER BY ${order}`;
      const rows = (db.prepare(select).all() as object[]).map((row) => JSON.stringify(row));
      return [table, { digest: digest(rows), columns }] as const;
    });
    return {
      digests: Object.fromEntries(entries.map(([t, v]) => [t, v.digest])) as Record<Table, TableDigest>,
      columns: Object.fromEntries(entries.map(([t, v]) => [t, v.columns])) as Record<Table, string[]>,
    };
  } finally {
    db.close();
  }
}

/** The same digest of the twin database's table, or why it cannot be had. */
function databaseDigest(twin: Twin, table: Table, columns: string[]): TableDigest | string {
  const order = COMPARED[table].order.map((c) => `t.${quoteIdent(c)}`).join(', ');
  const rows = `SELECT ${columns.map(quoteIdent).join(', ')} FROM ${table}`;
  try {
    const [count, md5] = twin
      .databaseSql(
        `SELECT count(*), coalesce(md5(string_agg(row_to_json(t)::text, E'\\n' ORDER BY ${order})), '') ` +
          `FROM (${rows}) t`,
      )
      .split('|');
    return { rows: Number(count), md5 };
  } catch (e) {
    const said = `${(e as { stderr?: string }).stderr ?? ''}`.trim();
    return said.split('\n').find((l) => /ERROR/.test(l)) ?? (said || (e as Error).message);
  }
}

export async function runPostgresTwin(settings: PostgresJourneySettings): Promise<PostgresTwinReport> {
  // Before anything starts: a command the docs no longer show stops the journey here.
  const typing = userCommands();
  const twin = new Twin({ ...settings, postgres: true }, settings.log);
  const stage = <T>(name: string, body: () => T | Promise<T>) => twin.stage(name, body);
  let ok = false;
  try {
    await stage('start moto (IAM enforced), an admin user, the twin CA, a fresh clone', () => twin.start());
    await stage('offline only: terraform init from the provider mirror', () => twin.initOffline());
    await stage('CENSUS_DESTINATION=postgres npx cdktf deploy', () => twin.type(typing.deploy));
    const outputs = twin.outputs() as PostgresTwinReport['outputs'];
    const served = await stage("the twin's RDS: a real PostgreSQL behind moto's endpoint", () =>
      twin.serveDatabase(),
    );
    const boot = () => twin.boot('postgres');
    const run = await stage('boot → load into PostgreSQL → publish → power off', boot);
    const local = await stage('a local SQLite load of the same files', () =>
      localLoad(settings.dataDir, twin.scratchDir),
    );
    const tables = Object.fromEntries(
      (Object.keys(COMPARED) as Table[]).map((t) => [t, databaseDigest(twin, t, local.columns[t])]),
    ) as PostgresTwinReport['tables'];
    const sync = await stage('npm run sync', () => twin.type(typing.sync, { mayFail: true }));

    const other = makeCa(path.join(twin.scratchDir, 'other-ca'), 'not-the-signer');
    twin.export(ENV.dbCaBundle, other.cert);
    await stage('npx cdktf deploy, a CA bundle that did not sign the database', () =>
      twin.type(typing.deploy),
    );
    const wrongCa = await stage('boot: the loader refuses the certificate', () => twin.boot('wrong-ca'));

    await stage('npx cdktf destroy', () => twin.type(typing.destroy));
    const leftovers = twin.leftovers();
    ok = true;
    return {
      stages: twin.stages,
      typed: twin.typed.map(({ command, status }) => ({ command, status })),
      outputs,
      served,
      run,
      tables,
      expected: local.digests,
      sync,
      wrongCa,
      leftovers,
    };
  } finally {
    if (!ok) settings.log(`twin failed; its scratch folder is kept: ${twin.scratchDir}`);
    await twin.stop(!ok);
  }
}
