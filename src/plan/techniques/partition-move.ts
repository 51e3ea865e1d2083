/**
 * Adding a partition to a table that has a default partition: rows of the default partition that
 * the new partition covers must move into it, or ATTACH fails (PostgreSQL checks the default
 * partition's rows against the new bound). One transaction, under lock_timeout:
 *
 *   LOCK TABLE default IN EXCLUSIVE MODE          -- writes to the default partition wait, reads go on
 *   WITH moved AS (DELETE FROM default WHERE <bound> RETURNING cols) INSERT INTO new (cols) SELECT cols FROM moved
 *   ALTER TABLE new ADD CONSTRAINT tmp CHECK (<bound>)   -- lets ATTACH skip scanning the new partition
 *   ALTER TABLE parent ATTACH PARTITION new …     -- scans the default partition under ACCESS EXCLUSIVE
 *   ALTER TABLE new DROP CONSTRAINT tmp
 *
 * The rows leave the default partition and appear in the new one in the same commit. EXCLUSIVE on
 * the default partition stops a concurrent write from putting a covered row back between the move
 * and the ATTACH (which would make the ATTACH fail).
 */
import type { RelationRef } from '../../diff/changes.js';
import type { PartitionBound, PartitionKey } from '../../model/types.js';
import { identList, quoteIdent } from '../../sql/quote.js';
import { boundValue, rel } from '../sql.js';

const keyElement = (e: string): string => (/^[^\s()"]+$/.test(e) ? quoteIdent(e) : e);

/** A predicate over the parent's rows that holds exactly for the rows the bound takes (undefined: every row). */
export function boundPredicateSql(key: PartitionKey, bound: PartitionBound): string | undefined {
  const cols = key.columns.map(keyElement);
  switch (bound.kind) {
    case 'range': {
      const side = (values: readonly string[], lower: boolean): string | undefined => {
        const cut = values.findIndex((v) => /^(minvalue|maxvalue)$/i.test(v));
        const n = cut < 0 ? values.length : cut;
        if (n === 0) return undefined;
        const after = cut < 0 ? undefined : values[cut]!.toLowerCase();
        // The first MINVALUE/MAXVALUE ends the comparison: the prefix decides, inclusive or not.
        const op = lower ? (after === 'maxvalue' ? '>' : '>=') : after === 'maxvalue' ? '<=' : '<';
        const l = n === 1 ? cols[0]! : `(${cols.slice(0, n).join(', ')})`;
        const r = n === 1 ? boundValue(values[0]!) : `(${values.slice(0, n).map(boundValue).join(', ')})`;
        return `${l} ${op} ${r}`;
      };
      const parts = [side(bound.from, true), side(bound.to, false)].filter((x): x is string => x !== undefined);
      return parts.length === 0 ? undefined : parts.join(' AND ');
    }
    case 'list': {
      const values = bound.values.filter((v) => !/^null$/i.test(v));
      const parts: string[] = [];
      if (values.length > 0) parts.push(`${cols[0]} IN (${values.map(boundValue).join(', ')})`);
      if (values.length < bound.values.length) parts.push(`${cols[0]} IS NULL`);
      return parts.length === 0 ? 'false' : parts.join(' OR ');
    }
    // A hash-partitioned table has no default partition to move rows out of.
    case 'hash':
    case 'default':
      return undefined;
  }
}

/** Statements that move the covered rows out of the default partition, before the ATTACH. */
export function moveFromDefaultSql(
  defaultPart: RelationRef,
  target: RelationRef,
  columns: readonly string[],
  predicate: string,
  checkName: string,
): { readonly before: string[]; readonly after: string[] } {
  const cols = identList(columns);
  return {
    before: [
      `LOCK TABLE ${rel(defaultPart)} IN EXCLUSIVE MODE`,
      `WITH moved AS (DELETE FROM ${rel(defaultPart)} WHERE ${predicate} RETURNING ${cols}) ` +
        `INSERT INTO ${rel(target)} (${cols}) SELECT ${cols} FROM moved`,
      `ALTER TABLE ${rel(target)} ADD CONSTRAINT ${quoteIdent(checkName)} CHECK (${predicate})`,
    ],
    after: [`ALTER TABLE ${rel(target)} DROP CONSTRAINT ${quoteIdent(checkName)}`],
  };
}
