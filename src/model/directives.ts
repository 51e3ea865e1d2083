/**
 * Desired-state directives: `renamedFrom` (on a column or a table), `using` and `reverse` (on a
 * column) say how to get from the live schema to the desired one. They are not part of any object:
 * the database cannot hold them, the live model never has them, equality ignores them. Every object
 * the planner makes from a desired one goes through these functions.
 */
import type { Column, Table } from './types.js';

/** The column as the database can hold it. */
export function withoutDirectives(c: Column): Column {
  const { renamedFrom: _r, using: _u, reverse: _v, ...rest } = c;
  return rest;
}

/** The table (and its columns) as the database can hold it. */
export function tableWithoutDirectives(t: Table): Table {
  const { renamedFrom: _r, ...rest } = t;
  return { ...rest, columns: t.columns.map(withoutDirectives) };
}
