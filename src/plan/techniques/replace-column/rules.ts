/**
 * Why a column replacement cannot be planned: named rules, each `(facts) → reason | undefined`,
 * checked in order; the first reason refuses the change (one reason per column: the next plan
 * tells the next one). Each rule states one PostgreSQL fact or one limit of the technique.
 */
import type { ReplaceColumn } from '../../../diff/changes.js';
import { qualified } from '../../../model/names.js';
import { triggerKey } from '../../../model/routines.js';
import type { Column, Table } from '../../../model/types.js';
import { findRelation, type PlanContext } from '../../context.js';
import { mentions } from '../../reparse.js';
import { hasBatchKey } from '../../row-key.js';
import { columnDependents } from '../column-dependents.js';
import { triggersNaming } from '../routines.js';
import {
  type Carried,
  type ColumnNames,
  finalForeignKey,
  partitionObjectsUsing,
  sameIgnoringValidity,
  usesColumn,
} from './decide.js';

/** What every rule may look at. */
export interface ReplaceFacts {
  readonly ctx: PlanContext;
  readonly change: ReplaceColumn;
  /** The live table (the root of its partition tree). */
  readonly live: Table;
}

/** … and, for the rules about what moves with the column, that decision. */
export interface CarryFacts extends ReplaceFacts {
  readonly names: ColumnNames;
  readonly carried: Carried;
}

export interface Rule<F> {
  readonly name: string;
  /** Why the change cannot be planned, or undefined when this rule lets it through. */
  readonly refuse: (facts: F) => string | undefined;
}

const renames = (ch: ReplaceColumn): boolean => ch.from.name !== ch.to.name;
const typeChanges = (ch: ReplaceColumn): boolean => ch.from.type !== ch.to.type;

/** A virtual generated column whose type alone changes: an in-place catalog change, not a replacement. */
export function isVirtualTypeChange(ch: ReplaceColumn): boolean {
  const { from, to } = ch;
  return (
    !renames(ch) &&
    from.generated?.stored === false &&
    to.generated?.stored === false &&
    from.generated.expression === to.generated.expression
  );
}

/** Checked first, for every replacement (in-place virtual type changes too). */
export const COLUMN_RULES: readonly Rule<ReplaceFacts>[] = [
  {
    // ADD COLUMN on a parent reaches its children, but its sync trigger does not (triggers are not
    // inherited), and the backfill's UPDATE of the parent would update the children's rows too.
    name: 'inheritance',
    refuse: ({ ctx, live }) => {
      const key = `${live.schema}.${live.name}`;
      const children = ctx.live.schemas.flatMap((s) =>
        s.tables.filter((t) => t.inherits?.includes(key)).map((t) => `${t.schema}.${t.name}`),
      );
      if (live.inherits !== undefined) {
        return `the table inherits from ${live.inherits.join(', ')} (INHERITS): a rename or type change of its columns is not supported yet`;
      }
      return children.length > 0
        ? `the table has INHERITS children (${children.join(', ')}): a rename or type change of its columns is not supported yet`
        : undefined;
    },
  },
  {
    name: 'becomes-identity',
    refuse: ({ change: { from, to } }) =>
      from.identity === undefined && to.identity !== undefined
        ? 'the column becomes an identity column: change that in a plan of its own (before or after)'
        : undefined,
  },
  {
    // Views over the column, the policies over it (of the table, or of another one) and the
    // SQL-standard bodies that read it are dropped (a body: emptied) and created again in the swap
    // (steps.ts, column-dependents.ts); what zdm does not manage cannot be (triggers have their own rule).
    name: 'unmanaged-uses-column',
    refuse: ({ ctx, change }) => {
      const carried = columnDependents(ctx, change.table, change.from.name);
      const deps = ctx
        .unmanagedDependents(change.table, change.from.name)
        .filter((k) => !k.startsWith('trigger ') && !carried.has(k));
      return deps.length > 0
        ? `${ctx.namedDependents(deps).join(', ')} depend${deps.length === 1 ? 's' : ''} on the column: change ${deps.length === 1 ? 'it' : 'them'} in a plan of ${deps.length === 1 ? 'its' : 'their'} own first`
        : undefined;
    },
  },
];

