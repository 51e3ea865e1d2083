/**
 * DatabaseModel → desired-state YAML (what `zdm pull` writes). The output is a function of the
 * canonical model only: named objects sorted, keys in a fixed order, defaults left out, so the same
 * database always gives the same bytes. Loading the output gives back the same canonical model.
 */

import { assertNever } from '../errors.js';
import { sortedCasts } from '../model/casts.js';
import { sortDefaultPrivileges } from '../model/default-privileges.js';
import { type DEFAULT_GRANTS, isDefaultGrants } from '../model/grants.js';
import { type OwnerTarget, ownerOf } from '../model/owners.js';
import { routineKey, routineSignature, sortRoutines, sortTriggers } from '../model/routines.js';
import type {
  AggregateDefinition,
  Cast,
  CheckConstraint,
  Collation,
  Column,
  CompositeType,
  DatabaseModel,
  DefaultPrivilege,
  Domain,
  EnumType,
  ExclusionConstraint,
  Extension,
  ForeignKey,
  Grant,
  Index,
  IndexKey,
  MaterializedView,
  Partition,
  PartitionBound,
  PartitionKey,
  Policy,
  PrimaryKey,
  RelationParts,
  ReplicaIdentity,
  Routine,
  SchemaModel,
  Sequence,
  StorageParameters,
  Table,
  TextSearchConfiguration,
  Trigger,
  UniqueConstraint,
  View,
} from '../model/types.js';
import { defaultPrimaryKeyName, sequenceDefaults } from './defaults.js';
import { formatKeyString } from './index-keys.js';
import { writtenTypeName } from './type-names.js';
import { emitYaml, libraryText, Unsupported, type YamlMap, type YamlSeq, type YamlValue } from './yaml-emit.js';

export interface WriteOptions {
  /**
   * Where editors find the JSON Schema, for the first-line `# yaml-language-server: $schema=…`
   * comment: a path relative to the written file, or a URL. An empty string leaves the line out.
   */
  readonly schemaPath?: string;
  /**
   * Where the query of a view or materialized view is written instead of inline: the `file:` path
   * (relative to the YAML file) for an object key (`view public.v`), from writeDesiredStateFiles.
   */
  readonly queryFiles?: ReadonlyMap<string, string>;
  /**
   * For the test that proves the two write the same bytes: `library`, the text from the `yaml`
   * library's `Document.toString` rather than yaml-emit.ts; `emit`, yaml-emit.ts without falling
   * back to the library. Default: yaml-emit.ts, falling back to the library on a tree it does not lay out.
   */
  readonly writer?: 'emit' | 'library';
}

/** For a desired state kept at the root of a project that has zdm installed. */
export const DEFAULT_SCHEMA_PATH = './node_modules/zdm/schemas/desired-state.schema.json';

/** The whole model as one YAML document. */
export function writeDesiredState(model: DatabaseModel, options: WriteOptions = {}): string {
  const root = newMap(false);
  add(root, 'version', 1);
  if (model.extensions.length > 0) {
    add(root, 'extensions', flowSeq(byName(model.extensions).map(extensionNode)));
  }
  if (model.defaultPrivileges !== undefined && model.defaultPrivileges.length > 0) {
    add(root, 'defaultPrivileges', defaultPrivilegesNode(model.defaultPrivileges));
  }
  if (model.casts !== undefined && model.casts.length > 0) {
    const casts: YamlSeq = { kind: 'seq', flow: false, items: [] };
    for (const c of sortedCasts(model.casts) ?? []) casts.items.push(castNode(c));
    add(root, 'casts', casts);
  }
  if (model.schemas.length > 0) {
    const schemas = newMap(false);
    byName(model.schemas).forEach((s, i) => {
      add(schemas, s.name, schemaNode(s, options.queryFiles, ownersIn(model)), i > 0);
    });
    add(root, 'schemas', schemas);
  }
  const schemaPath = options.schemaPath ?? DEFAULT_SCHEMA_PATH;
  // On the first key rather than the document, which would put a blank line under it.
  if (schemaPath !== '') root.items[0]!.commentBefore = ` yaml-language-server: $schema=${schemaPath}`;
  return yamlText(root, options.writer);
}

/**
 * The text of a document whose contents are `root`: laid out by yaml-emit.ts, the same bytes as the
 * `yaml` library's `Document.toString` with these options, which writes any tree it does not lay out.
 */
function yamlText(root: YamlMap, via: 'emit' | 'library' | undefined): string {
  if (via === 'emit') return emitYaml(root);
  if (via === undefined) {
    try {
      return emitYaml(root);
    } catch (err) {
      if (!(err instanceof Unsupported)) throw err;
    }
  }
  return libraryText(root);
}

