/**
 * A concurrent application workload for zero-downtime tests: groups of clients acting as one
 * application version each (the old one writes the old column, the new one the new column),
 * inserting, updating and deleting rows of one table while a plan's phases are applied.
 *
 *   const w = new AppWorkload(db.url, { schema: 'public', name: 'users' }, 'id', initialRows);
 *   const old = await w.start('old-app', 'name', 3);      // 3 clients writing `name`
 *   … apply expand …
 *   const neu = await w.start('new-app', 'display_name', 3);
 *   … apply backfill …
 *   await w.stopGroup(old);                               // the old version is gone before contract
 *   … apply contract …
 *   const report = await w.stop();
 *   expect(report.failures).toEqual([]);
 *   // every row holds the value its last writer wrote: compare with w.expected()
 *
 * Every statement is one auto-committed single-row write; a row is written by one client at a time
 * (the workload keeps a per-row latch), so "the last writer" of each row is well defined and the
 * workload's own record of it (`expected()`) is exact. Keys are chosen by the workload (a counter
 * above the initial rows), so that an insert's row is known without RETURNING.
 */
import pg from 'pg';
import { qualifiedName, quoteIdent } from '../../src/sql/quote.js';

export interface Failure {
  readonly role: string;
  readonly sql: string;
  readonly message: string;
}

export interface AppWorkloadReport {
  readonly statements: number;
  readonly byRole: Readonly<Record<string, { inserts: number; updates: number; deletes: number }>>;
  readonly failures: readonly Failure[];
  readonly maxMs: number;
  readonly p99Ms: number;
}

export interface ClientGroup {
  readonly role: string;
  readonly column: string;
  stop(): Promise<void>;
}

type Value = string | number;

export class AppWorkload {
  private readonly rows = new Map<number, Value>();
  private readonly busy = new Set<number>();
  private readonly groups: ClientGroup[] = [];
  private readonly failures: Failure[] = [];
  private readonly latencies: number[] = [];
  private readonly counts: Record<string, { inserts: number; updates: number; deletes: number }> = {};
  private readonly updateLog: { role: string; id: number; value: Value }[] = [];
  private nextId: number;
  private seq = 0;

  constructor(
    private readonly url: string,
    private readonly table: { readonly schema: string; readonly name: string },
    private readonly key: string,
    initial: ReadonlyMap<number, Value>,
    /** The value written by write number n (unique per write). Default: `w<n>`. */
    private readonly value: (n: number) => Value = (n) => `w${n}`,
    private readonly pauseMs = 2,
  ) {
    for (const [k, v] of initial) this.rows.set(k, v);
    this.nextId = Math.max(0, ...initial.keys()) + 1;
  }

  /**
   * Starts `count` clients of one application version writing `column` of the workload's table, or
   * of `table` (the same rows under another name: the view a table rename leaves behind).
   */
  async start(
    role: string,
    column: string,
    count: number,
    table: { readonly schema: string; readonly name: string } = this.table,
    /**
     * The clients connect with this search_path and name the table unqualified (an application
     * version on its version schema of `--renames views`); `table.schema` is then not used.
     */
    searchPath?: string,
  ): Promise<ClientGroup> {
    this.counts[role] ??= { inserts: 0, updates: 0, deletes: 0 };
    const clients: pg.Client[] = [];
    for (let i = 0; i < count; i++) {
      const c = new pg.Client({
        connectionString: this.url,
        application_name: `zdm-test-${role}`,
        ...(searchPath !== undefined ? { options: `-c search_path=${searchPath.replaceAll(' ', '')}` } : {}),
      });
      c.on('error', () => {});
      await c.connect();
      clients.push(c);
    }
    let running = true;
    const loops = clients.map((c) => this.loop(c, role, column, table, () => running, searchPath !== undefined));
    const group: ClientGroup = {
      role,
      column,
      stop: async () => {
        running = false;
        await Promise.all(loops);
        await Promise.all(clients.map((c) => c.end().catch(() => {})));
      },
    };
    this.groups.push(group);
    return group;
  }

  async stopGroup(g: ClientGroup): Promise<void> {
    await g.stop();
    const i = this.groups.indexOf(g);
    if (i >= 0) this.groups.splice(i, 1);
  }

  /** Stops every client still running and reports. */
  async stop(): Promise<AppWorkloadReport> {
    for (const g of [...this.groups]) await this.stopGroup(g);
    const sorted = [...this.latencies].sort((a, b) => a - b);
    return {
      statements: sorted.length,
      byRole: this.counts,
      failures: this.failures,
      maxMs: sorted[sorted.length - 1] ?? 0,
      p99Ms: sorted[Math.min(sorted.length - 1, Math.floor(0.99 * sorted.length))] ?? 0,
    };
  }

  /** Every UPDATE that succeeded, in order: which version, which row, the value it wrote. */
  updates(): readonly { readonly role: string; readonly id: number; readonly value: Value }[] {
    return this.updateLog;
  }

  /** Each live row's key and the value its last writer wrote. */
  expected(): ReadonlyMap<number, Value> {
    return this.rows;
  }

  private pick(): number | undefined {
    const keys = [...this.rows.keys()];
    for (let tries = 0; tries < 10 && keys.length > 0; tries++) {
      const k = keys[Math.floor(Math.random() * keys.length)]!;
      if (!this.busy.has(k)) return k;
    }
    return undefined;
  }

  private async loop(
    c: pg.Client,
    role: string,
    column: string,
    table: { readonly schema: string; readonly name: string },
    running: () => boolean,
    unqualified = false,
  ): Promise<void> {
    const t = unqualified ? quoteIdent(table.name) : qualifiedName(table.schema, table.name);
    const k = quoteIdent(this.key);
    const col = quoteIdent(column);
    while (running()) {
      const r = Math.random();
      let id: number | undefined;
      let sql: string;
      let values: unknown[];
      let apply: () => void;
      const v = this.value(++this.seq);
      if (r < 0.3 || this.rows.size < 10) {
        id = this.nextId++;
        sql = `INSERT INTO ${t} (${k}, ${col}) VALUES ($1, $2)`;
        values = [id, v];
        const key = id;
        apply = () => {
          this.rows.set(key, v);
          this.counts[role]!.inserts++;
        };
      } else {
        id = this.pick();
        if (id === undefined) {
          await sleep(1);
          continue;
        }
        const key = id;
        if (r < 0.85) {
          sql = `UPDATE ${t} SET ${col} = $2 WHERE ${k} = $1`;
          values = [id, v];
          apply = () => {
            this.rows.set(key, v);
            this.counts[role]!.updates++;
            this.updateLog.push({ role, id: key, value: v });
          };
        } else {
          sql = `DELETE FROM ${t} WHERE ${k} = $1`;
          values = [id];
          apply = () => {
            this.rows.delete(key);
            this.counts[role]!.deletes++;
          };
        }
      }
      this.busy.add(id);
      const t0 = performance.now();
      try {
        await c.query(sql, values);
        apply();
      } catch (err) {
        this.failures.push({ role, sql, message: (err as Error).message });
      } finally {
        this.latencies.push(performance.now() - t0);
        this.busy.delete(id);
      }
      if (this.pauseMs > 0) await sleep(this.pauseMs);
    }
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
