/**
 * What a column replacement does, as data (no SQL, no model edit): the column added beside the old
 * one, whether it needs the NOT NULL helper check, the sequences that move to it, and which of the
 * column's indexes, keys and constraints (and which foreign keys of other tables) move with it.
 */
import type { RelationRef, ReplaceColumn } from '../../../diff/changes.js';
import { renameColumnReferences } from '../../../diff/renames.js';
import { stableStringify } from '../../../model/canonical.js';
import type {
  CheckConstraint,
  DatabaseModel,
  ForeignKey,
  Index,
  PrimaryKey,
  RelationParts,
  Sequence,
  Table,
  UniqueConstraint,
} from '../../../model/types.js';
import { type PlanContext, rootTable } from '../../context.js';
import { generatedName } from '../../names.js';
import { mentions } from '../../reparse.js';

/** The three names of the column while it is replaced. */
export interface ColumnNames {
  /** The live column. */
  readonly column: string;
  /** The column added in expand: the new name (rename) or the shadow (type change). */
  readonly shadow: string;
  /** The column's name after contract: the new name, or the old one (type change). */
  readonly final: string;
}

export interface Replacement {
  readonly rename: boolean;
  readonly typeChanged: boolean;
  readonly names: ColumnNames;
  /** NOT NULL at the end: the new column gets a NOT VALID `IS NOT NULL` check in expand. */
  readonly notNull: boolean;
  /** An identity column stays one: the new column gets its own sequence, continued from the old one. */
  readonly identityMoves: boolean;
  /** Sequences the old column owns (serial columns), moved to the new column before it is dropped. */
  readonly ownedSequences: readonly Sequence[];
}

/** The column's replacement, once the refusal rules let it through. */
export function decideReplacement(ctx: PlanContext, ch: ReplaceColumn, live: Table): Replacement {
  const { table, from, to } = ch;
  const rename = from.name !== to.name;
  const shadow = rename
    ? to.name
    : freshColumnName(
        [...live.columns.map((c) => c.name), ...(rootTable(ctx.desired, table)?.columns.map((c) => c.name) ?? [])],
        to.name,
      );
  return {
    rename,
    typeChanged: from.type !== to.type,
    names: { column: from.name, shadow, final: to.name },
    notNull: !to.nullable,
    identityMoves: from.identity !== undefined && to.identity !== undefined,
    // On a rename the desired state says where they go (alterSequence moves them in expand).
    ownedSequences: rename ? [] : liveOwnedSequences(ctx.live, table, from.name),
  };
}

/** `<column>_zdm_new`, shortened to 63 bytes with a hash when needed, not equal to a column of the table. */
function freshColumnName(taken: readonly string[], column: string): string {
  const set = new Set(taken);
  let role = 'zdm_new';
  for (let i = 2; ; i++) {
    const name = generatedName([column], role);
    if (!set.has(name)) return name;
    role = `zdm_new${i}`;
  }
}

function liveOwnedSequences(m: DatabaseModel, table: RelationRef, column: string): Sequence[] {
  return m.schemas.flatMap((s) =>
    s.sequences.filter(
      (q) =>
        q.ownedBy !== undefined &&
        q.ownedBy.schema === table.schema &&
        q.ownedBy.table === table.name &&
        q.ownedBy.column === column,
    ),
  );
}

// ---------------------------------------------------------------------------------------------
// What moves with the column

/** The column's indexes and constraints that are rebuilt on the new column, and the foreign keys that follow it. */
export interface Carried
  extends Pick<RelationParts, 'indexes' | 'checks' | 'foreignKeys' | 'uniqueConstraints' | 'primaryKey'> {
  /** The desired table. */
  readonly desired: Table;
  /**
   * The desired state changes an index or constraint on the column in the same plan: a type change
   * carries them as they are, so it must be the whole change.
   */
  readonly changesInPlan: boolean;
  /** Live foreign keys of any table that reference the column, with the relation that has each. */
  readonly incoming: readonly (readonly [RelationRef, ForeignKey])[];
}

/**
 * A type change carries every object on the column: the desired ones must be exactly those. A
 * rename carries the live ones the desired state keeps as they are (under the new column name);
 * what it adds, drops or changes on the new column is the diff's to plan like any other change
 * (built on the new column, which exists from expand on; dropped before the old column goes).
 * Undefined when the desired state has no such table (nothing to carry over to).
 */
