/**
 * The report on the real dataset: every number in it against SQL written here straight over
 * the tables (not through the views), the page in a real headless Chromium, and a report
 * taken mid-run while the load goes on.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { launchChromium } from '../../../runner/insights/browser.ts';
import { COLUMNS } from '../../../runner/dataset/adult.ts';
import { readReport, writeReport } from '../../../runner/insights/report.ts';
import { DATA_DIR, ROOT, finished, runCli, startCli } from '../../support/cli.ts';
import { tempDir } from '../../support/fixtures.ts';
import { requireTool } from '../../support/tools.ts';

const dir = tempDir();
const dbFile = path.join(dir, 'census.db');
const outDir = path.join(dir, 'report');
const load = runCli(['--unthrottled', '--db', dbFile, '--log', path.join(dir, 'log')], {
  CENSUS_DATA_DIR: DATA_DIR,
});
const report = runCli(['report', '--db', dbFile, '--out', outDir]);

const count = (n: number) => n.toLocaleString('en-US');
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

type Table = string[][];
/**
 * The report's Markdown as sections (by `## ` heading), each with its text and its one table
 * (header row first).
 */
function sections(md: string): Map<string, { text: string; table: Table }> {
  return new Map(
    md
      .split(/^## /m)
      .slice(1)
      .map((part) => {
        const [title, ...lines] = part.split('\n');
        const table = lines.filter((l) => l.startsWith('| ')).map((l) => l.slice(2, -2).split(' | '));
        return [title, { text: lines.join('\n'), table: table.filter((_, i) => i !== 1) }];
      }),
  );
}

/** How each "By ..." section groups the records, written here independently of the views. */
const GROUPS: Record<string, string> = {
  'By education': 'education',
  'By occupation': 'occupation',
  'By sex': 'sex',
  'By race': 'race',
  'By marital status': '"marital-status"',
  'By age': `CASE WHEN age < 25 THEN 'under 25' WHEN age < 35 THEN '25-34' WHEN age < 45 THEN '35-44'
    WHEN age < 55 THEN '45-54' WHEN age < 65 THEN '55-64' ELSE '65 and over' END`,
  'By hours worked per week': `CASE WHEN "hours-per-week" < 35 THEN 'under 35'
    WHEN "hours-per-week" < 40 THEN '35-39' WHEN "hours-per-week" = 40 THEN '40'
    WHEN "hours-per-week" < 50 THEN '41-49' WHEN "hours-per-week" < 60 THEN '50-59'
    ELSE '60 and over' END`,
};
const SHARE_SQL = `count(*) AS records, sum(class = '>50K') AS rich, sum(fnlwgt) AS people,
  sum(CASE WHEN class = '>50K' THEN fnlwgt ELSE 0 END) * 1.0 / sum(fnlwgt) AS weighted`;
type Share = { records: number; rich: number; people: number; weighted: number };
const shareCells = (s: Share) => [
  count(s.records),
  count(s.rich),
  pct(s.rich / s.records),
  count(s.people),
  pct(s.weighted),
];

/** Every table and the coverage line of report.md, against SQL over adult, quarantine and sources. */
function assertReportMatches(md: string, file: string): void {
  const db = new Database(file, { readonly: true });
  const get = (sql: string) => db.prepare(sql).get() as Record<string, number>;
  const all = (sql: string) => db.prepare(sql).raw().all() as (string | number)[][];
  const s = sections(md);
  try {
    const t = get(`SELECT sum(next_line - 1) AS read, sum(lines) AS lines, sum(skipped) AS skipped,
      (SELECT count(*) FROM adult) AS loaded, (SELECT count(*) FROM quarantine) AS quarantined FROM sources`);
    const percent = Math.round((t.read / t.lines) * 1000) / 10;
    assert.ok(
      md.includes(
        `${count(t.read)} of ${count(t.lines)} source lines read (${percent}%); ` +
          `${count(t.loaded)} records loaded, ${count(t.quarantined)} quarantined, ${count(t.skipped)} blank`,
      ),
      'the coverage line',
    );
    assert.deepEqual(
      s.get('What this report covers')!.table.slice(1),
      all(`SELECT name, next_line - 1, lines,
      (SELECT count(*) FROM adult WHERE source = name),
      (SELECT count(*) FROM quarantine WHERE source = name), skipped
      FROM sources ORDER BY no`).map(([name, ...n]) => [name, ...n.map((x) => count(x as number))]),
    );

    assert.deepEqual(s.get('Overall')!.table.slice(1), [
      ['All records', ...shareCells(get(`SELECT ${SHARE_SQL} FROM adult`) as Share)],
    ]);

    for (const [title, group] of Object.entries(GROUPS)) {
      const expected = new Map(
        (
          db
            .prepare(`SELECT coalesce(${group}, '(missing)') AS label, ${SHARE_SQL} FROM adult GROUP BY 1`)
            .all() as (Share & { label: string })[]
        ).map((r) => [r.label, shareCells(r)]),
      );
      const rows = s.get(title)!.table.slice(1);
      assert.equal(rows.length, expected.size, `${title}: one row per group`);
      for (const [label, ...cells] of rows)
        assert.deepEqual(cells, expected.get(label), `${title}: ${label}`);
    }

    const records = get('SELECT count(*) AS n FROM adult').n;
    assert.deepEqual(
      s.get('Missing values per column')!.table.slice(1),
      COLUMNS.map((c) => {
        const missing = get(`SELECT count(*) - count("${c.name}") AS n FROM adult`).n;
        return [c.name, count(missing), count(records), records ? pct(missing / records) : '–'];
      }),
    );

    assert.deepEqual(
      s.get('Data quality: quarantined records')!.table.slice(1),
      all(
        'SELECT source, reason, count(*), min(line) FROM quarantine ' +
          'GROUP BY source, reason ORDER BY source, min(line)',
      ).map(([src, reason, n, line]) => [src, reason, count(n as number), String(line)]),
    );
  } finally {
    db.close();
  }
}

test(
  'census-etl report writes report.html and report.md; ' + 'every number in them matches SQL over the tables',
  () => {
    assert.equal(load.code, 0, load.stderr);
    assert.equal(report.code, 0, report.stderr);
    assert.match(report.stdout, /report written: .*report\.html and .*report\.md/);
    const md = readFileSync(path.join(outDir, 'report.md'), 'utf8');
    assert.match(
      md,
      new RegExp(
        '\\*\\*Complete: 48,845 of 48,845 source lines read \\(100%\\); ' +
          '48,837 records loaded, 5 quarantined, 3 blank or comment lines skipped\\.\\*\\*',
      ),
    );
    assertReportMatches(md, dbFile);
    // A few figures as a person would check them against the published dataset.
    assert.match(md, /\| Bachelors \| 8,024 \| 3,312 \| 41\.3% \|/);
    assert.match(md, /\| All records \| 48,837 \| 11,686 \| 23\.9% \|/);
    assert.ok(
      md.includes(
        'Highest: Prof-school (74.0% of records, 73.8% of people); ' +
          'lowest: Preschool (1.2% of records, 1.0% of people).',
      ),
    );
    // The charts report.md points at are there, as SVG.
    for (const [, file] of md.matchAll(/!\[[^\]]*\]\(([^)]+)\)/g))
      assert.match(readFileSync(path.join(outDir, file), 'utf8'), /^<svg /);
  },
);

