/**
 * The data preflight's decisions: which existing rows would make a step of the plan fail. For each
 * change that checks or converts the rows a table already holds — a CHECK or FOREIGN KEY to add or
 * validate, a NOT NULL over a column that may hold NULLs, a primary key, unique constraint or unique
 * index to build, a type change (or `using` expression) to apply — one DataCheck: the queries that
 * count those rows and show up to five, and what to do about them. src/workflow/preflight.ts runs
 * them read-only on the live database before a plan is written.
 *
 * Pure: the queries come from src/sql/preflight.ts; nothing here talks to a server.
 */
import { type Change, type RelationRef, rewrittenTypes } from '../diff/changes.js';
import type { Column, DatabaseModel, ForeignKey, Index, Table } from '../model/types.js';
import {
  anyNullSql,
  badRowsQueries,
  checkViolatedSql,
  conversionFinderSql,
  convertsSql,
  duplicateQueries,
  orphanQueries,
  type PreflightQueries,
  type UniqueKey,
} from '../sql/preflight.js';
import { quoteIdent, rel } from '../sql/quote.js';
import { withChecksum } from './checksum.js';
import { findRelation, rootTable } from './context.js';
import { rowKey } from './row-key.js';
import type { Plan, Step } from './types.js';

interface CheckBase {
  /** What the step builds or converts: `check public.orders.price_positive`. */
  readonly object: string;
  readonly table: RelationRef;
  /** What the counted rows are, for the message: `rows where (price > 0) is false`. */
  readonly violation: string;
  /** What the user can do about them. */
  readonly fix: string;
  /**
   * Texts that, all present in one statement of a step, mark the step these rows would make fail
   * (where a check that ran out of time puts its hazard).
   */
  readonly markers: readonly string[];
}

/** Rows counted with a query (`count` → `{ n }`, `sample` → `{ row }` JSON text). */
export interface RowsCheck extends CheckBase {
  readonly kind: 'rows';
  readonly queries: PreflightQueries;
}

/**
 * A conversion: `converts` fails on the first row it cannot convert; only then does `finder` (a DO
 * block, row by row) count them and keep five.
 */
export interface ConversionCheck extends CheckBase {
  readonly kind: 'conversion';
  readonly converts: string;
  readonly finder: string;
}

export type DataCheck = RowsCheck | ConversionCheck;

const qualified = (t: RelationRef) => `${t.schema}.${t.name}`;
const q = quoteIdent;

/**
 * The data checks of `changes` (a diff of `live` against the desired state). Tables in `empty`
 * (`schema.name`) hold no row: nothing to check there.
 */