export function decideCarried(
  ctx: PlanContext,
  table: RelationRef,
  live: Table,
  names: ColumnNames,
): Carried | undefined {
  const { column, final } = names;
  const desired = rootTable(ctx.desired, table);
  if (desired === undefined) return undefined;
  const rename = column !== final;
  // The live objects as they read with the column under its final name: what the desired state
  // must say about them for the carry-over to be the whole change.
  const liveFinal = rename
    ? (rootTable(
        renameColumnReferences(ctx.live, { schema: table.schema, table: table.name, from: column, to: final }),
        table,
      ) ?? live)
    : live;
  const uf = usesColumn(final);
  const desiredPk = desired.primaryKey !== undefined && uf.key(desired.primaryKey) ? desired.primaryKey : undefined;
  const finalPk = liveFinal.primaryKey !== undefined && uf.key(liveFinal.primaryKey) ? liveFinal.primaryKey : undefined;
  const kept = <T extends { readonly name: string }>(
    liveOnes: readonly T[],
    finals: readonly T[],
    wanted: readonly T[],
  ) =>
    liveOnes.filter((x) => {
      const f = finals.find((y) => y.name === x.name);
      return (
        f !== undefined &&
        sameIgnoringValidity(
          [f],
          wanted.filter((d) => d.name === x.name),
        )
      );
    });
  const carried = <T extends { readonly name: string }>(
    all: readonly T[],
    finals: readonly T[],
    wanted: readonly T[],
  ): T[] | undefined => {
    const onColumn = all.filter((x) => finals.some((f) => f.name === x.name));
    if (rename) return kept(onColumn, finals, wanted);
    return sameIgnoringValidity(finals, wanted) ? onColumn : undefined;
  };
  // A type change builds the indexes the desired state adds on the column (names the live table
  // does not have) on the shadow column too: built on the old column, they would go with it.
  const liveIndexNames = new Set(live.indexes.map((x) => x.name));
  const wantedIndexes = desired.indexes.filter(uf.ix);
  const addedIndexes = rename ? [] : wantedIndexes.filter((x) => !liveIndexNames.has(x.name));
  const keptIndexes = carried(
    live.indexes,
    liveFinal.indexes.filter(uf.ix),
    wantedIndexes.filter((x) => liveIndexNames.has(x.name) || rename),
  );
  const indexes = keptIndexes === undefined ? undefined : [...keptIndexes, ...addedIndexes];
  const checks = carried(live.checks, liveFinal.checks.filter(uf.check), desired.checks.filter(uf.check));
  const foreignKeys = carried(live.foreignKeys, liveFinal.foreignKeys.filter(uf.fk), desired.foreignKeys.filter(uf.fk));
  const uniqueConstraints = carried(
    live.uniqueConstraints,
    liveFinal.uniqueConstraints.filter(uf.key),
    desired.uniqueConstraints.filter(uf.key),
  );
  const pkSame = stableStringify(finalPk) === stableStringify(desiredPk);
  const primaryKey = live.primaryKey !== undefined && finalPk !== undefined && pkSame ? live.primaryKey : undefined;
  return {
    desired,
    changesInPlan:
      indexes === undefined ||
      checks === undefined ||
      foreignKeys === undefined ||
      uniqueConstraints === undefined ||
      (!rename && !pkSame),
    indexes: indexes ?? [],
    checks: checks ?? [],
    foreignKeys: foreignKeys ?? [],
    uniqueConstraints: uniqueConstraints ?? [],
    ...(primaryKey !== undefined ? { primaryKey } : {}),
    incoming: ctx.liveForeignKeysTo(table).filter(([, fk]) => fk.references.columns.includes(column)),
  };
}

/** A foreign key as it reads once the column it references has its final name. */
export function finalForeignKey(fk: ForeignKey, table: RelationRef, names: ColumnNames): ForeignKey {
  return fk.references.schema === table.schema && fk.references.table === table.name
    ? {
        ...fk,
        references: {
          ...fk.references,
          columns: fk.references.columns.map((c) => (c === names.column ? names.final : c)),
        },
      }
    : fk;
}

const withoutValid = (x: object) => {
  const { valid: _v, ...rest } = x as { valid?: boolean };
  return rest;
};

/** Equal but for validity (a NOT VALID constraint is the same constraint). */
export function sameIgnoringValidity(a: readonly object[], b: readonly object[]): boolean {
  return stableStringify(a.map(withoutValid)) === stableStringify(b.map(withoutValid));
}

/** What mentions the column in a relation: indexes, keys, checks, foreign keys. */
export function usesColumn(column: string) {
  const ix = (i: Index) =>
    i.keys.some((k) => k.column === column || (k.expression !== undefined && mentions(k.expression, column))) ||
    i.include.includes(column) ||
    (i.where !== undefined && mentions(i.where, column));
  const key = (k: PrimaryKey | UniqueConstraint) => k.columns.includes(column) || k.include.includes(column);
  const check = (k: CheckConstraint) => mentions(k.expression, column);
  const fk = (k: ForeignKey) => k.columns.includes(column);
  return { ix, key, check, fk };
}

/** Indexes and constraints declared on a partition alone (at any depth) that use the column. */
export function partitionObjectsUsing(t: RelationParts, u: ReturnType<typeof usesColumn>): string[] {
  return t.partitions.flatMap((p) => [
    ...p.indexes.filter(u.ix).map((x) => `index ${x.name} of partition ${p.name}`),
    ...p.checks.filter(u.check).map((x) => `check ${x.name} of partition ${p.name}`),
    ...p.foreignKeys.filter(u.fk).map((x) => `foreign key ${x.name} of partition ${p.name}`),
    ...p.uniqueConstraints.filter(u.key).map((x) => `unique constraint ${x.name} of partition ${p.name}`),
    ...(p.primaryKey !== undefined && u.key(p.primaryKey)
      ? [`primary key ${p.primaryKey.name} of partition ${p.name}`]
      : []),
    ...partitionObjectsUsing(p, u),
  ]);
}