test('report on a database that does not exist is a usage error (exit 2)', () => {
  const r = runCli(['report', '--db', path.join(dir, 'nope.db'), '--out', path.join(dir, 'nope')]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /no database at .*nope\.db/);
  assert.equal(existsSync(path.join(dir, 'nope')), false);
});

test(
  'in headless Chromium the page loads with no errors and no network, every chart has a size, ' +
    'and tables equal report.md',
  async (t) => {
    if (!requireTool(t, 'chromium')) return;
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
      const errors: string[] = [];
      const fetched: string[] = [];
      page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('request', (r) => r.url().startsWith('file:') || fetched.push(r.url()));
      await page.goto(`file://${path.join(outDir, 'report.html')}`, { waitUntil: 'load' });

      assert.deepEqual(errors, []);
      assert.deepEqual(fetched, [], 'the report is self-contained');
      const charts = await page.locator('figure svg').all();
      assert.equal(charts.length, 8, 'seven share charts and the missing-values chart');
      for (const chart of charts) {
        const box = await chart.boundingBox();
        assert.ok(box && box.width > 100 && box.height > 100, `chart size ${JSON.stringify(box)}`);
        assert.ok((await chart.locator('path, rect').count()) > 10, 'the chart has marks');
      }

      const md = readFileSync(path.join(outDir, 'report.md'), 'utf8');
      const mdTables = [...sections(md).values()].map((s) => s.table);
      const htmlTables = await page.$$eval('table', (tables) =>
        tables.map((tb) => [...tb.rows].map((r) => [...r.cells].map((c) => c.textContent ?? ''))),
      );
      assert.deepEqual(htmlTables, mdTables);

      // The counts behind each share chart are on the chart itself: "label (n=records)".
      const education = await page.locator('#share_by_education svg text').allTextContents();
      for (const [label, records] of mdTables[2].slice(1))
        assert.ok(education.includes(`${label} (n=${records})`), `${label} (n=${records}) on the chart`);

      const shots = path.join(ROOT, 'test-output', 'report');
      mkdirSync(shots, { recursive: true });
      await page.screenshot({ path: path.join(shots, 'report.png'), fullPage: true });
      assert.ok(readFileSync(path.join(shots, 'report.png')).length > 50_000);
    } finally {
      await browser.close();
    }
  },
);