/** An in-place type change of a virtual generated column (PostgreSQL 18). */
export const VIRTUAL_RULES: readonly Rule<ReplaceFacts>[] = [
  {
    // Expressions that use the column would be re-parsed with new casts (a virtual column cannot be
    // indexed; a check may use it).
    name: 'check-uses-virtual-column',
    refuse: ({ live, change }) => {
      const checks = live.checks.filter(usesColumn(change.from.name).check).map((x) => x.name);
      return checks.length > 0
        ? `check ${checks.join(', ')} uses the virtual generated column: PostgreSQL re-parses it with new casts on a type change; drop it in a plan of its own first`
        : undefined;
    },
  },
  {
    name: 'virtual-column-changes-more',
    refuse: ({ change: { from, to } }) =>
      from.nullable !== to.nullable || from.collation !== to.collation
        ? 'change the type of the virtual generated column in a plan of its own (NOT NULL or collation change too)'
        : undefined,
  },
];

/** A replacement through a second column and the sync trigger. */
export const SHADOW_RULES: readonly Rule<ReplaceFacts>[] = [
  {
    name: 'generated-column',
    refuse: ({ change: { from, to }, change }) =>
      from.generated !== undefined || to.generated !== undefined
        ? generatedRefusal(from, to, renames(change))
        : undefined,
  },
  {
    name: 'trigger-depends-on-column',
    // Triggers of the table the desired state keeps are dropped and created again in the swap
    // (steps.ts); others cannot be.
    refuse: ({ ctx, change: { table, from } }) => {
      const kept = new Set(triggersNaming(ctx, table, from.name));
      const triggers = ctx
        .userTriggersOn(table)
        .filter((t) => t.dependsOn.some((d) => d.table === table.name && d.column === from.name))
        .filter((t) => !kept.has(triggerKey({ schema: table.schema, table: table.name, name: t.name })));
      return triggers.length > 0
        ? `trigger(s) ${triggers.map((t) => t.name).join(', ')} depend on the column (UPDATE OF or WHEN): PostgreSQL refuses to drop it under them`
        : undefined;
    },
  },
  {
    name: 'column-in-partition-key',
    refuse: ({ live, change: { from } }) =>
      live.partitionBy?.columns.some((k) => k === from.name || mentions(k, from.name))
        ? 'the column is in the partition key'
        : undefined,
  },
  {
    name: 'no-cast',
    refuse: ({ change }) => {
      const { from, to } = change;
      return typeChanges(change) && to.using === undefined && !castExists(from.type, to.type)
        ? `there is no cast from ${from.type} to ${to.type}: give a \`using\` expression`
        : undefined;
    },
  },
  {
    name: 'no-cast-back',
    refuse: ({ change }) => {
      const { from, to } = change;
      return typeChanges(change) && to.reverse === undefined && !castExists(to.type, from.type)
        ? `there is no cast back from ${to.type} to ${from.type} for the sync trigger's new → old direction ` +
            `(a write of the new application version must set the old column too): give a \`reverse\` expression ` +
            `over \`${to.name}\` (the ${to.type} value) that computes the ${from.type} value`
        : undefined;
    },
  },
  {
    name: 'reverse-without-using',
    refuse: ({ change }) => {
      const { from, to } = change;
      return !typeChanges(change) && to.reverse !== undefined && to.using === undefined
        ? `\`reverse\` is given but \`using\` is not: a rename with no type change copies ${from.name} to ${to.name} unchanged, ` +
            'so the sync trigger copies it back unchanged too; remove `reverse`, or give `using` (old → new) as well'
        : undefined;
    },
  },
];

