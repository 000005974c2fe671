/**
 * Progress as the database records it, in either database: what `status` prints, what
 * `summary.json` and run.json hold. Quarantine reasons are bounded: the most frequent ones,
 * then how many others and how many records they hold, whatever the input.
 */
import type { Database } from './database.ts';
import type { ReasonCount, SourceStatus, Status } from './store.ts';

/** Reasons listed by name; the rest are counted. */
export const TOP_REASONS = 20;

/** The p-th percentile (nearest rank) of ascending numbers. */
export const percentile = (sorted: readonly number[], p: number) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] : null;
const round = (n: number | null) => (n === null ? null : Math.round(n * 100) / 100);

/** Counts come back from PostgreSQL's bigint as text. */
const numbers = <T extends object>(row: T): T =>
  Object.fromEntries(
    Object.entries(row).map(([k, v]) => [k, typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : v]),
  ) as T;

/** The sources' counts added up, and how far the whole load is. */
export function totalsOf(sources: readonly SourceStatus[]): Status['totals'] {
  const sum = (k: keyof SourceStatus) => sources.reduce((n, s) => n + (s[k] as number), 0);
  const [records, recordsRead] = [sum('records'), sum('recordsRead')];
  return {
    lines: sum('lines'),
    linesRead: sum('linesRead'),
    records,
    recordsRead,
    loaded: sum('loaded'),
    quarantined: sum('quarantined'),
    skipped: sum('skipped'),
    percent: records ? Math.round((recordsRead / records) * 1000) / 10 : 0,
  };
}

export async function readStatus(db: Database): Promise<Status> {
  const sources = (
    await db.all<SourceStatus>(
      'SELECT resource, name, uri, sha256, bytes, lines, records, next_line - 1 AS "linesRead", ' +
        'loaded + quarantined + skipped AS "recordsRead", loaded, quarantined, skipped ' +
        'FROM sources ORDER BY no',
    )
  ).map((s) => numbers(s));
  const ms = (await db.all<{ ms: number }>('SELECT ms FROM batches ORDER BY ms')).map((r) => Number(r.ms));
  const [last] = await db.all<{ at: string | null }>('SELECT max(committed_at) AS at FROM batches');
  const [run] = await db.all<Status['run']>(
    'SELECT run_id AS id, release, started_at AS "startedAt", finished_at AS "finishedAt", ' +
      'published_at AS "publishedAt", published_to AS "publishedTo" FROM run',
  );
  const reasons = (
    await db.all<ReasonCount>(
      'SELECT reason, count(*) AS count FROM quarantine GROUP BY reason ORDER BY count(*) DESC, reason ' +
        `LIMIT ${TOP_REASONS}`,
    )
  ).map((r) => numbers(r));
  const [all] = await db.all<{ reasons: number; records: number }>(
    'SELECT count(DISTINCT reason) AS reasons, count(*) AS records FROM quarantine',
  );
  const listed = reasons.reduce((n, r) => n + r.count, 0);
  return {
    sources,
    totals: totalsOf(sources),
    batches: {
      count: ms.length,
      lastAt: last?.at ?? null,
      msP50: round(percentile(ms, 50)),
      msP99: round(percentile(ms, 99)),
      msMax: round(ms.at(-1) ?? null),
    },
    quarantineReasons: reasons,
    otherReasons: { reasons: Number(all.reasons) - reasons.length, records: Number(all.records) - listed },
    run: run ?? {
      id: null,
      release: null,
      startedAt: null,
      finishedAt: null,
      publishedAt: null,
      publishedTo: null,
    },
    complete: sources.length > 0 && sources.every((s) => s.recordsRead === s.records),
  };
}
