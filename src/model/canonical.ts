import { createHash } from 'node:crypto';
import type { DatabaseModel, Index, Partition, RelationParts, SchemaModel, Table } from './types.js';

const byName = <T extends { readonly name: string }>(a: T, b: T): number =>
  a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
const sorted = <T extends { readonly name: string }>(xs: readonly T[]): T[] => [...xs].sort(byName);

function canonicalIndex(ix: Index): Omit<Index, 'valid'> {
  // Validity is live state (a failed CONCURRENTLY build), not something a desired state declares.
  const { valid: _valid, ...rest } = ix;
  return rest;
}

function canonicalParts<T extends RelationParts>(r: T): T {
  return {
    ...r,
    uniqueConstraints: sorted(r.uniqueConstraints),
    checks: sorted(r.checks),
    foreignKeys: sorted(r.foreignKeys),
    exclusionConstraints: sorted(r.exclusionConstraints),
    indexes: sorted(r.indexes).map(canonicalIndex) as unknown as Index[],
    partitions: [...r.partitions]
      .sort((a, b) => byName({ name: `${a.schema}.${a.name}` }, { name: `${b.schema}.${b.name}` }))
      .map((p) => canonicalParts<Partition>(p)),
  };
}

function canonicalTable(t: Table): Table {
  const { renamedFrom: _r, ...rest } = canonicalParts(t);
  return {
    ...rest,
    // Column order of an existing table is not a difference.
    columns: sorted(t.columns).map(({ renamedFrom: _rf, using: _u, reverse: _r, ...c }) => c),
  };
}

function canonicalSchema(s: SchemaModel): SchemaModel {
  return {
    ...s,
    enums: sorted(s.enums),
    domains: sorted(s.domains).map((d) => ({ ...d, checks: sorted(d.checks) })),
    sequences: sorted(s.sequences),
    tables: sorted(s.tables).map(canonicalTable),
  };
}

/**
 * The comparable form of a model: named sets sorted, desired-only directives (`renamedFrom`,
 * `using`, `reverse`) and live-only facts (index validity, dependents, server version) removed, column order
 * ignored. Two models describe the same schema exactly when their canonical forms are deep-equal.
 */
export function canonicalize(m: DatabaseModel): DatabaseModel {
  return {
    kind: 'database',
    extensions: sorted(m.extensions),
    schemas: sorted(m.schemas).map(canonicalSchema),
  };
}

/** JSON with object keys sorted at every level: the byte form that fingerprints hash. */
export function stableStringify(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableStringify(v)}`).join(',')}}`;
}

export function sha256(text: string): string {
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}

/** `sha256:<hex>` of the canonical model: equal models, equal fingerprints. */
export function fingerprint(m: DatabaseModel): string {
  return sha256(stableStringify(canonicalize(m)));
}

export function modelsEqual(a: DatabaseModel, b: DatabaseModel): boolean {
  return stableStringify(canonicalize(a)) === stableStringify(canonicalize(b));
}