/** About the column's indexes, keys and constraints, and the foreign keys that reference it. */
export const CARRY_RULES: readonly Rule<CarryFacts>[] = [
  {
    name: 'constraints-change-too',
    refuse: ({ carried }) =>
      carried.changesInPlan
        ? 'the indexes or constraints on the column change in the same plan: change the type first, then them, in a second plan'
        : undefined,
  },
  {
    name: 'exclusion-uses-column',
    refuse: ({ live, names: { column } }) =>
      live.exclusionConstraints.some((x) =>
        x.elements.some((e) => e.key.column === column || mentions(e.key.expression ?? '', column)),
      )
        ? 'an exclusion constraint uses the column: not supported by the shadow-column recipe yet'
        : undefined,
  },
  // What the recipe cannot do on a partitioned table (PostgreSQL facts, checked on 14 and 18): ADD
  // CONSTRAINT … USING INDEX is refused on a partitioned table, and so is a foreign key added NOT
  // VALID before 18. Objects declared on one partition alone would go with the old column.
  {
    name: 'partitioned-key-on-column',
    refuse: ({ live, carried }) => {
      const blockers = [
        ...(carried.primaryKey ? [`primary key ${carried.primaryKey.name}`] : []),
        ...carried.uniqueConstraints.map((k) => `unique constraint ${k.name}`),
      ];
      return live.partitionBy !== undefined && blockers.length > 0
        ? `the table is partitioned and ${blockers.join(', ')} uses the column: PostgreSQL cannot attach a key to a ` +
            'partitioned table from an index built beforehand (ADD CONSTRAINT … USING INDEX), so the key cannot move to ' +
            'the new column without being rebuilt under ACCESS EXCLUSIVE on every partition; not supported (keep the ' +
            'column as it is, or change it with ALTER TABLE in a maintenance window)'
        : undefined;
    },
  },
  {
    name: 'partitioned-foreign-key-on-column',
    refuse: ({ live, carried }) =>
      live.partitionBy !== undefined && carried.foreignKeys.length > 0
        ? `the table is partitioned and foreign key ${carried.foreignKeys.map((k) => k.name).join(', ')} uses the column: the recipe ` +
          'adds it to the new column NOT VALID, which PostgreSQL refuses on a partitioned table before 18; not ' +
          'supported yet (drop the foreign key in a plan of its own first, and add it back afterwards)'
        : undefined,
  },
  {
    name: 'partition-own-object-on-column',
    refuse: ({ live, names: { column } }) => {
      const own = live.partitionBy !== undefined ? partitionObjectsUsing(live, usesColumn(column)) : [];
      return own.length > 0
        ? `the table is partitioned and ${own.join(', ')} (declared on one partition, not on the table) uses the column: ` +
            'not supported yet (drop it in a plan of its own first, or declare it on the partitioned table)'
        : undefined;
    },
  },
  {
    name: 'partitioned-without-batch-key',
    refuse: ({ live }) =>
      live.partitionBy !== undefined && !hasBatchKey(live)
        ? 'the table is partitioned and has no primary key or unique key over NOT NULL columns: the backfill can only ' +
          'walk a partitioned table in batches by such a key (declare one first, in a plan of its own)'
        : undefined,
  },
  {
    name: 'self-referencing-foreign-key',
    refuse: ({ change: { table }, carried }) =>
      carried.incoming.some(([child]) => child.schema === table.schema && child.name === table.name)
        ? 'a foreign key of the table refers to the column itself: not supported by the shadow-column recipe yet'
        : undefined,
  },
  {
    // The foreign keys that reference the column are re-added by the contract as they are (on the
    // final name): a change of one of them in the same plan would be planned twice.
    name: 'referencing-foreign-key-changes-too',
    refuse: ({ ctx, change, names, carried }) => {
      for (const [child, fk] of carried.incoming) {
        const owner = findRelation(ctx.desired, child);
        const want = owner?.foreignKeys.find((x) => x.name === fk.name);
        if (
          owner !== undefined &&
          (want === undefined || !sameIgnoringValidity([finalForeignKey(fk, change.table, names)], [want]))
        ) {
          return `foreign key ${fk.name} on ${qualified(child.schema, child.name)} references the column and changes in the same plan: do the ${renames(change) ? 'rename' : 'type change'} first, then change it, in a second plan`;
        }
      }
      return undefined;
    },
  },
];

