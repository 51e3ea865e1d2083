/**
 * VACUUM during a backfill, so that the table does not double.
 *
 * A backfill UPDATE writes a new version of every row and leaves the old one dead. Without a vacuum
 * until the end, the new versions cannot reuse that space: they go to new pages at the end of the
 * table, which ends twice its size (a size a plain VACUUM never gives back). A `VACUUM` (not FULL)
 * each time a share of the rows is done (`--vacuum-every`, 10% by default) marks the space of the
 * row versions replaced so far free, and the next batches write their new versions there: the table
 * grows by about that share instead of by all of it (measured in BENCHMARKS.md, "The copy path").
 * Pages no batch touched yet are all-visible and skipped; only the walked part and the indexes are
 * read.
 *
 * A round runs on a connection of its own where apply can open one (`sideConnection`: the CLI's),
 * while the batches go on beside it: VACUUM and the batches' UPDATEs do not conflict, and on a server
 * with a core to spare the round costs the backfill nothing (it was 12% of a 1,000,000-row backfill
 * run between the batches; BENCHMARKS.md §3). A round due while the last one still runs waits for
 * the next batch. The last round, after the last batch, is waited for: the step ends with the table
 * vacuumed and no VACUUM running. Without a second connection (dry runs, the library without an
 * opener) the rounds run between the batches on the apply session.
 *
 * VACUUM takes SHARE UPDATE EXCLUSIVE on the table: no query, INSERT, UPDATE or DELETE waits for it
 * (it conflicts with DDL, index builds, ANALYZE and other vacuums only). It runs between batches,
 * outside any transaction, under the per-try `lock_timeout`: when autovacuum (or a DDL) holds the
 * table, the round is skipped, reported, and tried again after the next share; zdm never waits in
 * the lock queue behind autovacuum, and never makes it cancel itself. A round that fails otherwise
 * is reported and skipped too: the vacuum only saves space, the backfill goes on without it.
 */
import type { Queryable } from '../db/connection.js';
import type { RelationName } from '../sql/quote.js';
import { heapBytesSql, setConfigSql, vacuumSql } from '../sql/session.js';
import type { RunContext } from './context.js';
import { messageOf, sqlStateOf } from './errors.js';
import { SideSession } from './guard.js';
import { msSetting } from './timing.js';

/**
 * The rows between two vacuums: `share` of the table's estimated rows, at least one batch (null:
 * never, `share` 0). A table never analyzed counts as `fallbackRows`.
 */
export function vacuumInterval(share: number, estimatedRows: number | null, fallbackRows: number): number | null {
  if (share <= 0) return null;
  const rows = estimatedRows !== null && estimatedRows > 0 ? estimatedRows : fallbackRows;
  return Math.max(1, Math.round(rows * share));
}

/** Whether a vacuum is due: the last batch, or `interval` rows since the last one. */
export function vacuumDue(interval: number | null, rowsDone: number, rowsAtLast: number, done: boolean): boolean {
  if (interval === null) return false;
  return done ? rowsDone > rowsAtLast : rowsDone - rowsAtLast >= interval;
}

/**
 * The VACUUM rounds of one backfill step. `between` after every batch; `close` when the step ends
 * (normally: after the last round; after a failure: the round in flight is cancelled).
 */
export class VacuumRounds {
  private inFlight: Promise<void> | null = null;
  /** The rounds' own connection, opened on first use (none where apply has no opener). */
  private readonly side: SideSession;
  /** Its backend, to cancel a round in flight. */
  private pid: number | undefined;
  private warned = false;
  private vacuumedAt: number;

  constructor(
    private readonly ctx: RunContext,
    private readonly stepId: string,
    private readonly table: RelationName,
    private readonly interval: number | null,
    rowsDone: number,
  ) {
    this.side = new SideSession(ctx.s.sideConnection);
    this.vacuumedAt = rowsDone;
  }

  async between(rowsDone: number, done: boolean): Promise<void> {
    if (!vacuumDue(this.interval, rowsDone, this.vacuumedAt, done)) return;
    if (!done && this.inFlight !== null) return;
    await this.inFlight;
    this.vacuumedAt = rowsDone;
    const own = await this.connection();
    const round = vacuumRound(this.ctx, this.stepId, this.table, own ?? this.ctx.c);
    if (done || own === null) await round;
    else
      this.inFlight = round.finally(() => {
        this.inFlight = null;
      });
  }

  /** The rounds' connection; null where none can be had (the rounds then run on the apply session). */
  private async connection(): Promise<Queryable | null> {
    const own = await this.side.get();
    if (own === null) {
      if (this.side.failure !== undefined && !this.warned) {
        this.warned = true;
        this.ctx.emit({
          type: 'warning',
          message: `${this.stepId}: no connection for the VACUUM rounds (${this.side.failure}): they run between the batches`,
        });
      }
      return null;
    }
    this.pid ??= (await own.query<{ pid: number }>('SELECT pg_catalog.pg_backend_pid() AS pid')).rows[0]!.pid;
    return own;
  }

  async close(failed: boolean): Promise<void> {
    if (failed && this.inFlight !== null && this.pid !== undefined) {
      await this.ctx.c.query('SELECT pg_catalog.pg_cancel_backend($1)', [this.pid]).catch(() => {});
    }
    await this.inFlight;
    await this.side.close();
  }
}

/** One VACUUM of `table` on `c`, outside any transaction. Never throws: it reports. */
export async function vacuumRound(ctx: RunContext, stepId: string, table: RelationName, c: Queryable): Promise<void> {
  const { s } = ctx;
  const display = `${table.schema}.${table.name}`;
  const t0 = performance.now();
  let outcome: 'done' | 'skipped' | 'failed' = 'done';
  let why = '';
  try {
    // Session level: VACUUM refuses a transaction block. Batches set their own (SET LOCAL), and
    // apply restores the session's values when the run ends.
    await c.query(setConfigSql(['lock_timeout', 'statement_timeout']), [
      msSetting(s.lockTimeoutMs),
      msSetting(s.backfillStatementTimeoutMs),
    ]);
    await s.hooks.beforeVacuum?.(stepId);
    await c.query(vacuumSql(table));
  } catch (err) {
    outcome = sqlStateOf(err) === '55P03' ? 'skipped' : 'failed';
    why = outcome === 'skipped' ? `its lock was not had within ${s.lockTimeoutMs} ms` : messageOf(err);
  }
  const durationMs = Math.round(performance.now() - t0);
  const size = await c
    .query<{ bytes: string | null }>(heapBytesSql(table))
    .then((r) => (r.rows[0]?.bytes == null ? null : Number(r.rows[0].bytes)))
    .catch(() => null);
  const mb = size === null ? '' : `, table ${(size / 1024 ** 2).toFixed(0)} MB`;
  ctx.emit({
    type: 'vacuum',
    stepId,
    table: display,
    outcome,
    durationMs,
    heapBytes: size,
    message:
      outcome === 'done'
        ? `${stepId}: VACUUM ${display} in ${durationMs} ms (the space of the replaced row versions is reused by the next batches${mb})`
        : `${stepId}: VACUUM ${display} skipped this round: ${why}${mb}`,
  });
}
