/**
 * The Store over a destination's Database: the sources registry, the run's identity and
 * lifecycle, batches, status, reads and checksums, written once for both databases.
 */
import type { Dataset, Table } from '../dataset/model.ts';
import { UsageError } from '../shared/errors.ts';
import { LOCAL_RELEASE, runId } from '../publish/results.ts';
import type { Database } from './database.ts';
import { tableChecksum } from './checksum.ts';
import { writeBatch } from './batch.ts';
import { readStatus } from './status.ts';
import type { Batch, Committed, RunIdentity, SourceProgress, SourceRecord, Status, Store } from './store.ts';

/** A run of `release` that starts now: its start time, and the id made from it. */
function startingNow(release: string): { id: string; startedAt: string } {
  const startedAt = new Date();
  return { id: runId(startedAt, release), startedAt: startedAt.toISOString() };
}

export class SqlStore implements Store {
  readonly kind: Database['kind'];
  readonly display: string;
  private readonly tables: Map<string, Table>;

  constructor(
    private readonly db: Database,
    readonly dataset: Dataset,
    private readonly extras: { snapshot?: (target: string) => Promise<void>; release?: () => void } = {},
  ) {
    this.kind = db.kind;
    this.display = db.display;
    this.tables = new Map(dataset.tables.map((t) => [t.name, t]));
  }

  async registerSources(staged: readonly SourceRecord[]): Promise<void> {
    const known = await this.db.all<Pick<SourceRecord, 'resource' | 'name' | 'sha256'>>(
      'SELECT resource, name, sha256 FROM sources ORDER BY no',
    );
    if (known.length === 0) {
      await this.db.transaction(async () => {
        for (const s of staged) {
          await this.db.run(
            'INSERT INTO sources (no, resource, name, uri, sha256, bytes, lines, records) ' +
              'VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
            [s.no, s.resource, s.name, s.uri, s.sha256, s.bytes, s.lines, s.records],
          );
        }
      });
      return;
    }
    const same =
      known.length === staged.length &&
      known.every(
        (k, i) =>
          k.sha256 === staged[i].sha256 && k.name === staged[i].name && k.resource === staged[i].resource,
      );
    if (!same) {
      const list = (xs: readonly Pick<SourceRecord, 'name' | 'sha256'>[]) =>
        xs.map((x) => `${x.name} (${x.sha256.slice(0, 12)})`).join(', ');
      throw new Error(
        `database ${this.display} was loaded from ${list(known)}; the sources now are ${list(staged)}. ` +
          'Use a new database (--db) to load different files',
      );
    }
  }

  async readProgress(): Promise<SourceProgress[]> {
    const rows = await this.db.all<Record<keyof SourceProgress, number | string>>(
      'SELECT no, next_offset AS "nextOffset", next_line AS "nextLine", loaded, quarantined, skipped ' +
        'FROM sources ORDER BY no',
    );
    return rows.map((r) => ({
      no: Number(r.no),
      nextOffset: Number(r.nextOffset),
      nextLine: Number(r.nextLine),
      loaded: Number(r.loaded),
      quarantined: Number(r.quarantined),
      skipped: Number(r.skipped),
    }));
  }

  writeBatch(batch: Batch): Promise<Committed> {
    return writeBatch(this.db, this.tables, batch);
  }

  async claimRun(wanted: { id?: string; release?: string }): Promise<RunIdentity> {
    const [known] = await this.db.all<Omit<RunIdentity, 'resumed'>>(
      'SELECT run_id AS id, release, started_at AS "startedAt" FROM run',
    );
    if (known) {
      const clash =
        (wanted.id !== undefined && wanted.id !== known.id && `--run-id ${wanted.id}`) ||
        (wanted.release !== undefined && wanted.release !== known.release && `release ${wanted.release}`);
      if (clash) {
        throw new UsageError(
          `database ${this.display} holds run ${known.id} (release ${known.release}), not ${clash}: ` +
            'use a new --db for a new run',
        );
      }
      return { ...known, resumed: true };
    }
    const release = wanted.release ?? LOCAL_RELEASE;
    const now = startingNow(release);
    const id = wanted.id ?? now.id;
    await this.db.run('INSERT INTO run (id, run_id, release, started_at) VALUES (1, ?, ?, ?)', [
      id,
      release,
      now.startedAt,
    ]);
    return { id, release, startedAt: now.startedAt, resumed: false };
  }

  async renewRun(run: RunIdentity): Promise<RunIdentity> {
    const { id, startedAt } = startingNow(run.release);
    await this.db.run('UPDATE run SET run_id = ?, started_at = ? WHERE id = 1', [id, startedAt]);
    return { ...run, id, startedAt };
  }

  async markFinished(): Promise<void> {
    await this.db.run('UPDATE run SET finished_at = coalesce(finished_at, ?)', [new Date().toISOString()]);
  }

  async markPublished(to: string): Promise<void> {
    await this.db.run('UPDATE run SET published_at = ?, published_to = ?', [new Date().toISOString(), to]);
  }

  status(): Promise<Status> {
    return readStatus(this.db);
  }

  read(queries: readonly string[]): Promise<Record<string, unknown>[][]> {
    return this.db.transaction(async () => {
      const out: Record<string, unknown>[][] = [];
      for (const sql of queries) out.push(await this.db.all(sql));
      return out;
    });
  }

  async checksums(): Promise<Record<string, { rows: number; sha256: string }>> {
    const out: Record<string, { rows: number; sha256: string }> = {};
    for (const t of this.dataset.tables) out[t.name] = await tableChecksum(this.db, t);
    return out;
  }

  async snapshot(target: string): Promise<string | null> {
    if (!this.extras.snapshot) return null;
    await this.extras.snapshot(target);
    return target;
  }

  async close(): Promise<void> {
    try {
      await this.db.close();
    } finally {
      this.extras.release?.();
    }
  }
}