export function dataChecks(live: DatabaseModel, changes: readonly Change[], empty: ReadonlySet<string>): DataCheck[] {
  const out: DataCheck[] = [];
  const holdsRows = (t: RelationRef) => findRelation(live, t) !== undefined && !empty.has(qualified(t));
  // Keys over a column this plan adds have no existing values to check.
  const haveColumns = (t: RelationRef, cols: readonly string[]) =>
    cols.every((n) => columnOf(live, t, n) !== undefined);
  const keyOf = (t: RelationRef) => {
    const root = rootTable(live, t);
    return root === undefined ? undefined : rowKey(root);
  };
  for (const c of changes) {
    switch (c.kind) {
      case 'addCheck':
      case 'validateCheck': {
        if (!c.check.valid || !holdsRows(c.table)) break;
        if (c.kind === 'addCheck' && c.replaces?.expression === c.check.expression && c.replaces.valid) break;
        out.push({
          kind: 'rows',
          object: `check ${qualified(c.table)}.${c.check.name}`,
          table: c.table,
          violation: `rows for which CHECK (${c.check.expression}) is false`,
          fix: 'correct or delete these rows, or change the check',
          markers: [q(c.check.name)],
          queries: badRowsQueries(c.table, checkViolatedSql(c.check.expression), keyOf(c.table)),
        });
        break;
      }
      case 'addForeignKey':
      case 'validateForeignKey': {
        if (!c.foreignKey.valid || !holdsRows(c.table) || !haveColumns(c.table, c.foreignKey.columns)) break;
        if (c.kind === 'addForeignKey' && c.replaces !== undefined && sameReference(c.replaces, c.foreignKey)) break;
        out.push(foreignKeyCheck(live, c.table, c.foreignKey, keyOf(c.table)));
        break;
      }
      case 'alterColumn': {
        const { from, to } = c;
        if (!(from.nullable && !to.nullable) || to.identity !== undefined || !holdsRows(c.table)) break;
        const fill = to.using !== undefined && from.type === to.type ? to.using : undefined;
        out.push({
          kind: 'rows',
          object: `column ${qualified(c.table)}.${to.name}`,
          table: c.table,
          violation:
            fill === undefined
              ? `rows where ${to.name} is NULL (the column becomes NOT NULL)`
              : `rows where ${to.name} is NULL and its \`using\` expression (${fill}) gives NULL too`,
          fix:
            fill === undefined
              ? 'set a value on these rows, or give the column a `using` expression that fills them'
              : 'change the `using` expression so that it gives a value on these rows, or set one on them',
          markers: [q(to.name), 'NOT NULL'],
          queries: badRowsQueries(
            c.table,
            fill === undefined ? `${q(to.name)} IS NULL` : `${q(to.name)} IS NULL AND (${fill}) IS NULL`,
            keyOf(c.table),
          ),
        });
        break;
      }
      case 'addPrimaryKey': {
        if (!holdsRows(c.table) || sameColumns(c.replaces?.columns, c.primaryKey.columns)) break;
        if (!haveColumns(c.table, c.primaryKey.columns)) break;
        const cols = c.primaryKey.columns;
        const object = `primary key ${qualified(c.table)}.${c.primaryKey.name}`;
        const nullable = cols.filter((n) => columnOf(live, c.table, n)?.nullable !== false);
        if (nullable.length > 0) {
          out.push({
            kind: 'rows',
            object,
            table: c.table,
            violation: `rows where a key column (${nullable.join(', ')}) is NULL`,
            fix: 'set a value on these rows, or delete them',
            markers: [q(c.primaryKey.name)],
            queries: badRowsQueries(c.table, anyNullSql(nullable), keyOf(c.table)),
          });
        }
        out.push(duplicates(object, c.table, c.primaryKey.name, columnKeys(cols), { nullsNotDistinct: false }));
        break;
      }
      case 'addUnique': {
        if (!holdsRows(c.table) || sameColumns(c.replaces?.columns, c.constraint.columns)) break;
        if (!haveColumns(c.table, c.constraint.columns)) break;
        out.push(
          duplicates(
            `unique constraint ${qualified(c.table)}.${c.constraint.name}`,
            c.table,
            c.constraint.name,
            columnKeys(c.constraint.columns),
            { nullsNotDistinct: c.constraint.nullsNotDistinct },
          ),
        );
        break;
      }
      case 'createIndex': {
        if (!c.index.unique || !holdsRows(c.table) || sameUniqueness(c.replaces, c.index)) break;
        if (
          !haveColumns(
            c.table,
            c.index.keys.flatMap((k) => (k.column !== undefined ? [k.column] : [])),
          )
        )
          break;
        out.push(
          duplicates(
            `unique index ${c.table.schema}.${c.index.name}`,
            c.table,
            c.index.name,
            c.index.keys.map(
              (k): UniqueKey => (k.column !== undefined ? { column: k.column } : { expression: k.expression! }),
            ),
            {
              nullsNotDistinct: c.index.nullsNotDistinct,
              ...(c.index.where !== undefined ? { where: c.index.where } : {}),
            },
          ),
        );
        break;
      }
      case 'replaceColumn': {
        const { from, to } = c;
        if (!holdsRows(c.table)) break;
        const expression = to.using ?? (from.type !== to.type ? q(from.name) : undefined);
        if (expression !== undefined) out.push(conversionCheck(c.table, from, to, expression, keyOf(c.table)));
        if (!to.nullable && (from.nullable || expression !== undefined)) {
          const value = expression ?? q(from.name);
          out.push({
            kind: 'rows',
            object: `column ${qualified(c.table)}.${to.name}`,
            table: c.table,
            violation: `rows where ${to.name} would be NULL (${value} is NULL; the column is NOT NULL)`,
            fix: 'set a value on these rows, or give a `using` expression that gives one',
            markers: [q(to.name), 'NOT NULL'],
            queries: badRowsQueries(c.table, `(${value}) IS NULL`, keyOf(c.table)),
          });
        }
        break;
      }
      case 'rewriteTable': {
        // The copy converts each changed column with a cast (typeChanges: swap).
        const table = { schema: c.from.schema, name: c.from.name };
        if (!holdsRows(table)) break;
        for (const name of Object.keys(rewrittenTypes(c.from, c.to))) {
          const from = c.from.columns.find((x) => x.name === name)!;
          const to = c.to.columns.find((x) => x.name === name)!;
          out.push(conversionCheck(table, from, to, q(name), keyOf(table)));
        }
        break;
      }
      default:
        break;
    }
  }
  return out;
}

