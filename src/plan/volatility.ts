/**
 * Whether a column default is volatile. It matters because PostgreSQL 11+ adds a column with a
 * non-volatile default without touching the rows (the value is stored once in the catalog), while a
 * volatile default must be evaluated per row: `ADD COLUMN … DEFAULT clock_timestamp()` rewrites the
 * table under ACCESS EXCLUSIVE (3.3 s on 3M rows, pg-locks.md). `now()` and CURRENT_TIMESTAMP are
 * STABLE (one value per transaction): fine.
 */

/** Built-in and common extension functions marked VOLATILE in pg_proc. */
const VOLATILE_FUNCTIONS = [
  'random',
  'random_normal',
  'setseed',
  'gen_random_uuid',
  'uuidv4',
  'uuidv7',
  'uuid_generate_v1',
  'uuid_generate_v1mc',
  'uuid_generate_v4',
  'gen_random_bytes',
  'gen_salt',
  'clock_timestamp',
  'timeofday',
  'nextval',
  'txid_current',
  'pg_current_xact_id',
];

/** Non-volatile functions defaults commonly call (no warning for these). */
const KNOWN_STABLE_OR_IMMUTABLE = [
  'now',
  'transaction_timestamp',
  'statement_timestamp',
  'current_setting',
  'lower',
  'upper',
  'coalesce',
  'jsonb_build_object',
  'json_build_object',
  'jsonb_build_array',
  'json_build_array',
  'array',
  'to_jsonb',
  'make_interval',
  'timezone',
  'date_trunc',
];

const CALL = /(?:^|[^\w$."])(?:"?[A-Za-z_][\w$]*"?\.)?"?([A-Za-z_][\w$]*)"?\s*\(/g;

function calledFunctions(expr: string): string[] {
  // String literals are data: a default of 'random()' is a text, not a call.
  const code = expr.replace(/'(?:[^']|'')*'/g, "''");
  return [...code.matchAll(CALL)].map((m) => m[1]!.toLowerCase());
}

export function isVolatileDefault(expr: string): boolean {
  return calledFunctions(expr).some((f) => VOLATILE_FUNCTIONS.includes(f));
}

/** Functions the default calls whose volatility zdm does not know (it assumes they are not volatile). */
export function unknownFunctions(expr: string): string[] {
  const casts = new Set(['numeric', 'varchar', 'character', 'timestamp', 'time', 'interval', 'bit', 'char']);
  return calledFunctions(expr).filter(
    (f) => !VOLATILE_FUNCTIONS.includes(f) && !KNOWN_STABLE_OR_IMMUTABLE.includes(f) && !casts.has(f),
  );
}
