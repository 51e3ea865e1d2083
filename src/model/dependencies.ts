/**
 * The dependency graph: which object needs which, read from pg_depend (of the live database, or of
 * the scratch database a desired state is built in; see DatabaseModel.dependencies). Nodes are the
 * object keys of objects.ts (`view public.v`, `table public.t`); an edge may name one column of
 * what it points at. The planner orders every create (dependencies first, on the desired graph)
 * and every drop (dependents first, on the live graph) by it, and finds what a change to a column
 * or an object would break.
 */
import { memoized } from './canonical.js';
import type { DatabaseModel, Dependency } from './types.js';

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export class DependencyGraph {
  private readonly out = new Map<string, Dependency[]>();
  private readonly in = new Map<string, Dependency[]>();

  constructor(readonly edges: readonly Dependency[]) {
    for (const e of edges) {
      if (e.from === e.to) continue;
      push(this.out, e.from, e);
      push(this.in, e.to, e);
    }
  }

  /** What `key` depends on directly (sorted, each once). */
  dependenciesOf(key: string): string[] {
    return unique((this.out.get(key) ?? []).map((e) => e.to));
  }

  /**
   * What depends directly on `key`; with `column`, what depends on that column or on the whole
   * object (a view that reads `count(*)` of a table depends on the table, on no column).
   */
  dependentsOf(key: string, column?: string): string[] {
    const edges = this.in.get(key) ?? [];
    return unique(
      edges.filter((e) => column === undefined || e.column === undefined || e.column === column).map((e) => e.from),
    );
  }

  /**
   * Objects that depend directly on `column` of `key` itself (pg_depend's refobjsubid), not on the
   * relation as a whole: those PostgreSQL refuses to drop or retype the column under. Without a
   * column, every dependent.
   */
  columnDependentsOf(key: string, column: string | undefined): string[] {
    if (column === undefined) return this.dependentsOf(key);
    return unique((this.in.get(key) ?? []).filter((e) => e.column === column).map((e) => e.from));
  }

  /** Whether `from` depends directly on `to` (on `column` of it, when given). */
  dependsOn(from: string, to: string, column?: string): boolean {
    return (this.out.get(from) ?? []).some(
      (e) => e.to === to && (column === undefined || e.column === undefined || e.column === column),
    );
  }

  /** Every object that depends on one of `keys`, directly or through others (not `keys` themselves). */
  dependentsClosure(keys: Iterable<string>): Set<string> {
    const start = new Set(keys);
    const seen = new Set<string>();
    const todo = [...start];
    while (todo.length > 0) {
      const k = todo.pop()!;
      for (const d of this.dependentsOf(k)) {
        if (seen.has(d) || start.has(d)) continue;
        seen.add(d);
        todo.push(d);
      }
    }
    return seen;
  }

  /**
   * `keys` with every object after the objects of `keys` it depends on (directly or through objects
   * outside `keys`); ties in key order, so the same input always gives the same order. Reverse it
   * for drops. A cycle (PostgreSQL allows none among views) keeps the remaining keys in key order.
   */
  order(keys: Iterable<string>): string[] {
    const set = new Set(keys);
    // Dependencies among `keys`, also those that go through objects outside the set.
    const before = new Map<string, Set<string>>();
    for (const k of set) {
      const reach = new Set<string>();
      const seen = new Set<string>([k]);
      const todo = this.dependenciesOf(k);
      while (todo.length > 0) {
        const d = todo.pop()!;
        if (seen.has(d)) continue;
        seen.add(d);
        if (set.has(d)) reach.add(d);
        todo.push(...this.dependenciesOf(d));
      }
      before.set(k, reach);
    }
    const done = new Set<string>();
    const out: string[] = [];
    const pending = [...set].sort(compare);
    while (pending.length > 0) {
      const i = pending.findIndex((k) => [...before.get(k)!].every((d) => done.has(d)));
      const k = pending.splice(i < 0 ? 0 : i, 1)[0]!;
      done.add(k);
      out.push(k);
    }
    return out;
  }
}

function push(m: Map<string, Dependency[]>, k: string, e: Dependency): void {
  const list = m.get(k);
  if (list) list.push(e);
  else m.set(k, [e]);
}

function unique(xs: readonly string[]): string[] {
  return [...new Set(xs)].sort(compare);
}

/** The graph of a model's dependencies, built once per model. */
export const dependencyGraph = memoized(
  (m: DatabaseModel): DependencyGraph => new DependencyGraph(m.dependencies ?? []),
);

/** The kind part of an object key: `view` of `view public.v`. */
export function keyKind(key: string): string {
  const i = key.indexOf(' ');
  return i < 0 ? key : key.slice(0, i);
}

const RELATION_KINDS = new Set(['table', 'view', 'materializedView']);

/** The relation a key names (`table public.t`, a view or materialized view), or undefined for another kind. */
export function relationOfKey(key: string): { readonly schema: string; readonly name: string } | undefined {
  const kind = keyKind(key);
  if (!RELATION_KINDS.has(kind)) return undefined;
  const name = key.slice(kind.length + 1);
  const dot = name.indexOf('.');
  return { schema: name.slice(0, dot), name: name.slice(dot + 1) };
}

/**
 * Kinds zdm manages: a change to one is planned like any other. Dependents of other kinds
 * (rules, publications, operators…) are only known, and a
 * change that would break one is refused, naming it.
 */
const MANAGED_KINDS = new Set([
  'table',
  'view',
  'materializedView',
  'enum',
  'domain',
  'sequence',
  'compositeType',
  'function',
  'procedure',
  'aggregate',
  'trigger',
  'policy',
  'textSearchConfiguration',
  'collation',
  'cast',
]);

export function isManagedKey(key: string): boolean {
  return MANAGED_KINDS.has(keyKind(key));
}