/**
 * One document per schema (`<schema>.yaml`) plus `extensions.yaml` when there are extensions (and
 * `casts.yaml` when there are casts), each
 * a complete document with `version: 1`, and the query of each view in `<schema>/views/<view>.sql`
 * (materialized views: `<schema>/materialized-views/<view>.sql`), which the document names with
 * `file:`. Keys are paths relative to the directory, with `/`. Loading the directory gives back the
 * model; a single file loads on its own unless it refers to another schema's tables (foreign keys,
 * partitions elsewhere).
 *
 * File names: an object's name is kept where it is letters, digits, `_` and `-`; anything else
 * (`/`, `.`, blanks, control characters, …) is %-encoded as UTF-8 bytes (`my.view` →
 * `my%2Eview.sql`), and a name that differs from one already written only in case gets `-2`, `-3`…
 * (case-insensitive file systems), in name order, so the same model always gives the same files.
 */
export function writeDesiredStateFiles(model: DatabaseModel, options: WriteOptions = {}): Map<string, string> {
  const files = new Map<string, string>();
  const taken = new Set<string>();
  const claim = (base: string, ext: string): string => {
    let name = `${base}${ext}`;
    // Case-insensitive file systems: `Sales` and `sales` must not land in one file.
    for (let n = 2; taken.has(name.toLowerCase()); n++) name = `${base}-${n}${ext}`;
    taken.add(name.toLowerCase());
    return name;
  };
  if (model.extensions.length > 0) {
    files.set(
      claim('extensions', '.yaml'),
      writeDesiredState({ kind: 'database', extensions: model.extensions, schemas: [] }, options),
    );
  }
  if (model.defaultPrivileges !== undefined && model.defaultPrivileges.length > 0) {
    files.set(
      claim('default-privileges', '.yaml'),
      writeDesiredState(
        { kind: 'database', extensions: [], schemas: [], defaultPrivileges: model.defaultPrivileges },
        options,
      ),
    );
  }
  if (model.casts !== undefined && model.casts.length > 0) {
    files.set(
      claim('casts', '.yaml'),
      writeDesiredState({ kind: 'database', extensions: [], schemas: [], casts: model.casts }, options),
    );
  }
  for (const s of byName(model.schemas)) {
    const yamlName = claim(fileBase(s.name), '.yaml');
    const dir = yamlName.slice(0, -'.yaml'.length);
    const queryFiles = new Map<string, string>();
    const queries: [string, string][] = [];
    for (const v of [...byName(s.views), ...byName(s.materializedViews)]) {
      const folder = `${dir}/${v.kind === 'view' ? 'views' : 'materialized-views'}`;
      const file = claim(`${folder}/${fileBase(v.name)}`, '.sql');
      queryFiles.set(`${v.kind} ${s.name}.${v.name}`, file);
      queries.push([file, `${v.definition};\n`]);
    }
    for (const r of sortRoutines(s.functions)) {
      if (r.kind === 'aggregate') continue; // no body
      const file = claim(`${dir}/${r.kind === 'function' ? 'functions' : 'procedures'}/${fileBase(r.name)}`, '.sql');
      queryFiles.set(routineKey(r), file);
      queries.push([file, r.sqlBody ? `${r.body};\n` : r.body]);
    }
    files.set(
      yamlName,
      writeDesiredState(
        { kind: 'database', extensions: [], schemas: [s], ...(model.owners ? { owners: model.owners } : {}) },
        { ...options, queryFiles },
      ),
    );
    for (const [file, text] of queries) files.set(file, text);
  }
  if (files.size === 0) files.set('schema.yaml', writeDesiredState(model, options));
  return files;
}