/** The rows whose `expression` (the column `from`, or its `using`) does not convert to `to`'s type. */
function conversionCheck(
  table: RelationRef,
  from: Column,
  to: Column,
  expression: string,
  key: readonly string[] | undefined,
): DataCheck {
  return {
    kind: 'conversion',
    object: `column ${qualified(table)}.${to.name}`,
    table,
    violation: `rows whose ${from.name} does not convert to ${to.type}${to.using !== undefined ? ` with \`using\` (${to.using})` : ''}`,
    fix: "correct these rows, or give (or change) the column's `using` expression so that it converts them",
    markers: [q(from.name)],
    converts: convertsSql(table, expression, to.type),
    finder: conversionFinderSql(table, expression, to.type, key),
  };
}

function foreignKeyCheck(
  live: DatabaseModel,
  table: RelationRef,
  fk: ForeignKey,
  key: readonly string[] | undefined,
): DataCheck {
  const ref = { schema: fk.references.schema, name: fk.references.table };
  const exists = findRelation(live, ref) !== undefined;
  const match = fk.match;
  return {
    kind: 'rows',
    object: `foreign key ${qualified(table)}.${fk.name}`,
    table,
    violation: exists
      ? `rows whose (${fk.columns.join(', ')}) has no match in ${qualified(ref)} (${fk.references.columns.join(', ')})`
      : `rows whose (${fk.columns.join(', ')}) is not NULL: ${qualified(ref)} is created by this plan, empty`,
    fix: exists
      ? `insert the missing rows into ${qualified(ref)}, or correct or delete these rows`
      : 'set these columns to NULL, or create and fill the referenced table in a plan of its own first',
    markers: [q(fk.name)],
    queries: orphanQueries(
      table,
      {
        columns: fk.columns,
        ...(exists ? { references: { table: ref, columns: fk.references.columns } } : {}),
        match,
      },
      key,
    ),
  };
}

function duplicates(
  object: string,
  table: RelationRef,
  name: string,
  keys: readonly UniqueKey[],
  options: { readonly nullsNotDistinct: boolean; readonly where?: string },
): DataCheck {
  return {
    kind: 'rows',
    object,
    table,
    violation: `rows that share their key with another row${options.nullsNotDistinct ? ' (NULLs count as equal)' : ''}`,
    fix: 'remove the duplicates (or make them differ) before applying',
    markers: [q(name)],
    queries: duplicateQueries(table, keys, options),
  };
}

const columnKeys = (cols: readonly string[]): UniqueKey[] => cols.map((column) => ({ column }));

const sameColumns = (a: readonly string[] | undefined, b: readonly string[]) =>
  a !== undefined && a.length === b.length && a.every((x, i) => x === b[i]);

/** A unique index rebuilt with the same keys, predicate and null treatment: the rows already pass. */
function sameUniqueness(old: Index | undefined, next: Index): boolean {
  return (
    old?.unique === true &&
    old.valid &&
    old.where === next.where &&
    old.nullsNotDistinct === next.nullsNotDistinct &&
    JSON.stringify(old.keys.map((k) => [k.column, k.expression])) ===
      JSON.stringify(next.keys.map((k) => [k.column, k.expression]))
  );
}

/** The same columns referencing the same key: the rows that passed the old foreign key pass the new one. */
function sameReference(old: ForeignKey, next: ForeignKey): boolean {
  return (
    old.valid &&
    sameColumns(old.columns, next.columns) &&
    old.references.schema === next.references.schema &&
    old.references.table === next.references.table &&
    sameColumns(old.references.columns, next.references.columns) &&
    (old.match === next.match || next.match === 'simple')
  );
}

function columnOf(live: DatabaseModel, table: RelationRef, name: string): Column | undefined {
  const root: Table | undefined = rootTable(live, table);
  return root?.columns.find((c) => c.name === name);
}

/** The rows shown of a violation, as `id=4`, `email="a@x" (2 rows)`. */
export function describeRow(json: string): string {
  const row = JSON.parse(json) as Record<string, unknown>;
  const parts = Object.entries(row)
    .filter(([k]) => k !== 'rows' && k !== 'error')
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  const rows = typeof row.rows === 'number' ? ` (${row.rows} rows)` : '';
  const error = typeof row.error === 'string' ? `: ${row.error}` : '';
  return `${parts.join(', ')}${rows}${error}`;
}

/**
 * The plan with the `data-unchecked` hazard on each step that checks or converts the rows of a check
 * that could not run: the steps with a statement naming the check's table and all its markers, else
 * every step naming the table.
 */
export function withUncheckedHazards(plan: Plan, unchecked: readonly DataCheck[]): Plan {
  if (unchecked.length === 0) return plan;
  const names = (s: Step, check: DataCheck, markers: readonly string[]) =>
    s.sql.some((stmt) => stmt.includes(rel(check.table)) && markers.every((m) => stmt.includes(m)));
  const marked = new Set<Step>();
  const steps = plan.phases.flatMap((p) => p.steps);
  for (const check of unchecked) {
    const hits = steps.filter((s) => names(s, check, check.markers));
    for (const s of hits.length > 0 ? hits : steps.filter((s) => names(s, check, []))) marked.add(s);
  }
  return withChecksum({
    ...plan,
    phases: plan.phases.map((p) => ({
      ...p,
      steps: p.steps.map((s) =>
        marked.has(s) && !s.hazards.includes('data-unchecked')
          ? { ...s, hazards: [...s.hazards, 'data-unchecked'] }
          : s,
      ),
    })),
  });
}