test(
  'mid-run, the report says how much it covers, matches what is loaded, ' +
    'and the load goes on undisturbed',
  async () => {
    const mid = tempDir();
    const midDb = path.join(mid, 'census.db');
    const log = path.join(mid, 'log');
    const batches = () => {
      if (!existsSync(midDb)) return 0;
      const db = new Database(midDb, { readonly: true });
      try {
        // The file can exist before its schema does.
        const created = db.prepare("SELECT count(*) FROM sqlite_schema WHERE name = 'batches'").pluck().get();
        return created ? (db.prepare('SELECT count(*) FROM batches').pluck().get() as number) : 0;
      } finally {
        db.close();
      }
    };
    // One batch a second: the report runs between two of them.
    const child = startCli(['--db', midDb, '--log', log, '--data-dir', DATA_DIR, '--every', '1']);
    const exited = finished(child);
    let during: string;
    try {
      for (let waited = 0; batches() < 2; waited += 100) {
        assert.ok(waited < 20_000, 'the load committed two batches within 20 s');
        await new Promise((r) => setTimeout(r, 100));
      }
      during = readFileSync(
        (await writeReport({ db: midDb, out: path.join(mid, 'during') })).markdown,
        'utf8',
      );
    } finally {
      child.kill('SIGTERM');
    }
    const stopped = await exited;
    assert.equal(stopped.code, 143, stopped.stderr);

    const partial = during.match(
      /\*\*Partial: .* ([\d,]+) of 48,845 source lines read \(([\d.]+)%\); ([\d,]+) records loaded/,
    );
    assert.ok(partial, 'the report says it is partial and how much it covers');
    assert.ok(Number(partial[2]) > 0 && Number(partial[2]) < 100);
    // The figures agree with the coverage line (one snapshot: see the test that interleaves a writer).
    const loaded = partial[3];
    const s = sections(during);
    assert.equal(s.get('Overall')!.table[1][1], loaded);
    const bySex = s
      .get('By sex')!
      .table.slice(1)
      .reduce((n, r) => n + Number(r[1].replaceAll(',', '')), 0);
    assert.equal(count(bySex), loaded);

    // Stopped mid-way, the database holds still: every number checks out exactly.
    const after = readFileSync(
      (await writeReport({ db: midDb, out: path.join(mid, 'after') })).markdown,
      'utf8',
    );
    assert.match(after, /\*\*Partial: /);
    assertReportMatches(after, midDb);

    // The load resumes and finishes as if no report had been taken.
    const resumed = runCli(['--unthrottled', '--db', midDb, '--log', log, '--data-dir', DATA_DIR]);
    assert.equal(resumed.code, 0, resumed.stderr);
    const db = new Database(midDb, { readonly: true });
    assert.equal(db.prepare('SELECT count(*) FROM adult').pluck().get(), 48837);
    db.close();
  },
);

test('the report reads one snapshot: a batch committed between two of its queries shows in none', () => {
  // A complete database of its own; a writer commits "a batch" (rows and their checkpoint)
  // right after the report's first query, as a running load would.
  const file = path.join(tempDir(), 'census.db');
  writeFileSync(file, readFileSync(dbFile));
  const reader = new Database(file, { readonly: true });
  const writer = new Database(file);
  let interleaved = false;
  const commitBatch = writer.transaction(() => {
    writer.exec('INSERT INTO adult SELECT * FROM adult LIMIT 10');
    const moved = 'loaded = loaded + 10, next_line = next_line + 10, lines = lines + 10';
    writer.exec(`UPDATE sources SET ${moved} WHERE no = 0`);
  });
  const prepare = reader.prepare.bind(reader);
  reader.prepare = ((sql: string) => {
    const statement = prepare(sql);
    for (const method of ['all', 'get'] as const) {
      const run = statement[method].bind(statement) as (...args: unknown[]) => unknown;
      Object.assign(statement, {
        [method]: (...args: unknown[]) => {
          const out = run(...args);
          if (!interleaved && /FROM sources/.test(sql)) {
            interleaved = true;
            commitBatch();
          }
          return out;
        },
      });
    }
    return statement;
  }) as typeof reader.prepare;
  try {
    const data = readReport(reader);
    assert.ok(interleaved, 'the writer committed between two queries of the report');
    const loaded = data.status.totals.loaded;
    assert.equal(data.overall.records, loaded, 'share_overall vs the sources the status read');
    const bySex = data.shares.find((s) => s.view.name === 'share_by_sex')!.rows;
    assert.equal(
      bySex.reduce((n, r) => n + r.records, 0),
      loaded,
    );
    const now = writer.prepare('SELECT count(*) FROM adult').pluck().get();
    assert.equal(now, loaded + 10, 'and it did commit');
  } finally {
    reader.close();
    writer.close();
  }
});
