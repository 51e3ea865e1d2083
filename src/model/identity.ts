/**
 * Sequence defaults, and the options of an identity column's sequence. PostgreSQL gives an identity
 * column a sequence of the column's type with CREATE SEQUENCE's defaults; the model keeps only the
 * options that differ from those (IdentityOptions), so that a column written `identity: always`
 * and the same column read from the catalog compare equal, and pulled YAML stays terse.
 */
import type { IdentityOptions } from './types.js';

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

/** Every option of a sequence, explicit. */
export interface SequenceSettings {
  readonly start: bigint;
  readonly increment: bigint;
  readonly minValue: bigint;
  readonly maxValue: bigint;
  readonly cache: bigint;
  readonly cycle: boolean;
}

/** The options an identity sequence of a `type` column has, defaults filled in. */
export function identitySettings(type: string, o: IdentityOptions | undefined): SequenceSettings {
  const increment = o?.increment !== undefined ? BigInt(o.increment) : 1n;
  const d = sequenceDefaults(type, increment);
  const minValue = o?.minValue !== undefined ? BigInt(o.minValue) : d.minValue;
  const maxValue = o?.maxValue !== undefined ? BigInt(o.maxValue) : d.maxValue;
  return {
    start: o?.start !== undefined ? BigInt(o.start) : d.start(minValue, maxValue),
    increment,
    minValue,
    maxValue,
    cache: o?.cache !== undefined ? BigInt(o.cache) : 1n,
    cycle: o?.cycle === true,
  };
}

/** The options of `s` that differ from the defaults of an identity sequence of a `type` column; undefined when none do. */
export function identityOptionsOf(type: string, s: SequenceSettings): IdentityOptions | undefined {
  const d = sequenceDefaults(type, s.increment);
  const o: { -readonly [K in keyof IdentityOptions]: IdentityOptions[K] } = {};
  if (s.start !== d.start(s.minValue, s.maxValue)) o.start = String(s.start);
  if (s.increment !== 1n) o.increment = String(s.increment);
  if (s.minValue !== d.minValue) o.minValue = String(s.minValue);
  if (s.maxValue !== d.maxValue) o.maxValue = String(s.maxValue);
  if (s.cache !== 1n) o.cache = String(s.cache);
  if (s.cycle) o.cycle = true;
  return Object.keys(o).length > 0 ? o : undefined;
}

/** The fields of two settings that differ, in the order ALTER and CREATE clauses list them. */
export const SEQUENCE_SETTING_FIELDS = ['increment', 'minValue', 'maxValue', 'start', 'cache', 'cycle'] as const;
export type SequenceSettingField = (typeof SEQUENCE_SETTING_FIELDS)[number];

export function changedSettings(a: SequenceSettings, b: SequenceSettings): SequenceSettingField[] {
  return SEQUENCE_SETTING_FIELDS.filter((f) => a[f] !== b[f]);
}
