/** Defaults PostgreSQL applies, which the loader fills in and the writer leaves out. */
import { identifierBytes, MAX_IDENTIFIER_BYTES } from '../model/names.js';

/** PostgreSQL's makeObjectName: the table name is clipped (at a character boundary) to fit `_pkey`. */
export function defaultPrimaryKeyName(relation: string): string {
  const room = MAX_IDENTIFIER_BYTES - '_pkey'.length;
  let name = relation;
  while (identifierBytes(name) > room) name = Array.from(name).slice(0, -1).join('');
  return `${name}_pkey`;
}

export const SEQUENCE_TYPE_RANGES: Readonly<Record<string, readonly [bigint, bigint]>> = {
  smallint: [-32768n, 32767n],
  integer: [-2147483648n, 2147483647n],
  bigint: [-9223372036854775808n, 9223372036854775807n],
};

/**
 * CREATE SEQUENCE's defaults: an ascending sequence runs from 1 to the type's maximum, a
 * descending one from the type's minimum to -1, and each starts at the end it counts away from.
 */
export function sequenceDefaults(
  type: string,
  increment: bigint,
): { minValue: bigint; maxValue: bigint; start: (minValue: bigint, maxValue: bigint) => bigint } {
  const [typeMin, typeMax] = SEQUENCE_TYPE_RANGES[type] ?? SEQUENCE_TYPE_RANGES.bigint!;
  const up = increment > 0n;
  return {
    minValue: up ? 1n : typeMin,
    maxValue: up ? typeMax : -1n,
    start: (minValue, maxValue) => (up ? minValue : maxValue),
  };
}