/** A name as a file name: letters, digits, `_` and `-` kept, anything else %-encoded. */
function fileBase(schema: string): string {
  return Array.from(schema)
    .map((ch) =>
      /[\p{L}\p{N}_-]/u.test(ch)
        ? ch
        : Array.from(Buffer.from(ch, 'utf8'))
            .map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`)
            .join(''),
    )
    .join('');
}

// ------------------------------------------------------------------ node helpers

type Value = YamlValue | undefined;

const newMap = (flow: boolean): YamlMap => ({ kind: 'map', flow, items: [] });

function node(v: YamlValue): YamlValue {
  // Plain multi-line scalars inside flow collections are legal but unreadable.
  return typeof v === 'string' && v.includes('\n') ? { kind: 'scalar', value: v, style: 'QUOTE_DOUBLE' } : v;
}

function add(map: YamlMap, key: string, value: Value, spaceBefore = false): void {
  if (value === undefined) return;
  map.items.push({ key, value: node(value), spaceBefore });
}

function blockMap(entries: readonly (readonly [string, Value])[]): YamlMap {
  const m = newMap(false);
  for (const [k, v] of entries) add(m, k, v);
  return m;
}

function flowMap(entries: readonly (readonly [string, Value])[]): YamlMap {
  const m = newMap(true);
  for (const [k, v] of entries) add(m, k, v);
  return m;
}

function flowSeq(items: readonly YamlValue[]): YamlSeq {
  return { kind: 'seq', flow: true, items: items.map(node) };
}

/** Named objects keyed by name, in name order; undefined when there are none. */
function namedMap<T extends { readonly name: string }>(
  items: readonly T[],
  write: (item: T) => Value,
  spaced = false,
): YamlMap | undefined {
  if (items.length === 0) return undefined;
  const m = newMap(false);
  byName(items).forEach((item, i) => {
    add(m, item.name, write(item), spaced && i > 0);
  });
  return m;
}

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function byName<T extends { readonly name: string }>(items: readonly T[]): T[] {
  return [...items].sort((a, b) => compare(a.name, b.name));
}

/**
 * SQL text. A number or boolean literal is written bare (`default: 0`), which reads back as the same
 * text; anything else as a string, quoted only where YAML needs it.
 */
function sql(text: string | undefined): Value {
  if (text === undefined) return undefined;
  if (text === 'true' || text === 'false') return text === 'true';
  if (/^-?(0|[1-9]\d{0,14})(\.\d*[1-9])?$/.test(text) && String(Number(text)) === text) return Number(text);
  return text;
}

/** Partition bound values, single-quoted like the SQL literals they are; SQL's NULL as YAML's. */
function boundValues(values: readonly string[]): YamlSeq {
  return {
    kind: 'seq',
    flow: true,
    items: values.map((v) =>
      v === 'NULL' ? null : { kind: 'scalar', value: v, style: v.includes('\n') ? 'QUOTE_DOUBLE' : 'QUOTE_SINGLE' },
    ),
  };
}

const trueOnly = (b: boolean): true | undefined => (b ? true : undefined);
const nonEmpty = (names: readonly string[]): YamlSeq | undefined => (names.length > 0 ? flowSeq(names) : undefined);

// ------------------------------------------------------------------ objects

/** A pinned version only (a live model has the installed one, which pins nothing). */
function extensionNode(e: Extension): string | YamlMap {
  const version = e.version;
  return e.schema === undefined && version === undefined
    ? e.name
    : flowMap([
        ['name', e.name],
        ['schema', e.schema],
        ['version', version],
      ]);
}

/** The owner of an object (src/model/owners.ts) where the model has owners: a live model pulled with `--owners`. */
type Owners = (on: OwnerTarget) => string | undefined;

const ownersIn =
  (m: DatabaseModel): Owners =>
  (on) =>
    ownerOf(m, on);

function schemaNode(s: SchemaModel, queryFiles: ReadonlyMap<string, string> | undefined, owner: Owners): YamlMap {
  const schema = s.name;
  const userTypes = new Set([
    ...s.enums.map((e) => e.name),
    ...s.domains.map((d) => d.name),
    ...s.compositeTypes.map((c) => c.name),
  ]);
  const file = (v: View | MaterializedView) => queryFiles?.get(`${v.kind} ${s.name}.${v.name}`);
  return blockMap([
    ['owner', owner({ kind: 'schema', name: s.name })],
    ['comment', s.comment],
    ['grants', grantsNode(s.grants)],
    ['collations', namedMap(s.collations ?? [], collationNode)],
    ['textSearchConfigurations', namedMap(s.textSearchConfigurations ?? [], textSearchConfigurationNode)],
    ['enums', namedMap(s.enums, (e) => enumNode(e, owner({ kind: 'enum', schema, name: e.name })))],
    ['domains', namedMap(s.domains, (d) => domainNode(d, userTypes, owner({ kind: 'domain', schema, name: d.name })))],
    [
      'compositeTypes',
      namedMap(s.compositeTypes, (c) =>
        compositeTypeNode(c, userTypes, owner({ kind: 'compositeType', schema, name: c.name })),
      ),
    ],
    [
      'sequences',
      // An OWNED BY sequence has its table's owner, and may not name one (src/desired/convert.ts).
      namedMap(s.sequences, (q) =>
        sequenceNode(q, q.ownedBy ? undefined : owner({ kind: 'sequence', schema, name: q.name })),
      ),
    ],
    [
      'tables',
      namedMap(s.tables, (t) => tableNode(t, userTypes, owner({ kind: 'table', schema, name: t.name })), true),
    ],
    ['views', namedMap(s.views, (v) => viewNode(v, file(v), owner({ kind: 'view', schema, name: v.name })), true)],
    [
      'materializedViews',
      namedMap(
        s.materializedViews,
        (v) => materializedViewNode(v, file(v), owner({ kind: 'materializedView', schema, name: v.name })),
        true,
      ),
    ],
    ['functions', routinesNode(s, 'function', queryFiles, owner)],
    ['procedures', routinesNode(s, 'procedure', queryFiles, owner)],
    ['aggregates', routinesNode(s, 'aggregate', queryFiles, owner)],
    ['triggers', triggersNode(s)],
  ]);
}

// ------------------------------------------------------------------ functions, procedures, triggers

/**
 * The functions (or procedures) of a schema by name, or by `name(type, …)` where the schema has
 * several of that name; the body inline (a literal block when it has several lines) or `file:`.
 */
function routinesNode(
  s: SchemaModel,
  kind: Routine['kind'],
  files: ReadonlyMap<string, string> | undefined,
  owner: Owners,
): Value {
  const rs = sortRoutines(s.functions.filter((r) => r.kind === kind));
  if (rs.length === 0) return undefined;
  const count = new Map<string, number>();
  for (const r of rs) count.set(r.name, (count.get(r.name) ?? 0) + 1);
  const m = newMap(false);
  rs.forEach((r, i) => {
    const own = r.kind === 'aggregate' ? undefined : owner({ ...r, kind: r.kind });
    add(
      m,
      count.get(r.name)! > 1 ? routineSignature(r) : r.name,
      routineNode(r, files?.get(routineKey(r)), own),
      i > 0,
    );
  });
  return m;
}

function routineNode(r: Routine, file: string | undefined, owner: string | undefined): YamlMap {
  if (r.aggregate !== undefined) return aggregateNode(r, r.aggregate);
  let body: readonly [string, Value];
  if (file !== undefined) body = ['file', file];
  else if (r.body.includes('\n')) {
    body = ['body', { kind: 'scalar', value: r.body, style: 'BLOCK_LITERAL' }];
  } else body = ['body', r.body];
  return blockMap([
    ['arguments', argumentsNode(r)],
    ['returns', r.returns],
    ['language', r.language],
    ['library', r.library],
    ['volatility', r.volatility],
    ['strict', r.strict],
    ['securityDefiner', r.securityDefiner],
    ['leakproof', r.leakproof],
    ['parallel', r.parallel],
    ['cost', r.cost],
    ['rows', r.rows],
    ['set', r.set === undefined ? undefined : flowMap(Object.entries(r.set))],
    ['owner', owner],
    ['comment', r.comment],
    ['grants', ownGrantsNode('routine', r.grants)],
    body,
  ]);
}

function collationNode(c: Collation): YamlMap {
  return flowMap([
    ['provider', c.provider === 'libc' ? undefined : c.provider],
    ['locale', c.locale],
    ['lcCollate', c.lcCollate],
    ['lcCtype', c.lcCtype],
    ['deterministic', c.deterministic],
    ['comment', c.comment],
  ]);
}

function textSearchConfigurationNode(c: TextSearchConfiguration): YamlMap {
  const tokens = Object.keys(c.mappings).sort();
  const mappings = newMap(false);
  for (const t of tokens) add(mappings, t, flowSeq(c.mappings[t]!), false);
  return blockMap([
    ['parser', c.parser],
    ['mappings', tokens.length > 0 ? mappings : undefined],
    ['comment', c.comment],
  ]);
}

function argumentsNode(r: Routine): Value {
  const args = r.arguments.map((a) =>
    flowMap([
      ['mode', a.mode],
      ['name', a.name],
      ['type', a.type],
      ['default', sql(a.default)],
    ]),
  );
  return args.length > 0 ? flowSeq(args) : undefined;
}

function aggregateNode(r: Routine, a: AggregateDefinition): YamlMap {
  return blockMap([
    ['arguments', argumentsNode(r)],
    ['sfunc', a.sfunc],
    ['stype', a.stype],
    ['finalfunc', a.finalfunc],
    ['finalfuncExtra', a.finalfuncExtra],
    ['combinefunc', a.combinefunc],
    ['serialfunc', a.serialfunc],
    ['deserialfunc', a.deserialfunc],
    ['initcond', a.initcond],
    ['parallel', r.parallel],
    ['comment', r.comment],
    ['grants', ownGrantsNode('routine', r.grants)],
  ]);
}

/** Triggers by table, then name. */
function triggersNode(s: SchemaModel): Value {
  if (s.triggers.length === 0) return undefined;
  const byTable = new Map<string, Trigger[]>();
  for (const t of sortTriggers(s.triggers)) byTable.set(t.table, [...(byTable.get(t.table) ?? []), t]);
  const m = newMap(false);
  [...byTable].forEach(([table, ts], i) => {
    add(
      m,
      table,
      namedMap(ts, (t) => triggerNode(s.name, t)),
      i > 0,
    );
  });
  return m;
}

function triggerNode(schema: string, t: Trigger): YamlMap {
  // A function of the trigger's schema by its name; pg_catalog's (tsvector_update_trigger) qualified.
  const own = `${schema}.`;
  const local = t.function.startsWith(own) && !t.function.slice(own.length).includes('.');
  const fn = local ? t.function.slice(own.length) : t.function.includes('.') ? t.function : `pg_catalog.${t.function}`;
  return blockMap([
    ['timing', t.timing],
    ['events', flowSeq(t.events)],
    ['columns', t.columns !== undefined ? nonEmpty(t.columns) : undefined],
    ['forEach', t.forEach],
    ['when', sql(t.when)],
    ['function', fn],
    ['arguments', t.arguments !== undefined ? flowSeq(t.arguments) : undefined],
    ['oldTable', t.oldTable],
    ['newTable', t.newTable],
    ['constraint', t.constraint ? true : undefined],
    ...(t.constraint ? timing(t.constraint) : []),
    ['enabled', t.enabled],
    ['comment', t.comment],
  ]);
}

/** The query: `file: <path>` when it is written to a file, else inline as a literal block. */
function queryEntry(v: View | MaterializedView, file: string | undefined): readonly [string, Value] {
  if (file !== undefined) return ['file', file];
  return ['definition', { kind: 'scalar', value: v.definition, style: 'BLOCK_LITERAL' }];
}

function viewColumnsNode(v: View | MaterializedView): Value {
  const commented = v.columns.filter((c) => c.comment !== undefined);
  if (commented.length === 0) return undefined;
  const m = newMap(false);
  for (const c of commented) add(m, c.name, flowMap([['comment', c.comment]]));
  return m;
}

function viewNode(v: View, file: string | undefined, owner: string | undefined): YamlMap {
  return blockMap([
    queryEntry(v, file),
    ['securityBarrier', trueOnly(v.securityBarrier)],
    ['securityInvoker', trueOnly(v.securityInvoker)],
    ['checkOption', v.checkOption],
    ['owner', owner],
    ['comment', v.comment],
    ['columns', viewColumnsNode(v)],
  ]);
}

function materializedViewNode(v: MaterializedView, file: string | undefined, owner: string | undefined): YamlMap {
  return blockMap([
    queryEntry(v, file),
    ['withData', v.withData ? undefined : false],
    ['with', storageNode(v.with)],
    ['clusterOn', v.clusterOn],
    ['owner', owner],
    ['comment', v.comment],
    ['columns', viewColumnsNode(v)],
    ['indexes', namedMap(v.indexes, indexNode)],
  ]);
}

function enumNode(e: EnumType, owner: string | undefined): Value {
  const values = flowSeq(e.values);
  const grants = ownGrantsNode('type', e.grants);
  return e.comment === undefined && grants === undefined && owner === undefined
    ? values
    : flowMap([
        ['values', values],
        ['owner', owner],
        ['comment', e.comment],
        ['grants', grants],
      ]);
}

function domainNode(d: Domain, userTypes: ReadonlySet<string>, owner: string | undefined): Value {
  return flowMap([
    ['type', writtenTypeName(d.schema, d.type, userTypes)],
    ['nullable', d.nullable ? undefined : false],
    ['default', sql(d.default)],
    ['collation', d.collation],
    [
      'checks',
      d.checks.length > 0
        ? namedFlowMap(d.checks, (c) =>
            flowMap([
              ['expression', sql(c.expression)],
              ['comment', c.comment],
            ]),
          )
        : undefined,
    ],
    ['owner', owner],
    ['comment', d.comment],
    ['grants', ownGrantsNode('type', d.grants)],
  ]);
}

/** Attributes in the type's order (not sorted: the order is the type's). */
function compositeTypeNode(c: CompositeType, userTypes: ReadonlySet<string>, owner: string | undefined): Value {
  const attributes = newMap(false);
  for (const a of c.attributes) {
    add(
      attributes,
      a.name,
      flowMap([
        ['type', writtenTypeName(c.schema, a.type, userTypes)],
        ['collation', a.collation],
        ['comment', a.comment],
      ]),
    );
  }
  return blockMap([
    ['attributes', attributes],
    ['owner', owner],
    ['comment', c.comment],
    ['grants', ownGrantsNode('type', c.grants)],
  ]);
}

function namedFlowMap<T extends { readonly name: string }>(items: readonly T[], write: (item: T) => Value): YamlMap {
  const m = namedMap(items, write)!;
  return { ...m, flow: true };
}

function sequenceNode(s: Sequence, owner: string | undefined): Value {
  const defaults = sequenceDefaults(s.type, BigInt(s.increment));
  const startDefault = defaults.start(BigInt(s.minValue), BigInt(s.maxValue));
  const num = (v: string, dflt: bigint) => (BigInt(v) === dflt ? undefined : seqNumber(v));
  let ownedBy: Value;
  if (s.ownedBy) {
    const { table, column } = s.ownedBy;
    ownedBy =
      table.includes('.') || column.includes('.')
        ? flowMap([
            ['table', table],
            ['column', column],
          ])
        : `${table}.${column}`;
  }
  return flowMap([
    ['type', s.type === 'bigint' ? undefined : s.type],
    ['start', num(s.start, startDefault)],
    ['increment', num(s.increment, 1n)],
    ['minValue', num(s.minValue, defaults.minValue)],
    ['maxValue', num(s.maxValue, defaults.maxValue)],
    ['cache', num(s.cache, 1n)],
    ['cycle', trueOnly(s.cycle)],
    ['ownedBy', ownedBy],
    ['owner', owner],
    ['comment', s.comment],
    ['grants', grantsNode(s.grants)],
  ]);
}

/** A 64-bit integer as a YAML integer. */
const seqNumber = (v: string | undefined): Value => (v === undefined ? undefined : BigInt(v));

function tableNode(t: Table, userTypes: ReadonlySet<string>, owner: string | undefined): YamlMap {
  const columns = newMap(false);
  for (const c of t.columns) add(columns, c.name, columnNode(t.schema, c, userTypes));
  return blockMap([
    ['unlogged', trueOnly(t.unlogged)],
    [
      'inherits',
      t.inherits === undefined
        ? undefined
        : flowSeq(t.inherits.map((p) => (p.startsWith(`${t.schema}.`) ? p.slice(t.schema.length + 1) : p))),
    ],
    ...propertyEntries(t),
    ['owner', owner],
    ['comment', t.comment],
    ['grants', grantsNode(t.grants)],
    ['renamedFrom', t.renamedFrom],
    ['columns', t.columns.length > 0 ? columns : undefined],
    ...partsEntries(t.schema, t.name, t),
    ['policies', namedMap(t.policies ?? [], policyNode)],
  ]);
}

/**
 * Privileges by grantee (issue 12), `{}` for none: written wherever the model has the list (a live
 * model has it on every table, sequence and schema), so a pulled desired state manages them.
 */
function grantsNode(grants: readonly Grant[] | undefined): Value {
  if (grants === undefined) return undefined;
  const m = newMap(true);
  const by = new Map<string, string[]>();
  for (const g of grants) {
    by.set(g.grantee, [...(by.get(g.grantee) ?? []), `${g.privilege}${g.grantable ? ' WITH GRANT OPTION' : ''}`]);
  }
  for (const [who, privileges] of [...by].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    add(m, who, flowSeq(privileges));
  }
  return m;
}

/** `{ source, target, function | inout | withoutFunction, context, comment }`; context `explicit` left out. */
function castNode(c: Cast): YamlMap {
  return flowMap([
    ['source', c.source],
    ['target', c.target],
    ['function', c.function],
    ['inout', c.method === 'inout' ? true : undefined],
    ['withoutFunction', c.method === 'binary' ? true : undefined],
    ['context', c.context === 'explicit' ? undefined : c.context],
    ['comment', c.comment],
  ]);
}

/**
 * Default privileges (issue 12) by role, its global kinds, then `inSchema` by schema; every entry
 * the model has (a live one exists only where it differs from PostgreSQL's default).
 */
function defaultPrivilegesNode(entries: readonly DefaultPrivilege[]): YamlMap {
  const byRole = new Map<string, DefaultPrivilege[]>();
  for (const e of sortDefaultPrivileges(entries)) byRole.set(e.role, [...(byRole.get(e.role) ?? []), e]);
  const out = newMap(false);
  for (const [role, list] of byRole) {
    const kinds = (schema: string | undefined): [string, Value][] =>
      list.filter((e) => e.schema === schema).map((e) => [e.on, grantsNode(e.grants)]);
    const schemas = [...new Set(list.flatMap((e) => (e.schema !== undefined ? [e.schema] : [])))];
    add(
      out,
      role,
      blockMap([
        ...kinds(undefined),
        ['inSchema', schemas.length > 0 ? blockMap(schemas.map((s) => [s, blockMap(kinds(s))])) : undefined],
      ]),
    );
  }
  return out;
}

/**
 * Privileges of a function, procedure or type: written only when they are not PostgreSQL's default
 * for the kind (EXECUTE / USAGE to PUBLIC, nothing else), so that a schema whose code never had a
 * GRANT or REVOKE pulls without a `grants` key on each function. Without the key they are not
 * managed; write `grants: { public: [EXECUTE] }` to manage a function's default privileges.
 */
function ownGrantsNode(kind: keyof typeof DEFAULT_GRANTS, grants: readonly Grant[] | undefined): Value {
  return isDefaultGrants(kind, grants) ? undefined : grantsNode(grants);
}

/** A row level security policy (issue 12): defaults (permissive, all, PUBLIC) left out. */
function policyNode(p: Policy): Value {
  return flowMap([
    ['restrictive', p.restrictive],
    ['command', p.command],
    ['roles', p.roles === undefined ? undefined : flowSeq(p.roles)],
    ['using', sql(p.using)],
    ['withCheck', sql(p.withCheck)],
    ['comment', p.comment],
  ]);
}

function columnNode(schema: string, c: Column, userTypes: ReadonlySet<string>): YamlMap {
  let generated: Value;
  if (c.generated) {
    generated = c.generated.stored
      ? c.generated.expression
      : flowMap([
          ['expression', sql(c.generated.expression)],
          ['stored', false],
        ]);
  }
  const o = c.identityOptions;
  const identity: Value =
    o === undefined
      ? c.identity
      : flowMap([
          ['generated', c.identity],
          ['start', seqNumber(o.start)],
          ['increment', seqNumber(o.increment)],
          ['minValue', seqNumber(o.minValue)],
          ['maxValue', seqNumber(o.maxValue)],
          ['cache', seqNumber(o.cache)],
          ['cycle', o.cycle],
        ]);
  return flowMap([
    ['type', writtenTypeName(schema, c.type, userTypes)],
    ['identity', identity],
    ['generated', generated],
    ['nullable', c.nullable ? undefined : false],
    ['default', sql(c.default)],
    ['collation', c.collation],
    ['options', storageNode(c.options)],
    ['statistics', c.statistics],
    ['storage', c.storage],
    ['compression', c.compression],
    ['notNullName', c.notNullName],
    ['comment', c.comment],
    ['grants', grantsNode(c.grants)],
    ['renamedFrom', c.renamedFrom],
    ['using', sql(c.using)],
    ['reverse', sql(c.reverse)],
  ]);
}

/** Storage parameters in the model's order, values as SQL text is written. */
function storageNode(params: StorageParameters | undefined): Value {
  if (params === undefined || Object.keys(params).length === 0) return undefined;
  return flowMap(Object.keys(params).map((k) => [k, sql(params[k])] as const));
}

function replicaIdentityNode(r: ReplicaIdentity | undefined): Value {
  if (r === undefined) return undefined;
  return r.kind === 'index' ? flowMap([['index', r.index]]) : r.kind;
}

/** Storage parameters, row level security, replica identity and CLUSTER ON of a table or partition. */
function propertyEntries(r: RelationParts): [string, Value][] {
  return [
    ['with', storageNode(r.with)],
    ['rowLevelSecurity', r.rowLevelSecurity],
    ['forceRowLevelSecurity', r.forceRowLevelSecurity],
    ['replicaIdentity', replicaIdentityNode(r.replicaIdentity)],
    ['clusterOn', r.clusterOn],
  ];
}

function partsEntries(schema: string, name: string, r: RelationParts): (readonly [string, Value])[] {
  return [
    ['primaryKey', r.primaryKey ? primaryKeyNode(name, r.primaryKey) : undefined],
    ['uniqueConstraints', namedMap(r.uniqueConstraints, uniqueNode)],
    ['checks', namedMap(r.checks, checkNode)],
    ['foreignKeys', namedMap(r.foreignKeys, (f) => foreignKeyNode(schema, f))],
    ['exclusionConstraints', namedMap(r.exclusionConstraints, exclusionNode)],
    ['indexes', namedMap(r.indexes, indexNode)],
    ['partitionBy', r.partitionBy ? partitionByNode(r.partitionBy) : undefined],
    ['partitions', partitionsNode(schema, r.partitions)],
  ];
}

function timing(c: { readonly deferrable: boolean; readonly initiallyDeferred: boolean }): [string, Value][] {
  return [
    ['deferrable', trueOnly(c.deferrable)],
    ['initiallyDeferred', trueOnly(c.initiallyDeferred)],
  ];
}

function primaryKeyNode(relation: string, pk: PrimaryKey): YamlMap {
  return flowMap([
    ['name', pk.name === defaultPrimaryKeyName(relation) ? undefined : pk.name],
    ['columns', flowSeq(pk.columns)],
    ['include', nonEmpty(pk.include)],
    ...timing(pk),
    ['comment', pk.comment],
  ]);
}

function uniqueNode(u: UniqueConstraint): YamlMap {
  return flowMap([
    ['columns', flowSeq(u.columns)],
    ['include', nonEmpty(u.include)],
    ['nullsNotDistinct', trueOnly(u.nullsNotDistinct)],
    ...timing(u),
    ['comment', u.comment],
  ]);
}

function checkNode(c: CheckConstraint): YamlMap {
  return flowMap([
    ['expression', sql(c.expression)],
    ['noInherit', trueOnly(c.noInherit)],
    ['notValid', trueOnly(!c.valid)],
    ['comment', c.comment],
  ]);
}

function foreignKeyNode(schema: string, f: ForeignKey): YamlMap {
  return flowMap([
    ['columns', flowSeq(f.columns)],
    [
      'references',
      flowMap([
        ['schema', f.references.schema === schema ? undefined : f.references.schema],
        ['table', f.references.table],
        ['columns', flowSeq(f.references.columns)],
      ]),
    ],
    ['onDelete', f.onDelete === 'no action' ? undefined : f.onDelete],
    ['onUpdate', f.onUpdate === 'no action' ? undefined : f.onUpdate],
    ['match', f.match === 'simple' ? undefined : f.match],
    ...timing(f),
    ['notValid', trueOnly(!f.valid)],
    ['comment', f.comment],
  ]);
}

function keyEntries(k: IndexKey): [string, Value][] {
  return [
    ['column', k.column],
    ['expression', sql(k.expression)],
    ['collation', k.collation],
    ['opclass', k.opclass],
    ['order', k.descending ? 'desc' : undefined],
    ['nulls', k.nullsFirst === undefined ? undefined : k.nullsFirst ? 'first' : 'last'],
  ];
}

function exclusionNode(x: ExclusionConstraint): YamlMap {
  return flowMap([
    ['using', x.method === 'btree' ? undefined : x.method],
    ['elements', flowSeq(x.elements.map((e) => flowMap([...keyEntries(e.key), ['with', e.operator]])))],
    ['include', nonEmpty(x.include)],
    ['where', sql(x.where)],
    ...timing(x),
    ['comment', x.comment],
  ]);
}

function indexNode(ix: Index): YamlMap {
  return flowMap([
    ['columns', flowSeq(ix.keys.map((k) => formatKeyString(k) ?? flowMap(keyEntries(k))))],
    ['unique', trueOnly(ix.unique)],
    ['using', ix.method === 'btree' ? undefined : ix.method],
    ['include', nonEmpty(ix.include)],
    ['where', sql(ix.where)],
    ['nullsNotDistinct', trueOnly(ix.nullsNotDistinct)],
    ['with', storageNode(ix.with)],
    ['comment', ix.comment],
  ]);
}

function partitionByNode(key: PartitionKey): YamlMap {
  return flowMap([
    ['strategy', key.strategy],
    ['columns', flowSeq(key.columns)],
  ]);
}

function partitionsNode(schema: string, partitions: readonly Partition[]): Value {
  if (partitions.length === 0) return undefined;
  const m = newMap(false);
  const sorted = [...partitions].sort((a, b) => compare(a.name, b.name) || compare(a.schema, b.schema));
  for (const p of sorted) add(m, p.name, partitionNode(schema, p));
  return m;
}

function boundEntries(b: PartitionBound): [string, Value][] {
  switch (b.kind) {
    case 'range':
      return [
        ['from', boundValues(b.from)],
        ['to', boundValues(b.to)],
      ];
    case 'list':
      return [['in', boundValues(b.values)]];
    case 'hash':
      return [
        ['modulus', b.modulus],
        ['remainder', b.remainder],
      ];
    case 'default':
      return [['default', true]];
    default:
      return assertNever(b);
  }
}

function partitionNode(parentSchema: string, p: Partition): YamlMap {
  const head: [string, Value][] = [
    ['schema', p.schema === parentSchema ? undefined : p.schema],
    ...boundEntries(p.bound),
    ...propertyEntries(p),
    ['notNullNames', p.notNullNames ? flowMap(Object.entries(p.notNullNames)) : undefined],
    ['comment', p.comment],
  ];
  const parts = partsEntries(p.schema, p.name, p).filter(([, v]) => v !== undefined);
  return parts.length === 0 ? flowMap(head) : blockMap([...head, ...parts]);
}