/** The first reason of the first rule that refuses, or undefined. */
export function firstRefusal<F>(rules: readonly Rule<F>[], facts: F): string | undefined {
  for (const r of rules) {
    const why = r.refuse(facts);
    if (why !== undefined) return why;
  }
  return undefined;
}

const NUMERIC = new Set(['smallint', 'integer', 'bigint', 'numeric', 'real', 'double precision']);
const TEXTUAL = new Set(['text', 'character varying', 'character', 'name']);
const base = (t: string): string => t.replace(/\(.*\)/, '').replace(/\[\]$/, '[]');

/**
 * Whether `CAST(x AS to)` exists for a value of type `from`, as far as zdm can tell without the
 * server: any type to and from the string types (I/O conversion), between the numeric types, and
 * between spellings of one base type. Anything else needs a `using` expression.
 */
export function castExists(from: string, to: string): boolean {
  const a = base(from);
  const b = base(to);
  if (a === b) return true;
  if (TEXTUAL.has(a) || TEXTUAL.has(b)) return true;
  if (NUMERIC.has(a) && NUMERIC.has(b)) return true;
  const times = new Set(['timestamp without time zone', 'timestamp with time zone', 'date']);
  return times.has(a) && times.has(b);
}

/**
 * Why a generated column is not renamed or retyped through a second column, and what to do. The
 * sync trigger cannot write a generated column (PostgreSQL computes it), and every other way to
 * give a stored generated column a new type or name with its values (ALTER COLUMN … TYPE, a new
 * stored generated column) rewrites the table under ACCESS EXCLUSIVE (measured: a new relfilenode).
 */
function generatedRefusal(from: Column, to: Column, rename: boolean): string {
  const change = rename ? 'rename it' : 'change its type';
  if (from.generated === undefined) {
    return 'a plain column cannot become a generated column in place: add the generated column under a new name (a plan of its own) and drop this one in a later plan';
  }
  if (to.generated === undefined) {
    return `the column stops being generated and is ${rename ? 'renamed' : 'retyped'} in the same plan: first make it a plain column (a plan of its own: ALTER COLUMN … DROP EXPRESSION, instant), then ${change} in the next plan`;
  }
  if (!rename && !from.generated.stored) {
    return to.generated.stored
      ? 'switching a generated column between stored and virtual is not supported yet'
      : 'the type and the generation expression of a virtual generated column change in the same plan: change the expression in a plan of its own first (ALTER COLUMN … SET EXPRESSION), then the type (catalog only, no rewrite)';
  }
  const kind = from.generated.stored ? 'stored' : 'virtual';
  const why = rename
    ? 'ALTER TABLE … RENAME COLUMN would break the running application version'
    : 'ALTER COLUMN … TYPE recomputes every row, rewriting the table under ACCESS EXCLUSIVE';
  const cost = from.generated.stored ? 'it rewrites the table: planned with the table-rewrite hazard' : 'instant';
  return (
    `a ${kind} generated column cannot be ${rename ? 'renamed' : 'given another type'} through a sync trigger: ` +
    `PostgreSQL computes its value and a trigger cannot write it, and ${why}. Instead add a ${kind} generated column ` +
    `${rename ? 'under the new name' : 'of the new type under a new name'} (a plan of its own; ${cost}), move the ` +
    'application to it, and drop this one in a later plan'
  );
}
