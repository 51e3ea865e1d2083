/**
 * Validated documents → one DatabaseModel. Documents are merged first (a directory of files is one
 * desired state), then every object is converted and checked where it was written, and last come
 * the checks that need the whole state (foreign-key targets, names shared by different objects).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { castKey, sortedCasts } from '../model/casts.js';
import { sortDefaultPrivileges } from '../model/default-privileges.js';
import { compareGrants, grantKey, PRIVILEGES } from '../model/grants.js';
import { identityOptionsOf, type SequenceSettings } from '../model/identity.js';
import { defaultNotNullName, identifierBytes, isTooLong, MAX_IDENTIFIER_BYTES } from '../model/names.js';
import { COLUMN_OPTIONS } from '../model/objects.js';
import { type OwnerTarget, ownerKey } from '../model/owners.js';
import { defaultCost, defaultRows, routineSignature, sortRoutines, sortTriggers } from '../model/routines.js';
import type {
  Cast,
  CheckConstraint,
  Collation,
  Column,
  CompositeType,
  DatabaseModel,
  DefaultPrivilege,
  DefaultPrivilegeKind,
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
  RoutineArgument,
  SchemaModel,
  Sequence,
  StorageParameters,
  Table,
  TextSearchConfiguration,
  Trigger,
  UniqueConstraint,
  View,
  ViewColumn,
} from '../model/types.js';
import { canonicalType, isBuiltinTypeName, isSerialPseudoType, parseIdentifierChain } from '../model/types-text.js';
import { viewDefinitionText } from '../model/views.js';
import { quoteIdent } from '../sql/quote.js';
import { defaultPrimaryKeyName, SEQUENCE_TYPE_RANGES, sequenceDefaults } from './defaults.js';
import type { DesiredIssue } from './errors.js';
import { nullsOrdering, parseKeyString } from './index-keys.js';
import { formatPath, type PathSegment } from './paths.js';
import type {
  RawAggregate,
  RawBoundValue,
  RawCast,
  RawCollation,
  RawColumn,
  RawCompositeType,
  RawDocument,
  RawDomain,
  RawEnum,
  RawExtension,
  RawGrants,
  RawIndexKey,
  RawKeyObject,
  RawMaterializedView,
  RawNumber,
  RawPartition,
  RawRelationParts,
  RawReplicaIdentity,
  RawRoutine,
  RawSchema,
  RawSequence,
  RawSequenceOptions,
  RawStorageParameters,
  RawTable,
  RawText,
  RawTextSearchConfiguration,
  RawTiming,
  RawTrigger,
  RawView,
  RawViewLike,
} from './raw.js';
import { didYouMean } from './suggest.js';
import { resolveTypeName } from './type-names.js';
import type { ParsedDocument } from './yaml-doc.js';

/** A place in one document. */
class Loc {
  constructor(
    readonly doc: ParsedDocument,
    readonly segments: readonly PathSegment[],
  ) {}

  at(...more: PathSegment[]): Loc {
    return new Loc(this.doc, [...this.segments, ...more]);
  }

  get path(): string {
    return formatPath(this.segments);
  }

  /** `file:line:column` of the entry's key. */
  where(): string {
    const p = this.doc.keyPosition(this.segments);
    return `${this.doc.file}:${p.line}:${p.column}`;
  }

  text(value: RawText): string {
    return this.doc.scalarText(this.segments, value);
  }

  /** Entries of the map at this place in written order, each with its own place. */
  entries<T>(map: Readonly<Record<string, T>> | undefined): [string, T, Loc][] {
    if (!map) return [];
    return this.doc
      .keys(this.segments)
      .filter((k) => Object.hasOwn(map, k))
      .map((k) => [k, map[k] as T, this.at(k)]);
  }
}

class Issues {
  readonly list: DesiredIssue[] = [];

  /** At the key of a map entry: for problems with the entry as a whole or its name. */
  key(loc: Loc, message: string): void {
    const p = loc.doc.keyPosition(loc.segments);
    this.list.push({ file: loc.doc.file, line: p.line, column: p.column, path: loc.path, message });
  }

  /** At the value: for problems with what was written there. */
  value(loc: Loc, message: string): void {
    const p = loc.doc.valuePosition(loc.segments);
    this.list.push({ file: loc.doc.file, line: p.line, column: p.column, path: loc.path, message });
  }
}

interface Entry<T> {
  readonly name: string;
  readonly raw: T;
  readonly loc: Loc;
}

interface MergedSchema {
  readonly name: string;
  comment?: Entry<string>;
  owner?: Entry<string>;
  grants?: Entry<RawGrants>;
  readonly enums: Map<string, Entry<RawEnum>>;
  readonly domains: Map<string, Entry<RawDomain>>;
  readonly compositeTypes: Map<string, Entry<RawCompositeType>>;
  readonly sequences: Map<string, Entry<RawSequence>>;
  readonly tables: Map<string, Entry<RawTable>>;
  readonly views: Map<string, Entry<RawView>>;
  readonly materializedViews: Map<string, Entry<RawMaterializedView>>;
  readonly functions: Map<string, Entry<RawRoutine>>;
  readonly procedures: Map<string, Entry<RawRoutine>>;
  readonly aggregates: Map<string, Entry<RawAggregate>>;
  readonly textSearchConfigurations: Map<string, Entry<RawTextSearchConfiguration>>;
  readonly collations: Map<string, Entry<RawCollation>>;
  /** Keyed `table NUL name`. */
  readonly triggers: Map<string, Entry<RawTrigger> & { readonly table: string }>;
}

/** A table or partition, as foreign keys and OWNED BY see it. */
interface Relation {
  readonly schema: string;
  readonly name: string;
  readonly kind: 'table' | 'partition';
  readonly columns: ReadonlyMap<string, Column>;
  /** Column sets a foreign key may reference: primary key, unique constraints, plain unique indexes. */
  readonly uniqueKeys: (readonly string[])[];
  /** Every unique index the relation declares (constraints included); partitions inherit them. */
  readonly uniques: UniqueIndexInfo[];
  readonly parent?: Relation;
  /** Plain-column elements of the relation's partition key, when it is partitioned (for messages). */
  partitionColumns?: readonly string[];
}

/**
 * A partitioned table cannot be unique on columns without its partition key: say what the foreign
 * key must reference instead (the partition swap's most common refusal).
 */
function partitionHint(target: Relation, refColumns: readonly string[], fkColumns: readonly string[]): string {
  const missing = (target.partitionColumns ?? []).filter((c) => !refColumns.includes(c));
  if (missing.length === 0) return '';
  return (
    `; \`${target.schema}.${target.name}\` is partitioned, and a unique key of a partitioned table must contain its ` +
    `partition key (${missing.join(', ')}): make the foreign key reference columns [${[...refColumns, ...missing].join(', ')}] ` +
    `(with ${fkColumns.length + missing.length} matching columns on the referencing table), or drop it`
  );
}

interface UniqueIndexInfo {
  /** Key columns; undefined for an expression key. */
  readonly columns: readonly (string | undefined)[];
  /** `the primary key \`orders_pkey\``, for messages. */
  readonly what: string;
  readonly loc: Loc;
}

interface NamedThing {
  readonly schema: string;
  readonly name: string;
  readonly what: string;
  readonly loc: Loc;
}

/** What a relation's constraints and indexes are checked against. */
interface RelationContext {
  readonly schema: string;
  readonly name: string;
  /** `table public.orders`, for messages. */
  readonly label: string;
  /** The columns of the root table (partitions have their parent's columns). */
  readonly columns: ReadonlyMap<string, Column>;
  readonly relation: Relation;
  /** A partition's: the names of the NOT NULL constraints of its parent, by column (notNullNamesIn). */
  readonly parentNotNullNames?: ReadonlyMap<string, string>;
  /** A partition's own `notNullNames` (those that are not its parent's). */
  readonly ownNotNullNames?: Readonly<Record<string, string>>;
  /**
   * A materialized view's columns come from its query: only the server knows them (it reports an
   * index on a column the view has not).
   */
  readonly columnsUnknown?: boolean;
}

/** The NOT NULL constraint names of a table's NOT NULL columns (what its partitions inherit). */
function rootNotNullNames(table: string, columns: ReadonlyMap<string, Column>): Map<string, string> {
  const out = new Map<string, string>();
  for (const c of columns.values()) {
    if (!c.nullable) out.set(c.name, c.notNullName ?? defaultNotNullName(table, c.name));
  }
  return out;
}

const IDENTITY_TYPES = new Set(['smallint', 'integer', 'bigint']);
/** Index methods whose pg_am.amclusterable is true. */
const CLUSTERABLE_METHODS = new Set(['btree', 'gist']);

const opt = <K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } =>
  (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };

export interface ConvertResult {
  readonly model: DatabaseModel;
  readonly issues: readonly DesiredIssue[];
  /** The .sql files that `file:` keys named (absolute paths), each once, sorted. */
  readonly sqlFiles: readonly string[];
}

export interface ConvertOptions {
  /** Reads a file `file:` names (an absolute path). Default: the file system, UTF-8. */
  readonly readFile?: (absolutePath: string) => string;
}

/** Merges and converts documents that passed the JSON Schema. */
export function convertDocuments(docs: readonly ParsedDocument[], options: ConvertOptions = {}): ConvertResult {
  return new Converter(options.readFile ?? ((p) => readFileSync(p, 'utf8'))).run(docs);
}

/** A written type resolved; `foldsTo`: the declared type it likely meant, which case folding missed. */
interface ResolvedType {
  readonly type: string;
  readonly foldsTo?: { readonly name: string; readonly other: string };
}

class Converter {
  private readonly sqlFiles = new Set<string>();

  constructor(private readonly readFile: (absolutePath: string) => string) {}

  private readonly issues = new Issues();
  private readonly relations = new Map<string, Relation>();
  private readonly relationNames: NamedThing[] = [];
  private readonly typeNames: NamedThing[] = [];
  private readonly deferred: (() => void)[] = [];
  private schemas = new Map<string, MergedSchema>();
  /** By object key, the owners the `owner:` keys name (src/model/owners.ts). */
  private readonly owners: Record<string, string> = {};

  /** Records the owner of `on` where its YAML has an `owner:` key. */
  private owner(on: OwnerTarget, raw: string | undefined): void {
    if (raw !== undefined) this.owners[ownerKey(on)] = raw;
  }

  run(docs: readonly ParsedDocument[]): ConvertResult {
    const extensions = this.merge(docs);
    const schemaModels = [...this.schemas.values()].map((s) => this.convertSchema(s));
    const defaultPrivileges = this.convertDefaultPrivileges(docs);
    const casts = this.convertCasts(docs);
    for (const check of this.deferred) check();
    this.checkNamespaces();
    return {
      model: {
        kind: 'database',
        extensions,
        schemas: schemaModels,
        ...(defaultPrivileges !== undefined ? { defaultPrivileges } : {}),
        ...(casts.length > 0 ? { casts } : {}),
        ...(Object.keys(this.owners).length > 0 ? { owners: this.owners } : {}),
      },
      issues: this.issues.list,
      sqlFiles: [...this.sqlFiles].sort(),
    };
  }

  // ---------------------------------------------------------------- merge

  private merge(docs: readonly ParsedDocument[]): Extension[] {
    const extensions: Extension[] = [];
    const extensionAt = new Map<string, Loc>();
    for (const doc of docs) {
      const raw = doc.value as RawDocument;
      const root = new Loc(doc, []);
      (raw.extensions ?? []).forEach((ext: RawExtension, i) => {
        const loc = root.at('extensions', i);
        const e: Extension =
          typeof ext === 'string'
            ? { kind: 'extension', name: ext }
            : {
                kind: 'extension',
                name: ext.name,
                ...opt('schema', ext.schema === 'public' ? undefined : ext.schema),
                ...opt('version', ext.version),
              };
        this.checkName(typeof ext === 'string' ? loc : loc.at('name'), e.name, 'extension');
        if (typeof ext !== 'string' && ext.schema !== undefined) this.checkName(loc.at('schema'), ext.schema, 'schema');
        const first = extensionAt.get(e.name);
        if (first) {
          this.issues.value(loc, `extension \`${e.name}\` is listed twice: ${first.where()} and ${loc.where()}`);
          return;
        }
        extensionAt.set(e.name, loc);
        extensions.push(e);
      });
      for (const [name, rawSchema, loc] of root.at('schemas').entries(raw.schemas)) {
        let merged = this.schemas.get(name);
        if (!merged) {
          this.checkName(loc, name, 'schema');
          merged = {
            name,
            enums: new Map(),
            domains: new Map(),
            compositeTypes: new Map(),
            sequences: new Map(),
            tables: new Map(),
            views: new Map(),
            materializedViews: new Map(),
            functions: new Map(),
            procedures: new Map(),
            aggregates: new Map(),
            textSearchConfigurations: new Map(),
            collations: new Map(),
            triggers: new Map(),
          };
          this.schemas.set(name, merged);
        }
        if (rawSchema.grants !== undefined) {
          const entry = { name: 'grants', raw: rawSchema.grants, loc: loc.at('grants') };
          if (merged.grants) this.duplicate(`grants of schema \`${name}\``, merged.grants.loc, entry.loc);
          else merged.grants = entry;
        }
        if (rawSchema.owner !== undefined) {
          const entry = { name: 'owner', raw: rawSchema.owner, loc: loc.at('owner') };
          if (merged.owner) this.duplicate(`owner of schema \`${name}\``, merged.owner.loc, entry.loc);
          else merged.owner = entry;
        }
        if (rawSchema.comment !== undefined) {
          const entry = { name: 'comment', raw: rawSchema.comment, loc: loc.at('comment') };
          if (merged.comment) this.duplicate(`comment of schema \`${name}\``, merged.comment.loc, entry.loc);
          else merged.comment = entry;
        }
        this.mergeNamed('enum', name, merged.enums, loc.at('enums'), rawSchema.enums);
        this.mergeNamed('domain', name, merged.domains, loc.at('domains'), rawSchema.domains);
        this.mergeNamed(
          'composite type',
          name,
          merged.compositeTypes,
          loc.at('compositeTypes'),
          rawSchema.compositeTypes,
        );
        this.mergeNamed('sequence', name, merged.sequences, loc.at('sequences'), rawSchema.sequences);
        this.mergeNamed('table', name, merged.tables, loc.at('tables'), rawSchema.tables);
        this.mergeNamed('view', name, merged.views, loc.at('views'), rawSchema.views);
        this.mergeNamed(
          'materialized view',
          name,
          merged.materializedViews,
          loc.at('materializedViews'),
          rawSchema.materializedViews,
        );
        this.mergeRoutinesAndTriggers(name, merged, rawSchema, loc);
      }
    }
    return extensions;
  }

  private mergeNamed<T>(
    what: string,
    schema: string,
    into: Map<string, Entry<T>>,
    loc: Loc,
    map: Readonly<Record<string, T>> | undefined,
  ): void {
    for (const [name, raw, at] of loc.entries(map)) {
      const first = into.get(name);
      if (first) this.duplicate(`${what} \`${schema}.${name}\``, first.loc, at);
      else into.set(name, { name, raw, loc: at });
    }
  }

  private duplicate(what: string, first: Loc, second: Loc): void {
    this.issues.key(second, `${what} is defined in two places: ${first.where()} and ${second.where()}`);
  }

  // ---------------------------------------------------------------- names and types

  private checkName(loc: Loc, name: string, what: string): void {
    if (name === '') {
      this.issues.key(loc, `${what} name must not be empty`);
    } else if (isTooLong(name)) {
      this.issues.key(
        loc,
        `${what} name \`${name}\` is ${identifierBytes(name)} bytes long; PostgreSQL names are at most ` +
          `${MAX_IDENTIFIER_BYTES} bytes (it would silently truncate this one)`,
      );
    }
  }

  /** By schema, the names of its enums, domains and composite types (complete once merged). */
  private readonly userTypeNames = new Map<string, Set<string>>();
  /** By schema and written type, what resolveType resolves it to (the same for every column that writes it). */
  private readonly resolvedTypes = new Map<string, ResolvedType>();

  private userTypes(schema: string): Set<string> {
    let names = this.userTypeNames.get(schema);
    if (names === undefined) {
      const s = this.schemas.get(schema);
      names = new Set([...(s?.enums.keys() ?? []), ...(s?.domains.keys() ?? []), ...(s?.compositeTypes.keys() ?? [])]);
      this.userTypeNames.set(schema, names);
    }
    return names;
  }

  private resolveType(schema: string, written: string, loc: Loc): string {
    if (isSerialPseudoType(written)) {
      this.issues.value(
        loc,
        `\`${written.trim()}\` is not a type but a shorthand that CREATE TABLE expands; use an integer type with ` +
          '`identity: by default` (or `always`), or an integer column with a sequence default ' +
          "(`default: nextval('<sequence>')`) and the sequence under `sequences`",
      );
      return canonicalType(written);
    }
    const key = `${schema}\u0000${written}`;
    let r = this.resolvedTypes.get(key);
    if (r === undefined) {
      r = this.resolveTypeName(schema, written);
      this.resolvedTypes.set(key, r);
    }
    if (r.foldsTo !== undefined) {
      const { name, other } = r.foldsTo;
      this.issues.value(
        loc,
        `type \`${written.trim()}\` means \`${name}\` (PostgreSQL folds unquoted names to lower case); ` +
          `for the type \`${other}\` write '${quoteIdent(other)}'`,
      );
    }
    return r.type;
  }

  /** The type `written` in `schema` resolves to, and the declared type it was likely meant to name when case folding missed it. */
  private resolveTypeName(schema: string, written: string): ResolvedType {
    const declared = this.userTypes(schema);
    const resolved = resolveTypeName(schema, written, declared);
    const parts = parseIdentifierChain(resolved.replace(/\[\]$/, ''));
    if (parts?.length === 1 && !declared.has(parts[0]!)) {
      const name = parts[0]!;
      const other = [...declared].find((d) => d.toLowerCase() === name.toLowerCase());
      if (other !== undefined && !isBuiltinTypeName(name)) return { type: resolved, foldsTo: { name, other } };
    }
    return { type: resolved };
  }

  // ---------------------------------------------------------------- schemas

  private convertSchema(s: MergedSchema): SchemaModel {
    const enums = [...s.enums.values()].map((e) => this.convertEnum(s.name, e));
    const domains = [...s.domains.values()].map((e) => this.convertDomain(s.name, e));
    const compositeTypes = [...s.compositeTypes.values()].map((e) => this.convertCompositeType(s.name, e));
    const sequences = [...s.sequences.values()].map((e) => this.convertSequence(s.name, e));
    const tables = [...s.tables.values()].map((e) => this.convertTable(s.name, e));
    const views = [...s.views.values()].map((e) => this.convertView(s.name, e));
    const materializedViews = [...s.materializedViews.values()].map((e) => this.convertMaterializedView(s.name, e));
    const comment = s.comment?.raw;
    this.owner({ kind: 'schema', name: s.name }, s.owner?.raw);
    return {
      kind: 'schema',
      name: s.name,
      enums,
      domains,
      compositeTypes,
      sequences,
      tables,
      views,
      materializedViews,
      functions: this.convertRoutines(s),
      triggers: this.convertTriggers(s),
      ...this.convertTextSearchConfigurations(s),
      ...this.convertCollations(s),
      ...opt('comment', comment === '' ? undefined : comment),
      ...(s.grants ? this.convertGrants(s.grants.loc, s.grants.raw, 'schema') : {}),
    };
  }

  private convertEnum(schema: string, { name, raw, loc }: Entry<RawEnum>): EnumType {
    this.checkName(loc, name, 'enum');
    this.typeNames.push({ schema, name, what: 'enum', loc });
    const list = Array.isArray(raw) ? raw : (raw as { values: readonly RawText[] }).values;
    const listLoc = Array.isArray(raw) ? loc : loc.at('values');
    const values: string[] = [];
    const seen = new Map<string, Loc>();
    list.forEach((v, i) => {
      const at = listLoc.at(i);
      const label = at.text(v);
      const first = seen.get(label);
      if (first) {
        this.issues.value(at, `enum label \`${label}\` is listed twice (first at ${first.where()})`);
        return;
      }
      seen.set(label, at);
      if (label === '') this.issues.value(at, 'enum labels must not be empty');
      else if (isTooLong(label)) {
        this.issues.value(
          at,
          `enum label \`${label}\` is ${identifierBytes(label)} bytes long; labels are at most ${MAX_IDENTIFIER_BYTES} bytes`,
        );
      }
      values.push(label);
    });
    const comment = Array.isArray(raw) ? undefined : (raw as { comment?: string }).comment;
    const grants = Array.isArray(raw) ? undefined : (raw as { grants?: RawGrants }).grants;
    this.owner({ kind: 'enum', schema, name }, Array.isArray(raw) ? undefined : (raw as { owner?: string }).owner);
    return {
      kind: 'enum',
      schema,
      name,
      values,
      ...opt('comment', comment || undefined),
      ...this.convertGrants(loc.at('grants'), grants, 'type'),
    };
  }

  private convertDomain(schema: string, { name, raw, loc }: Entry<RawDomain>): Domain {
    this.checkName(loc, name, 'domain');
    this.owner({ kind: 'domain', schema, name }, raw.owner);
    this.typeNames.push({ schema, name, what: 'domain', loc });
    const checks = loc
      .at('checks')
      .entries(raw.checks)
      .map(([checkName, c, at]) => {
        this.checkName(at, checkName, 'constraint');
        return {
          name: checkName,
          expression: this.expression(at.at('expression'), c.expression),
          ...opt('comment', c.comment || undefined),
        };
      });
    return {
      kind: 'domain',
      schema,
      name,
      type: this.resolveType(schema, raw.type, loc.at('type')),
      nullable: raw.nullable ?? true,
      ...opt('default', raw.default === undefined ? undefined : this.expression(loc.at('default'), raw.default)),
      ...opt('collation', rawName(raw.collation)),
      checks,
      ...opt('comment', raw.comment || undefined),
      ...this.convertGrants(loc.at('grants'), raw.grants, 'type'),
    };
  }

  // ---------------------------------------------------------------- composite types (issue 12)

  private convertCompositeType(schema: string, { name, raw, loc }: Entry<RawCompositeType>): CompositeType {
    this.checkName(loc, name, 'composite type');
    this.owner({ kind: 'compositeType', schema, name }, raw.owner);
    // A composite type is a relation too (pg_class relkind c): its name clashes with tables'.
    this.relationNames.push({ schema, name, what: 'composite type', loc });
    this.typeNames.push({ schema, name, what: 'composite type', loc });
    const attributes = loc
      .at('attributes')
      .entries(raw.attributes)
      .map(([attribute, a, at]) => {
        this.checkName(at, attribute, 'attribute');
        return {
          name: attribute,
          type: this.resolveType(schema, a.type, at.at('type')),
          ...opt('collation', rawName(a.collation)),
          ...opt('comment', a.comment || undefined),
        };
      });
    if (attributes.length === 0)
      this.issues.value(loc.at('attributes'), 'a composite type needs at least one attribute');
    return {
      kind: 'compositeType',
      schema,
      name,
      attributes,
      ...opt('comment', raw.comment || undefined),
      ...this.convertGrants(loc.at('grants'), raw.grants, 'type'),
    };
  }

  private expression(loc: Loc, value: RawText): string {
    const text = loc.text(value);
    if (text.trim() === '') this.issues.value(loc, 'must not be empty');
    return text;
  }

  // ---------------------------------------------------------------- sequences

  private sequenceNumber(loc: Loc, value: RawNumber | undefined): bigint | undefined {
    if (value === undefined) return undefined;
    const text = loc.text(value).trim();
    try {
      // YAML integers may be hex (0x1F) or octal (0o17); BigInt reads those prefixes too.
      return /^[+-]?\d+$/.test(text) ? BigInt(text) : BigInt(value);
    } catch {
      this.issues.value(loc, `expected an integer, got ${JSON.stringify(text)}`);
      return undefined;
    }
  }

  /**
   * START, INCREMENT, MINVALUE, MAXVALUE, CACHE and CYCLE of a sequence of `type` (a standalone one
   * or an identity column's), PostgreSQL's defaults filled in, each checked where it was written.
   */
  private sequenceSettings(loc: Loc, type: string, raw: RawSequenceOptions): SequenceSettings {
    const [typeMin, typeMax] = SEQUENCE_TYPE_RANGES[type]!;
    let increment = this.sequenceNumber(loc.at('increment'), raw.increment) ?? 1n;
    if (increment === 0n) {
      this.issues.value(loc.at('increment'), 'increment must not be zero');
      increment = 1n;
    }
    const defaults = sequenceDefaults(type, increment);
    const minValue = this.sequenceNumber(loc.at('minValue'), raw.minValue) ?? defaults.minValue;
    const maxValue = this.sequenceNumber(loc.at('maxValue'), raw.maxValue) ?? defaults.maxValue;
    const start = this.sequenceNumber(loc.at('start'), raw.start) ?? defaults.start(minValue, maxValue);
    const cache = this.sequenceNumber(loc.at('cache'), raw.cache) ?? 1n;
    for (const [key, v] of [
      ['increment', increment],
      ['minValue', minValue],
      ['maxValue', maxValue],
      ['start', start],
    ] as const) {
      if (v < typeMin || v > typeMax) this.issues.value(loc.at(key), `${v} is out of range for type ${type}`);
    }
    if (minValue >= maxValue) {
      this.issues.key(loc, `minValue (${minValue}) must be less than maxValue (${maxValue})`);
    } else if (start < minValue || start > maxValue) {
      this.issues.key(loc, `start (${start}) must lie between minValue (${minValue}) and maxValue (${maxValue})`);
    }
    if (cache < 1n) this.issues.value(loc.at('cache'), 'cache must be at least 1');
    return { start, increment, minValue, maxValue, cache, cycle: raw.cycle ?? false };
  }

  private convertSequence(schema: string, { name, raw, loc }: Entry<RawSequence>): Sequence {
    this.checkName(loc, name, 'sequence');
    if (raw.owner !== undefined && raw.ownedBy !== undefined) {
      // PostgreSQL refuses it ("Sequence is linked to table"): ALTER TABLE … OWNER TO moves it.
      this.issues.key(loc.at('owner'), 'a sequence with `ownedBy` has the owner of its table: leave `owner` out');
    } else this.owner({ kind: 'sequence', schema, name }, raw.owner);
    this.relationNames.push({ schema, name, what: 'sequence', loc });
    let type = 'bigint';
    if (raw.type !== undefined) {
      type = canonicalType(raw.type);
      if (!SEQUENCE_TYPE_RANGES[type]) {
        this.issues.value(loc.at('type'), `a sequence's type is smallint, integer or bigint, not \`${raw.type}\``);
        type = 'bigint';
      }
    }
    const { start, increment, minValue, maxValue, cache, cycle } = this.sequenceSettings(loc, type, raw);

    let ownedBy: Sequence['ownedBy'];
    if (raw.ownedBy !== undefined) {
      const at = loc.at('ownedBy');
      let table: string | undefined;
      let column: string | undefined;
      if (typeof raw.ownedBy === 'string') {
        const parts = raw.ownedBy.split('.');
        if (parts.length === 2 && parts[0] !== '' && parts[1] !== '') [table, column] = parts as [string, string];
        else {
          this.issues.value(
            at,
            `expected \`table.column\`, got ${JSON.stringify(raw.ownedBy)}; write { table, column } when a name contains a dot`,
          );
        }
      } else {
        ({ table, column } = raw.ownedBy);
      }
      if (table !== undefined && column !== undefined) {
        ownedBy = { schema, table, column };
        const [t, c] = [table, column];
        this.deferred.push(() => {
          const rel = this.relations.get(relationKey(schema, t));
          if (!rel) {
            this.issues.value(at, `ownedBy: there is no table \`${schema}.${t}\`${this.tableHint(schema, t)}`);
          } else if (!rel.columns.has(c)) {
            this.issues.value(
              at,
              `ownedBy: table \`${schema}.${t}\` has no column \`${c}\`${didYouMean(c, rel.columns.keys())}`,
            );
          }
        });
      }
    }
    return {
      kind: 'sequence',
      schema,
      name,
      type,
      start: String(start),
      increment: String(increment),
      minValue: String(minValue),
      maxValue: String(maxValue),
      cache: String(cache),
      cycle,
      ...opt('ownedBy', ownedBy),
      ...opt('comment', raw.comment || undefined),
      ...this.convertGrants(loc.at('grants'), raw.grants, 'sequence'),
    };
  }

  // ---------------------------------------------------------------- tables

  private convertTable(schema: string, { name, raw, loc }: Entry<RawTable>): Table {
    this.checkName(loc, name, 'table');
    this.owner({ kind: 'table', schema, name }, raw.owner);
    if (raw.renamedFrom !== undefined) this.checkName(loc.at('renamedFrom'), raw.renamedFrom, 'table');
    this.relationNames.push({ schema, name, what: 'table', loc });
    this.typeNames.push({ schema, name, what: 'table', loc });
    const pkColumns = new Set(raw.primaryKey?.columns ?? []);
    const columns = new Map<string, Column>();
    for (const [colName, rawColumn, at] of loc.at('columns').entries(raw.columns)) {
      columns.set(colName, this.convertColumn(schema, name, colName, rawColumn, at, pkColumns.has(colName)));
    }
    const relation: Relation = { schema, name, kind: 'table', columns, uniqueKeys: [], uniques: [] };
    this.relations.set(relationKey(schema, name), relation);
    // A child of INHERITS has its parents' columns too: keys and indexes may name them.
    const inherits = raw.inherits?.map((p) => (p.includes('.') ? p : `${schema}.${p}`));
    const parts = this.convertParts(
      {
        schema,
        name,
        label: `table \`${schema}.${name}\``,
        columns,
        relation,
        ...(inherits !== undefined ? { columnsUnknown: true } : {}),
      },
      raw,
      loc,
    );
    inherits?.forEach((parent, i) => {
      this.deferred.push(() => this.checkParent(`${schema}.${name}`, parent, loc.at('inherits', i)));
    });
    return {
      kind: 'table',
      schema,
      name,
      unlogged: raw.unlogged ?? false,
      columns: [...columns.values()],
      ...opt('inherits', inherits),
      ...parts,
      ...opt('renamedFrom', raw.renamedFrom),
      ...this.convertPolicies(loc, raw.policies),
      ...this.convertGrants(loc.at('grants'), raw.grants, 'table'),
    };
  }

  // ---------------------------------------------------------------- casts

  /**
   * `casts` of every document: source and target as written (normalize.ts asks the server for its
   * spelling), exactly one of `function`, `inout`, `withoutFunction`; a pair listed twice is an error.
   */
  private convertCasts(docs: readonly ParsedDocument[]): Cast[] {
    const out: Cast[] = [];
    const seen = new Map<string, Loc>();
    for (const doc of docs) {
      const raw = doc.value as RawDocument;
      (raw.casts ?? []).forEach((c: RawCast, i) => {
        const loc = new Loc(doc, []).at('casts', i);
        const ways = [c.function !== undefined, c.inout === true, c.withoutFunction === true].filter(Boolean).length;
        if (ways !== 1) {
          this.issues.value(
            loc,
            `cast (${c.source} AS ${c.target}) takes exactly one of \`function\`, \`inout: true\`, \`withoutFunction: true\``,
          );
          return;
        }
        const key = castKey(c);
        const first = seen.get(key);
        if (first) {
          this.duplicate(`cast (${c.source} AS ${c.target})`, first, loc);
          return;
        }
        seen.set(key, loc);
        out.push({
          kind: 'cast',
          source: c.source,
          target: c.target,
          method: c.function !== undefined ? 'function' : c.inout === true ? 'inout' : 'binary',
          ...opt('function', c.function),
          context: c.context ?? 'explicit',
          ...opt('comment', c.comment || undefined),
        });
      });
    }
    return sortedCasts(out) ?? [];
  }

  // ---------------------------------------------------------------- privileges (issue 12)

  /**
   * `defaultPrivileges` (issue 12): undefined when no document has the key (not managed), else every
   * entry listed (one the key leaves out is at PostgreSQL's default). A role in two files is an error.
   */
  private convertDefaultPrivileges(docs: readonly ParsedDocument[]): DefaultPrivilege[] | undefined {
    let out: DefaultPrivilege[] | undefined;
    const roleAt = new Map<string, Loc>();
    const privilegesOf = {
      tables: 'table',
      sequences: 'sequence',
      functions: 'function',
      types: 'type',
      schemas: 'schema',
    } as const;
    for (const doc of docs) {
      const raw = doc.value as RawDocument;
      if (raw.defaultPrivileges === undefined) continue;
      out ??= [];
      for (const [role, r, loc] of new Loc(doc, []).at('defaultPrivileges').entries(raw.defaultPrivileges)) {
        this.checkName(loc, role, 'role');
        const first = roleAt.get(role);
        if (first) {
          this.duplicate(`default privileges of role \`${role}\``, first, loc);
          continue;
        }
        roleAt.set(role, loc);
        const entries: [string | undefined, Loc, Partial<Record<DefaultPrivilegeKind, RawGrants>>][] = [
          [undefined, loc, r],
          ...loc
            .at('inSchema')
            .entries(r.inSchema)
            .map(([schema, x, at]): [string, Loc, typeof x] => [schema, at, x]),
        ];
        for (const [schema, at, grants] of entries) {
          if (schema !== undefined) this.checkName(at, schema, 'schema');
          for (const on of Object.keys(privilegesOf) as DefaultPrivilegeKind[]) {
            if (grants[on] === undefined) continue;
            const g = this.convertGrants(at.at(on), grants[on], privilegesOf[on]).grants ?? [];
            out.push({ role, ...opt('schema', schema), on, grants: g });
          }
        }
      }
    }
    return out === undefined ? undefined : sortDefaultPrivileges(out);
  }

  /** `{ grants }` when the YAML has the key (the object's privileges are managed), else nothing. */
  private convertGrants(loc: Loc, raw: RawGrants | undefined, on: keyof typeof PRIVILEGES): { grants?: Grant[] } {
    if (raw === undefined) return {};
    const allowed: readonly string[] = PRIVILEGES[on];
    const grants: Grant[] = [];
    const seen = new Set<string>();
    for (const [who, privileges, at] of loc.entries(raw)) {
      const grantee = who.toLowerCase() === 'public' ? 'public' : who;
      this.checkName(at, grantee, 'role');
      privileges.forEach((text, i) => {
        const m = /^\s*([A-Za-z]+)(\s+WITH\s+GRANT\s+OPTION)?\s*$/i.exec(text);
        const privilege = m?.[1]?.toUpperCase();
        if (m === null || privilege === undefined || !allowed.includes(privilege)) {
          this.issues.value(
            at.at(i),
            `\`${text}\` is not a privilege of a ${on}: one of ${allowed.join(', ')}, optionally followed by WITH GRANT OPTION`,
          );
          return;
        }
        const g: Grant = { grantee, privilege, ...(m[2] !== undefined ? { grantable: true as const } : {}) };
        if (seen.has(grantKey(g))) {
          this.issues.value(at.at(i), `${privilege} is listed twice for ${grantee}`);
          return;
        }
        seen.add(grantKey(g));
        grants.push(g);
      });
    }
    return { grants: grants.sort(compareGrants) };
  }

  // ---------------------------------------------------------------- policies (issue 12)

  private convertPolicies(loc: Loc, raw: RawTable['policies']): { policies?: Policy[] } {
    const policies = loc
      .at('policies')
      .entries(raw)
      .map(([name, p, at]): Policy => {
        this.checkName(at, name, 'policy');
        const roles = [...new Set((p.roles ?? []).map((r) => (r.toLowerCase() === 'public' ? 'public' : r)))].sort();
        (p.roles ?? []).forEach((r, i) => {
          this.checkName(at.at('roles', i), r, 'role');
        });
        if (roles.length > 1 && roles.includes('public')) {
          this.issues.value(
            at.at('roles'),
            `policy \`${name}\`: \`public\` (every role) is listed with other roles, which PostgreSQL ignores ` +
              '(it keeps PUBLIC alone); list either `public` or the roles',
          );
        }
        const publicOnly = roles.length === 0 || (roles.length === 1 && roles[0] === 'public');
        return {
          name,
          ...(p.restrictive === true ? { restrictive: true as const } : {}),
          ...opt('command', p.command === 'all' ? undefined : p.command),
          ...(publicOnly ? {} : { roles }),
          ...opt('using', p.using === undefined ? undefined : this.expression(at.at('using'), p.using)),
          ...opt('withCheck', p.withCheck === undefined ? undefined : this.expression(at.at('withCheck'), p.withCheck)),
          ...opt('comment', p.comment || undefined),
        };
      })
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return policies.length > 0 ? { policies } : {};
  }

  private convertColumn(
    schema: string,
    table: string,
    name: string,
    raw: RawColumn,
    loc: Loc,
    inPrimaryKey: boolean,
  ): Column {
    this.checkName(loc, name, 'column');
    if (raw.renamedFrom !== undefined) this.checkName(loc.at('renamedFrom'), raw.renamedFrom, 'column');
    const type = this.resolveType(schema, raw.type, loc.at('type'));
    let generated: Column['generated'];
    if (raw.generated !== undefined) {
      generated =
        typeof raw.generated === 'string'
          ? { expression: this.expression(loc.at('generated'), raw.generated), stored: true }
          : {
              expression: this.expression(loc.at('generated', 'expression'), raw.generated.expression),
              stored: raw.generated.stored ?? true,
            };
    }
    if (raw.identity !== undefined && !IDENTITY_TYPES.has(type)) {
      this.issues.value(loc.at('type'), `an identity column must be smallint, integer or bigint, not \`${raw.type}\``);
    }
    const identity = typeof raw.identity === 'object' ? raw.identity.generated : raw.identity;
    const identityOptions =
      typeof raw.identity === 'object' && IDENTITY_TYPES.has(type)
        ? identityOptionsOf(type, this.sequenceSettings(loc.at('identity'), type, raw.identity))
        : undefined;
    if (raw.identity !== undefined && raw.default !== undefined) {
      this.issues.key(loc.at('default'), 'an identity column cannot also have a default');
    }
    if (generated && raw.default !== undefined) {
      this.issues.key(loc.at('default'), 'a generated column cannot also have a default');
    }
    if (generated && raw.identity !== undefined) {
      this.issues.key(loc.at('generated'), 'a column cannot be both generated and an identity');
    }
    // PostgreSQL makes primary key and identity columns NOT NULL whatever the column says.
    const forcedNotNull = inPrimaryKey
      ? 'a primary key column'
      : raw.identity !== undefined
        ? 'an identity column'
        : '';
    if (forcedNotNull !== '' && raw.nullable === true) {
      this.issues.value(
        loc.at('nullable'),
        `${forcedNotNull} is always NOT NULL in PostgreSQL; remove \`nullable: true\``,
      );
    }
    const nullable = forcedNotNull === '' ? (raw.nullable ?? true) : false;
    if (raw.notNullName !== undefined) {
      this.checkName(loc.at('notNullName'), raw.notNullName, 'constraint');
      if (nullable) {
        this.issues.key(
          loc.at('notNullName'),
          'a nullable column has no NOT NULL constraint to name: remove `notNullName` or write `nullable: false`',
        );
      }
    }
    return {
      kind: 'column',
      name,
      type,
      nullable,
      ...opt('default', raw.default === undefined ? undefined : this.expression(loc.at('default'), raw.default)),
      ...opt('identity', identity),
      ...opt('identityOptions', identityOptions),
      ...opt('generated', generated),
      ...opt('collation', rawName(raw.collation)),
      ...opt('options', this.columnOptions(loc.at('options'), raw.options)),
      ...opt('statistics', raw.statistics === -1 ? undefined : raw.statistics),
      ...opt('storage', raw.storage),
      ...opt('compression', raw.compression),
      // The name PostgreSQL would give it anyway is not kept: the model holds only other names.
      ...opt(
        'notNullName',
        nullable || raw.notNullName === defaultNotNullName(table, name) ? undefined : raw.notNullName,
      ),
      ...opt('comment', raw.comment || undefined),
      ...opt('renamedFrom', raw.renamedFrom),
      ...this.convertGrants(loc.at('grants'), raw.grants, 'column'),
      ...opt('using', raw.using === undefined ? undefined : this.expression(loc.at('using'), raw.using)),
      ...opt('reverse', raw.reverse === undefined ? undefined : this.expression(loc.at('reverse'), raw.reverse)),
    };
  }

  // ---------------------------------------------------------------- constraints and indexes

  /** Reports a column the relation does not have; true when it has it. */
  private checkColumn(ctx: RelationContext, at: Loc, name: string, what: string): boolean {
    if (ctx.columns.has(name) || ctx.columnsUnknown === true) return true;
    const hint = didYouMean(name, ctx.columns.keys());
    const expr = hint === '' && /[()\s]/.test(name) ? '; for an expression write { expression: ... }' : '';
    this.issues.value(at, `${what}: ${ctx.label} has no column \`${name}\`${hint}${expr}`);
    return false;
  }

  private checkColumns(ctx: RelationContext, loc: Loc, names: readonly string[], what: string): void {
    const seen = new Set<string>();
    names.forEach((n, i) => {
      const at = loc.at(i);
      if (this.checkColumn(ctx, at, n, what) && seen.has(n)) {
        this.issues.value(at, `${what}: column \`${n}\` is listed twice`);
      }
      seen.add(n);
    });
  }

  private timing(loc: Loc, raw: RawTiming): { deferrable: boolean; initiallyDeferred: boolean } {
    const deferrable = raw.deferrable ?? false;
    const initiallyDeferred = raw.initiallyDeferred ?? false;
    if (initiallyDeferred && !deferrable) {
      this.issues.value(loc.at('initiallyDeferred'), 'INITIALLY DEFERRED needs `deferrable: true`');
    }
    return { deferrable, initiallyDeferred };
  }

  private convertParts(ctx: RelationContext, raw: RawRelationParts, loc: Loc): RelationParts {
    const constraintNames = new Map<string, Loc>();
    const constraintName = (name: string, at: Loc) => {
      this.checkName(at, name, 'constraint');
      const first = constraintNames.get(name);
      if (first) {
        this.issues.key(at, `${ctx.label} already has a constraint named \`${name}\` (at ${first.where()})`);
      }
      constraintNames.set(name, at);
    };
    // Constraints backed by an index, and indexes, are relations in the schema: their names must
    // not collide with tables, sequences or other indexes there.
    const indexName = (name: string, at: Loc, what: string) =>
      this.relationNames.push({ schema: ctx.schema, name, what, loc: at });
    const uniqueKeys = ctx.relation.uniqueKeys;

    let primaryKey: PrimaryKey | undefined;
    if (raw.primaryKey) {
      const at = loc.at('primaryKey');
      const pk = raw.primaryKey;
      const name = pk.name ?? defaultPrimaryKeyName(ctx.name);
      constraintName(name, pk.name === undefined ? at : at.at('name'));
      indexName(name, pk.name === undefined ? at : at.at('name'), 'primary key');
      this.checkColumns(ctx, at.at('columns'), pk.columns, 'primary key');
      this.checkColumns(ctx, at.at('include'), pk.include ?? [], 'primary key include');
      const timing = this.timing(at, pk);
      primaryKey = {
        kind: 'primaryKey',
        name,
        columns: pk.columns,
        include: pk.include ?? [],
        ...timing,
        ...opt('comment', pk.comment || undefined),
      };
      if (!timing.deferrable) uniqueKeys.push(pk.columns);
      ctx.relation.uniques.push({ columns: pk.columns, what: `the primary key \`${name}\``, loc: at });
    }

    const uniqueConstraints = loc
      .at('uniqueConstraints')
      .entries(raw.uniqueConstraints)
      .map(([name, u, at]) => {
        constraintName(name, at);
        indexName(name, at, 'unique constraint');
        this.checkColumns(ctx, at.at('columns'), u.columns, 'unique constraint');
        this.checkColumns(ctx, at.at('include'), u.include ?? [], 'unique constraint include');
        const timing = this.timing(at, u);
        if (!timing.deferrable) uniqueKeys.push(u.columns);
        ctx.relation.uniques.push({ columns: u.columns, what: `the unique constraint \`${name}\``, loc: at });
        const c: UniqueConstraint = {
          kind: 'unique',
          name,
          columns: u.columns,
          include: u.include ?? [],
          nullsNotDistinct: u.nullsNotDistinct ?? false,
          ...timing,
          ...opt('comment', u.comment || undefined),
        };
        return c;
      });

    const checks = loc
      .at('checks')
      .entries(raw.checks)
      .map(([name, c, at]) => {
        constraintName(name, at);
        const check: CheckConstraint = {
          kind: 'check',
          name,
          expression: this.expression(at.at('expression'), c.expression),
          noInherit: c.noInherit ?? false,
          valid: !(c.notValid ?? false),
          ...opt('comment', c.comment || undefined),
        };
        return check;
      });

    const foreignKeys = loc
      .at('foreignKeys')
      .entries(raw.foreignKeys)
      .map(([name, f, at]) => {
        constraintName(name, at);
        this.checkColumns(ctx, at.at('columns'), f.columns, 'foreign key');
        const fk: ForeignKey = {
          kind: 'foreignKey',
          name,
          columns: f.columns,
          references: {
            schema: f.references.schema ?? ctx.schema,
            table: f.references.table,
            columns: f.references.columns,
          },
          onUpdate: f.onUpdate ?? 'no action',
          onDelete: f.onDelete ?? 'no action',
          match: f.match ?? 'simple',
          valid: !(f.notValid ?? false),
          ...this.timing(at, f),
          ...opt('comment', f.comment || undefined),
        };
        this.deferred.push(() => this.checkForeignKey(fk, at));
        return fk;
      });

    const exclusionConstraints = loc
      .at('exclusionConstraints')
      .entries(raw.exclusionConstraints)
      .map(([name, x, at]) => {
        constraintName(name, at);
        indexName(name, at, 'exclusion constraint');
        this.checkColumns(ctx, at.at('include'), x.include ?? [], 'exclusion constraint include');
        const c: ExclusionConstraint = {
          kind: 'exclusion',
          name,
          method: accessMethod(x.using),
          elements: x.elements.map((el, i) => ({
            key: this.keyObject(ctx, at.at('elements', i), el, 'exclusion constraint'),
            operator: el.with.trim(),
          })),
          include: x.include ?? [],
          ...opt('where', x.where === undefined ? undefined : this.expression(at.at('where'), x.where)),
          ...this.timing(at, x),
          ...opt('comment', x.comment || undefined),
        };
        return c;
      });

    const indexes = this.convertIndexes(ctx, raw.indexes, loc.at('indexes'));

    let partitionBy: PartitionKey | undefined;
    if (raw.partitionBy) {
      const at = loc.at('partitionBy');
      const columns = raw.partitionBy.columns.map((c, i) => this.partitionKeyElement(ctx, at.at('columns', i), c));
      partitionBy = { strategy: raw.partitionBy.strategy, columns };
      if (partitionBy.strategy === 'list' && columns.length > 1) {
        this.issues.value(at.at('columns'), 'list partitioning takes exactly one key column or expression');
      }
      this.checkPartitionKeyCovered(ctx, at, partitionBy);
      ctx.relation.partitionColumns = columns.filter((c) => !c.startsWith('('));
    }

    const partitionsLoc = loc.at('partitions');
    const entries = partitionsLoc.entries(raw.partitions);
    if (entries.length > 0 && !partitionBy) {
      this.issues.key(partitionsLoc, `${ctx.label} has partitions but no \`partitionBy\``);
    }
    let defaultAt: Loc | undefined;
    const partitions = entries.map(([name, p, at]) => {
      const part = this.convertPartition(ctx, partitionBy, name, p, at);
      if (part.bound.kind === 'default') {
        if (defaultAt) this.issues.key(at, `${ctx.label} already has a default partition (at ${defaultAt.where()})`);
        defaultAt = at;
      }
      return part;
    });

    return {
      ...opt('primaryKey', primaryKey),
      uniqueConstraints,
      checks,
      foreignKeys,
      exclusionConstraints,
      indexes,
      ...opt('partitionBy', partitionBy),
      partitions,
      ...opt('comment', raw.comment || undefined),
      ...opt('with', this.storageParameters(loc.at('with'), raw.with)),
      ...(raw.rowLevelSecurity === true ? { rowLevelSecurity: true as const } : {}),
      ...(raw.forceRowLevelSecurity === true ? { forceRowLevelSecurity: true as const } : {}),
      ...opt(
        'replicaIdentity',
        this.replicaIdentity(ctx, loc.at('replicaIdentity'), raw.replicaIdentity, {
          primaryKey,
          uniqueConstraints,
          indexes,
        }),
      ),
      ...opt(
        'clusterOn',
        this.clusterOn(ctx, loc.at('clusterOn'), raw.clusterOn, {
          primaryKey,
          uniqueConstraints,
          indexes,
          partitionBy,
        }),
      ),
    };
  }

  /**
   * CLUSTER ON: an index of the relation (or its primary key or a unique constraint) that PostgreSQL
   * can cluster on: not partial, of a method that can order (btree, gist); not on a partitioned table.
   */
  private clusterOn(
    ctx: RelationContext,
    loc: Loc,
    name: string | undefined,
    parts: {
      readonly primaryKey: PrimaryKey | undefined;
      readonly uniqueConstraints: readonly UniqueConstraint[];
      readonly indexes: readonly Index[];
      readonly partitionBy: PartitionKey | undefined;
    },
  ): string | undefined {
    if (name === undefined) return undefined;
    if (parts.partitionBy !== undefined) {
      this.issues.value(
        loc,
        `${ctx.label} is partitioned: PostgreSQL cannot mark an index of a partitioned table for CLUSTER`,
      );
      return name;
    }
    const index = parts.indexes.find((i) => i.name === name);
    if (
      index === undefined &&
      parts.primaryKey?.name !== name &&
      !parts.uniqueConstraints.some((u) => u.name === name)
    ) {
      const names = [
        parts.primaryKey?.name,
        ...parts.uniqueConstraints.map((u) => u.name),
        ...parts.indexes.map((i) => i.name),
      ];
      this.issues.value(
        loc,
        `${ctx.label} has no primary key, unique constraint or index \`${name}\`${didYouMean(
          name,
          names.filter((n) => n !== undefined),
        )}`,
      );
    } else if (index?.where !== undefined) {
      this.issues.value(loc, `\`${name}\` cannot be clustered on: it is partial (has a \`where\`)`);
    } else if (index !== undefined && !CLUSTERABLE_METHODS.has(index.method)) {
      this.issues.value(
        loc,
        `\`${name}\` cannot be clustered on: a ${index.method} index cannot order rows (btree and gist can)`,
      );
    }
    return name;
  }

  /** Indexes of a table, partition or materialized view; their names share the schema's namespace of relations. */
  private convertIndexes(ctx: RelationContext, raw: RawRelationParts['indexes'], loc: Loc): Index[] {
    const indexName = (name: string, at: Loc, what: string) =>
      this.relationNames.push({ schema: ctx.schema, name, what, loc: at });
    const uniqueKeys = ctx.relation.uniqueKeys;
    return loc.entries(raw).map(([name, ix, at]) => {
      this.checkName(at, name, 'index');
      indexName(name, at, 'index');
      const keys = ix.columns.map((k, i) => this.indexKey(ctx, at.at('columns', i), k));
      this.checkColumns(ctx, at.at('include'), ix.include ?? [], 'index include');
      const unique = ix.unique ?? false;
      if (ix.nullsNotDistinct && !unique) {
        this.issues.value(
          at.at('nullsNotDistinct'),
          'NULLS NOT DISTINCT applies to unique indexes only: add `unique: true`',
        );
      }
      if (unique && ix.where === undefined && keys.every((k) => k.column !== undefined)) {
        uniqueKeys.push(keys.map((k) => k.column!));
      }
      if (unique)
        ctx.relation.uniques.push({
          columns: keys.map((k) => k.column),
          what: `the unique index \`${name}\``,
          loc: at,
        });
      const index: Index = {
        kind: 'index',
        name,
        unique,
        method: accessMethod(ix.using),
        keys,
        include: ix.include ?? [],
        ...opt('where', ix.where === undefined ? undefined : this.expression(at.at('where'), ix.where)),
        nullsNotDistinct: ix.nullsNotDistinct ?? false,
        ...opt('with', this.storageParameters(at.at('with'), ix.with)),
        valid: true,
        ...opt('comment', ix.comment || undefined),
      };
      return index;
    });
  }

  /** Storage parameters in the order written (see StorageParameters); undefined when none. */
  private storageParameters(loc: Loc, raw: RawStorageParameters | undefined): StorageParameters | undefined {
    const entries = loc.entries(raw).map(([k, v, at]): [string, string] => {
      if (!/^([a-z_][a-z0-9_]*\.)?[a-z_][a-z0-9_]*$/.test(k)) {
        this.issues.key(
          at,
          `\`${k}\` is not a storage parameter name (lower-case letters, digits and _, e.g. fillfactor, toast.autovacuum_enabled)`,
        );
      }
      return [k, at.text(v)];
    });
    return entries.length > 0 ? Object.fromEntries(entries) : undefined;
  }

  /** Attribute options of a column: PostgreSQL has two, n_distinct and n_distinct_inherited. */
  private columnOptions(loc: Loc, raw: RawStorageParameters | undefined): StorageParameters | undefined {
    const options = this.storageParameters(loc, raw);
    for (const [k, , at] of loc.entries(raw)) {
      if (!COLUMN_OPTIONS.has(k)) {
        this.issues.key(at, `\`${k}\` is not an attribute option: PostgreSQL has n_distinct and n_distinct_inherited`);
      }
    }
    return options;
  }

  /**
   * REPLICA IDENTITY: `default` is PostgreSQL's default (absent from the model). USING INDEX needs a
   * unique, non-partial, non-deferrable index over plain NOT NULL columns of the relation itself.
   */
  private replicaIdentity(
    ctx: RelationContext,
    loc: Loc,
    raw: RawReplicaIdentity | undefined,
    parts: {
      readonly primaryKey: PrimaryKey | undefined;
      readonly uniqueConstraints: readonly UniqueConstraint[];
      readonly indexes: readonly Index[];
    },
  ): ReplicaIdentity | undefined {
    if (raw === undefined || raw === 'default') return undefined;
    if (raw === 'full' || raw === 'nothing') return { kind: raw };
    const name = raw.index;
    const at = loc.at('index');
    const pk = parts.primaryKey?.name === name ? parts.primaryKey : undefined;
    const unique = parts.uniqueConstraints.find((u) => u.name === name);
    const index = parts.indexes.find((i) => i.name === name);
    let columns: readonly (string | undefined)[] | undefined;
    let problem = '';
    if (pk !== undefined || unique !== undefined) {
      const key = (pk ?? unique)!;
      columns = key.columns;
      if (key.deferrable) problem = 'it is deferrable';
    } else if (index !== undefined) {
      columns = index.keys.map((k) => k.column);
      if (!index.unique) problem = 'it is not unique';
      else if (index.where !== undefined) problem = 'it is partial (has a `where`)';
      else if (columns.some((c) => c === undefined)) problem = 'it has an expression key';
    } else {
      const names = [
        parts.primaryKey?.name,
        ...parts.uniqueConstraints.map((u) => u.name),
        ...parts.indexes.map((i) => i.name),
      ];
      this.issues.value(
        at,
        `${ctx.label} has no primary key, unique constraint or index \`${name}\`${didYouMean(
          name,
          names.filter((n) => n !== undefined),
        )}`,
      );
      return { kind: 'index', index: name };
    }
    const nullable = (columns ?? []).filter((c) => c !== undefined && ctx.columns.get(c)?.nullable === true);
    if (problem === '' && nullable.length > 0)
      problem = `column ${nullable.map((c) => `\`${c}\``).join(', ')} is nullable`;
    if (problem !== '') {
      this.issues.value(
        at,
        `\`${name}\` cannot be the replica identity: ${problem} (PostgreSQL needs a unique, non-partial, non-deferrable index over NOT NULL columns)`,
      );
    }
    return { kind: 'index', index: name };
  }

  private indexKey(ctx: RelationContext, loc: Loc, raw: RawIndexKey): IndexKey {
    if (typeof raw !== 'string') return this.keyObject(ctx, loc, raw, 'index');
    const key = parseKeyString(raw);
    if (!key) {
      this.issues.value(loc, `expected \`<column> [asc|desc] [nulls first|last]\`, got ${JSON.stringify(raw)}`);
      return { column: raw, descending: false };
    }
    this.checkColumn(ctx, loc, key.column!, 'index');
    return key;
  }

  private keyObject(ctx: RelationContext, loc: Loc, raw: RawKeyObject, what: string): IndexKey {
    const hasColumn = raw.column !== undefined;
    const hasExpression = raw.expression !== undefined;
    if (hasColumn === hasExpression) {
      this.issues.value(loc, `a key has exactly one of \`column\` and \`expression\``);
    }
    if (raw.column !== undefined) this.checkColumn(ctx, loc.at('column'), raw.column, what);
    const descending = raw.order === 'desc';
    return {
      ...opt('column', raw.column),
      ...opt(
        'expression',
        raw.expression === undefined ? undefined : this.expression(loc.at('expression'), raw.expression),
      ),
      ...opt('collation', rawName(raw.collation)),
      ...opt('opclass', rawName(raw.opclass)),
      descending,
      ...nullsOrdering(descending, raw.nulls),
    };
  }

  /**
   * A key element as introspection reads it: a column's own name (even one that needs quotes in
   * SQL), or a parenthesized expression as written.
   */
  private partitionKeyElement(ctx: RelationContext, loc: Loc, written: string): string {
    if (ctx.columns.has(written)) return written;
    const text = written.trim();
    if (text.startsWith('(')) return text;
    const parts = parseIdentifierChain(text);
    if (parts?.length === 1 && ctx.columns.has(parts[0]!)) return parts[0]!;
    this.issues.value(
      loc,
      `partition key: ${ctx.label} has no column \`${written}\`${didYouMean(written, ctx.columns.keys())}` +
        '; write an expression in parentheses',
    );
    return text;
  }

  /**
   * PostgreSQL: every unique index of a partitioned table, its own or one it inherits as a
   * partition, must include all partition key columns, and none may exist under an expression key.
   */
  private checkPartitionKeyCovered(ctx: RelationContext, keyAt: Loc, key: PartitionKey): void {
    const keyColumns = key.columns.map((c) => (ctx.columns.has(c) ? c : undefined));
    const check = (u: UniqueIndexInfo, inheritedFrom: Relation | undefined) => {
      const at = inheritedFrom ? keyAt : u.loc;
      const subject = inheritedFrom
        ? `${ctx.label} inherits ${u.what} of \`${inheritedFrom.schema}.${inheritedFrom.name}\`, so it`
        : `${u.what} of partitioned ${ctx.label}`;
      if (keyColumns.some((c) => c === undefined)) {
        this.issues.key(at, `${subject} cannot be partitioned by an expression`);
        return;
      }
      const missing = keyColumns.filter((c) => !u.columns.includes(c));
      if (missing.length > 0) {
        const list = missing.map((m) => `\`${m}\``).join(', ');
        this.issues.key(
          at,
          inheritedFrom
            ? `${subject} must be partitioned by columns of that key; ${list} is not one`
            : `${subject} must include the partition key column${missing.length > 1 ? 's' : ''} ${list}`,
        );
      }
    };
    for (const u of ctx.relation.uniques) check(u, undefined);
    for (let r = ctx.relation.parent; r; r = r.parent) for (const u of r.uniques) check(u, r);
  }

  // ---------------------------------------------------------------- functions, procedures, triggers

  private mergeRoutinesAndTriggers(schema: string, merged: MergedSchema, raw: RawSchema, loc: Loc): void {
    this.mergeNamed('function', schema, merged.functions, loc.at('functions'), raw.functions);
    this.mergeNamed('procedure', schema, merged.procedures, loc.at('procedures'), raw.procedures);
    this.mergeNamed('aggregate', schema, merged.aggregates, loc.at('aggregates'), raw.aggregates);
    this.mergeNamed('collation', schema, merged.collations, loc.at('collations'), raw.collations);
    this.mergeNamed(
      'text search configuration',
      schema,
      merged.textSearchConfigurations,
      loc.at('textSearchConfigurations'),
      raw.textSearchConfigurations,
    );
    for (const [table, triggers, tableLoc] of loc.at('triggers').entries(raw.triggers)) {
      for (const [name, t, at] of tableLoc.entries(triggers)) {
        const key = `${table}\u0000${name}`;
        const first = merged.triggers.get(key);
        if (first) this.duplicate(`trigger \`${name}\` on \`${schema}.${table}\``, first.loc, at);
        else merged.triggers.set(key, { name, raw: t, loc: at, table });
      }
    }
  }

  /** The body text of a routine: `body`, or the contents of `file` (relative to the YAML file), as written. */
  private routineBody(raw: RawRoutine, loc: Loc): string {
    if (raw.body !== undefined && raw.file !== undefined) {
      this.issues.key(loc.at('file'), 'a function has `body` or `file`, not both');
      return '';
    }
    if (raw.file !== undefined) {
      const at = loc.at('file');
      const file = path.resolve(path.dirname(loc.doc.file), raw.file);
      try {
        const text = this.readFile(file);
        this.sqlFiles.add(file);
        return text;
      } catch (err) {
        const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
        this.issues.value(at, `cannot read \`${raw.file}\` (${file}): ${why}`);
        return '';
      }
    }
    if (raw.body === undefined) {
      this.issues.key(loc, 'a function needs its body: `body` (text) or `file` (a .sql file)');
      return '';
    }
    return loc.at('body').text(raw.body);
  }

  private convertRoutines(s: MergedSchema): Routine[] {
    const out: Routine[] = [];
    // A function and a procedure share the namespace of routines.
    const seen = new Map<string, Loc>();
    const entries = [
      ...[...s.functions.values()].map((e) => ({ ...e, kind: 'function' as const })),
      ...[...s.procedures.values()].map((e) => ({ ...e, kind: 'procedure' as const })),
      ...[...s.aggregates.values()].map((e) => ({ ...e, kind: 'aggregate' as const })),
    ];
    for (const { name: key, raw, loc, kind } of entries) {
      const paren = key.indexOf('(');
      const name = paren < 0 ? key : key.slice(0, paren).trim();
      this.checkName(loc, name, kind);
      const args = (raw.arguments ?? []).map((a, i): RoutineArgument => {
        const at = loc.at('arguments', i);
        if (a.name !== undefined) this.checkName(at.at('name'), a.name, 'argument');
        return {
          ...(a.mode !== undefined && a.mode !== 'in' ? { mode: a.mode } : {}),
          ...opt('name', a.name),
          type: this.resolveType(s.name, a.type, at.at('type')),
          ...(a.default !== undefined ? { default: this.expression(at.at('default'), a.default) } : {}),
        };
      });
      if (kind === 'aggregate') {
        const r = this.convertAggregate(s.name, name, args, raw as RawAggregate, loc);
        this.checkRoutineKey(s.name, key, r, loc, seen);
        out.push(r);
        continue;
      }
      if (kind === 'procedure' && raw.returns !== undefined) {
        this.issues.value(loc.at('returns'), 'a procedure returns nothing: leave `returns` out');
      }
      if (
        kind === 'function' &&
        raw.returns === undefined &&
        !args.some((a) => a.mode === 'out' || a.mode === 'inout')
      ) {
        this.issues.key(loc, `function \`${s.name}.${key}\` needs \`returns\` (or OUT arguments)`);
      }
      const returns =
        raw.returns === undefined || /^\s*(SETOF\s|TABLE\s*\(|trigger\s*$|record\s*$)/i.test(raw.returns)
          ? raw.returns?.trim()
          : this.resolveType(s.name, raw.returns, loc.at('returns'));
      const text = this.routineBody(raw, loc);
      const sqlBody = raw.language.toLowerCase() === 'sql' && /^\s*(RETURN\b|BEGIN\s+ATOMIC\b)/i.test(text);
      const r: Routine = {
        kind,
        schema: s.name,
        name,
        arguments: args,
        ...opt('returns', kind === 'function' ? returns : undefined),
        language: raw.language.toLowerCase(),
        body: sqlBody ? viewDefinitionText(text) : text,
        ...opt('library', raw.library),
        ...(sqlBody ? { sqlBody: true as const } : {}),
        ...(raw.volatility !== undefined && raw.volatility !== 'volatile' ? { volatility: raw.volatility } : {}),
        ...(raw.strict ? { strict: true as const } : {}),
        ...(raw.securityDefiner ? { securityDefiner: true as const } : {}),
        ...(raw.leakproof ? { leakproof: true as const } : {}),
        ...(raw.parallel !== undefined && raw.parallel !== 'unsafe' ? { parallel: raw.parallel } : {}),
        ...(raw.cost !== undefined && raw.cost !== defaultCost(raw.language.toLowerCase()) ? { cost: raw.cost } : {}),
        ...(kind === 'function' && raw.rows !== undefined && raw.rows !== defaultRows(returns)
          ? { rows: raw.rows }
          : {}),
        ...(raw.set !== undefined && Object.keys(raw.set).length > 0
          ? {
              set: Object.fromEntries(
                loc
                  .at('set')
                  .entries(raw.set)
                  .map(([k, v, at]) => [k, at.text(v)]),
              ),
            }
          : {}),
        ...opt('comment', raw.comment || undefined),
        ...this.convertGrants(loc.at('grants'), raw.grants, kind),
      };
      this.checkRoutineKey(s.name, key, r, loc, seen);
      this.owner({ kind, schema: s.name, name, arguments: args }, raw.owner);
      out.push(r);
    }
    return sortRoutines(out);
  }

  /**
   * The YAML key of a routine (`name` or `name(type, …)`) against its arguments, and its signature
   * against the others of the schema (functions, procedures and aggregates share one namespace).
   */
  private checkRoutineKey(schema: string, key: string, r: Routine, loc: Loc, seen: Map<string, Loc>): void {
    const paren = key.indexOf('(');
    if (paren >= 0) {
      const written = key.slice(paren + 1, key.lastIndexOf(')')).trim();
      const types = written === '' ? [] : splitTopLevel(written).map((t) => this.resolveType(schema, t, loc));
      const want = routineSignature(r);
      if (`${r.name}(${types.join(', ')})` !== want) {
        this.issues.key(loc, `\`${key}\` does not match the ${r.kind}'s arguments: their signature is \`${want}\``);
      }
    }
    const sig = routineSignature(r);
    const first = seen.get(sig);
    if (first) this.issues.key(loc, `\`${schema}.${sig}\` is defined twice: ${first.where()} and ${loc.where()}`);
    else seen.set(sig, loc);
  }

  /** Collations, absent when none: `locale`, or `lcCollate` and `lcCtype` (libc only). */
  private convertCollations(s: MergedSchema): { collations?: Collation[] } {
    const out = [...s.collations.values()].map(({ name, raw, loc }): Collation => {
      this.checkName(loc, name, 'collation');
      const provider = raw.provider ?? 'libc';
      if (raw.locale === undefined && (raw.lcCollate === undefined || raw.lcCtype === undefined)) {
        this.issues.key(loc, `collation \`${s.name}.${name}\` needs \`locale\`, or \`lcCollate\` and \`lcCtype\``);
      }
      if (provider !== 'libc' && raw.locale === undefined) {
        this.issues.key(loc, `an ${provider} collation takes \`locale\`, not \`lcCollate\` and \`lcCtype\``);
      }
      const same = raw.locale === undefined && raw.lcCollate === raw.lcCtype;
      return {
        kind: 'collation',
        name,
        provider,
        ...(raw.locale !== undefined || same ? { locale: raw.locale ?? raw.lcCollate ?? '' } : {}),
        ...(raw.locale === undefined && !same ? { lcCollate: raw.lcCollate ?? '', lcCtype: raw.lcCtype ?? '' } : {}),
        ...(raw.deterministic === false ? { deterministic: false as const } : {}),
        ...opt('comment', raw.comment || undefined),
      };
    });
    return out.length > 0 ? { collations: out } : {};
  }

  /** Text search configurations, absent when none; dictionaries as written (`zdm pull` writes the server's). */
  private convertTextSearchConfigurations(s: MergedSchema): { textSearchConfigurations?: TextSearchConfiguration[] } {
    const out = [...s.textSearchConfigurations.values()].map(({ name, raw, loc }): TextSearchConfiguration => {
      this.checkName(loc, name, 'text search configuration');
      return {
        kind: 'textSearchConfiguration',
        name,
        parser: raw.parser.trim().replace(/^pg_catalog\./, ''),
        mappings: Object.fromEntries(
          Object.entries(raw.mappings ?? {}).map(([token, dicts]) => [token, dicts.map((d) => d.trim())]),
        ),
        ...opt('comment', raw.comment || undefined),
      };
    });
    return out.length > 0 ? { textSearchConfigurations: out } : {};
  }

  /** An aggregate: the model's form of `CREATE AGGREGATE` (language internal, no body). */
  private convertAggregate(
    schema: string,
    name: string,
    args: RoutineArgument[],
    raw: RawAggregate,
    loc: Loc,
  ): Routine {
    const fn = (f: string | undefined) => (f === undefined ? undefined : f.trim());
    return {
      kind: 'aggregate',
      schema,
      name,
      arguments: args,
      aggregate: {
        sfunc: raw.sfunc.trim(),
        stype: this.resolveType(schema, raw.stype, loc.at('stype')),
        ...opt('finalfunc', fn(raw.finalfunc)),
        ...(raw.finalfuncExtra ? { finalfuncExtra: true as const } : {}),
        ...opt('combinefunc', fn(raw.combinefunc)),
        ...opt('serialfunc', fn(raw.serialfunc)),
        ...opt('deserialfunc', fn(raw.deserialfunc)),
        ...opt('initcond', raw.initcond === undefined ? undefined : String(raw.initcond)),
      },
      language: 'internal',
      body: '',
      ...(raw.parallel !== undefined && raw.parallel !== 'unsafe' ? { parallel: raw.parallel } : {}),
      ...opt('comment', raw.comment || undefined),
    };
  }

  private convertTriggers(s: MergedSchema): Trigger[] {
    const out: Trigger[] = [];
    for (const { name, raw, loc, table } of s.triggers.values()) {
      this.checkName(loc, name, 'trigger');
      // `name`: a function of this schema; `pg_catalog.name` is kept as PostgreSQL prints it (bare).
      const fn = raw.function.startsWith('pg_catalog.')
        ? raw.function.slice('pg_catalog.'.length)
        : raw.function.includes('.')
          ? raw.function
          : `${s.name}.${raw.function}`;
      const enabled = raw.enabled === 'enabled' ? undefined : raw.enabled;
      if (raw.constraint !== true && (raw.deferrable !== undefined || raw.initiallyDeferred !== undefined)) {
        this.issues.key(loc.at('deferrable'), 'only a constraint trigger (`constraint: true`) is deferrable');
      }
      out.push({
        kind: 'trigger',
        schema: s.name,
        table,
        name,
        timing: raw.timing,
        events: (['insert', 'delete', 'update', 'truncate'] as const).filter((e) => raw.events.includes(e)),
        ...(raw.columns !== undefined && raw.columns.length > 0 ? { columns: [...raw.columns] } : {}),
        forEach: raw.forEach ?? 'statement',
        ...(raw.when !== undefined ? { when: this.expression(loc.at('when'), raw.when) } : {}),
        function: fn,
        ...(raw.arguments !== undefined && raw.arguments.length > 0
          ? { arguments: raw.arguments.map((a, i) => loc.at('arguments', i).text(a)) }
          : {}),
        ...opt('oldTable', raw.oldTable),
        ...opt('newTable', raw.newTable),
        ...(raw.constraint === true ? { constraint: this.timing(loc, raw) } : {}),
        ...opt('enabled', enabled),
        ...opt('comment', raw.comment || undefined),
      });
    }
    return sortTriggers(out);
  }

  // ---------------------------------------------------------------- views

  /**
   * The query of a view or materialized view: `definition`, or the contents of the `file` it names
   * (relative to the YAML file), without surrounding blanks and final semicolon.
   */
  private viewQuery(what: string, raw: RawViewLike, loc: Loc): string {
    if (raw.definition !== undefined && raw.file !== undefined) {
      this.issues.key(loc.at('file'), `a ${what} has \`definition\` or \`file\`, not both`);
      return '';
    }
    if (raw.file !== undefined) {
      const at = loc.at('file');
      const file = path.resolve(path.dirname(loc.doc.file), raw.file);
      let text: string;
      try {
        text = this.readFile(file);
      } catch (err) {
        const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
        this.issues.value(at, `cannot read \`${raw.file}\` (${file}): ${why}`);
        return '';
      }
      this.sqlFiles.add(file);
      const q = viewDefinitionText(text);
      if (q === '') this.issues.value(at, `\`${raw.file}\` holds no query`);
      return q;
    }
    if (raw.definition === undefined) {
      this.issues.key(loc, `a ${what} needs its query: \`definition\` (SQL) or \`file\` (a .sql file)`);
      return '';
    }
    return viewDefinitionText(this.expression(loc.at('definition'), raw.definition));
  }

  private viewColumns(raw: RawViewLike, loc: Loc): ViewColumn[] {
    return loc
      .at('columns')
      .entries(raw.columns)
      .map(([name, c, at]) => {
        this.checkName(at, name, 'column');
        return { name, ...opt('comment', c.comment || undefined) };
      });
  }

  private convertView(schema: string, { name, raw, loc }: Entry<RawView>): View {
    this.checkName(loc, name, 'view');
    this.owner({ kind: 'view', schema, name }, raw.owner);
    this.relationNames.push({ schema, name, what: 'view', loc });
    this.typeNames.push({ schema, name, what: 'view', loc });
    return {
      kind: 'view',
      schema,
      name,
      definition: this.viewQuery('view', raw, loc),
      columns: this.viewColumns(raw, loc),
      securityBarrier: raw.securityBarrier ?? false,
      securityInvoker: raw.securityInvoker ?? false,
      ...opt('checkOption', raw.checkOption),
      ...opt('comment', raw.comment || undefined),
    };
  }

  private convertMaterializedView(schema: string, { name, raw, loc }: Entry<RawMaterializedView>): MaterializedView {
    this.checkName(loc, name, 'materialized view');
    this.owner({ kind: 'materializedView', schema, name }, raw.owner);
    this.relationNames.push({ schema, name, what: 'materialized view', loc });
    this.typeNames.push({ schema, name, what: 'materialized view', loc });
    const label = `materialized view \`${schema}.${name}\``;
    const relation: Relation = { schema, name, kind: 'table', columns: new Map(), uniqueKeys: [], uniques: [] };
    const ctx = { schema, name, label, columns: new Map(), relation, columnsUnknown: true };
    const indexes = this.convertIndexes(ctx, raw.indexes, loc.at('indexes'));
    return {
      kind: 'materializedView',
      schema,
      name,
      definition: this.viewQuery('materialized view', raw, loc),
      columns: this.viewColumns(raw, loc),
      withData: raw.withData ?? true,
      indexes,
      ...opt('with', this.storageParameters(loc.at('with'), raw.with)),
      ...opt(
        'clusterOn',
        this.clusterOn(ctx, loc.at('clusterOn'), raw.clusterOn, {
          primaryKey: undefined,
          uniqueConstraints: [],
          indexes,
          partitionBy: undefined,
        }),
      ),
      ...opt('comment', raw.comment || undefined),
    };
  }

  // ---------------------------------------------------------------- partitions

  private convertPartition(
    parent: RelationContext,
    key: PartitionKey | undefined,
    name: string,
    raw: RawPartition,
    loc: Loc,
  ): Partition {
    this.checkName(loc, name, 'partition');
    const schema = raw.schema ?? parent.schema;
    if (raw.schema !== undefined) {
      this.checkName(loc.at('schema'), raw.schema, 'schema');
      if (!this.schemas.has(raw.schema)) {
        this.issues.value(
          loc.at('schema'),
          `schema \`${raw.schema}\` is not in the desired state; declare it under \`schemas\` (\`${raw.schema}: {}\`)`,
        );
      }
    }
    this.relationNames.push({ schema, name, what: 'partition', loc });
    this.typeNames.push({ schema, name, what: 'partition', loc });
    const bound = this.bound(key, raw, loc);
    const relation: Relation = {
      schema,
      name,
      kind: 'partition',
      columns: parent.columns,
      uniqueKeys: [],
      uniques: [],
      parent: parent.relation,
    };
    const k = relationKey(schema, name);
    if (!this.relations.has(k)) this.relations.set(k, relation);
    const parentNames = parent.parentNotNullNames
      ? new Map([...parent.parentNotNullNames, ...Object.entries(parent.ownNotNullNames ?? {})])
      : rootNotNullNames(parent.name, parent.columns);
    const ownNames = this.partitionNotNullNames(parentNames, raw.notNullNames, loc.at('notNullNames'), parent.label);
    const parts = this.convertParts(
      {
        schema,
        name,
        label: `partition \`${schema}.${name}\``,
        columns: parent.columns,
        relation,
        parentNotNullNames: parentNames,
        ...opt('ownNotNullNames', ownNames),
      },
      raw,
      loc,
    );
    return { kind: 'partition', schema, name, bound, ...parts, ...opt('notNullNames', ownNames) };
  }

  /**
   * `notNullNames` of a partition: each a NOT NULL column of the root table. A name that is the
   * parent's (what PARTITION OF gives) is not kept.
   */
  private partitionNotNullNames(
    parentNames: ReadonlyMap<string, string>,
    raw: Readonly<Record<string, string>> | undefined,
    loc: Loc,
    parentLabel: string,
  ): Readonly<Record<string, string>> | undefined {
    if (raw === undefined) return undefined;
    const out: Record<string, string> = {};
    for (const column of Object.keys(raw).sort()) {
      const name = raw[column]!;
      this.checkName(loc.at(column), name, 'constraint');
      const inherited = parentNames.get(column);
      if (inherited === undefined) {
        this.issues.key(
          loc.at(column),
          `${parentLabel} has no NOT NULL column \`${column}\`: a partition names only the NOT NULL constraints it inherits`,
        );
      } else if (name !== inherited) out[column] = name;
    }
    return Object.keys(out).length > 0 ? out : undefined;
  }

  private bound(key: PartitionKey | undefined, raw: RawPartition, loc: Loc): PartitionBound {
    const forms: string[] = [];
    if (raw.from !== undefined || raw.to !== undefined) forms.push('range');
    if (raw.in !== undefined) forms.push('list');
    if (raw.modulus !== undefined || raw.remainder !== undefined) forms.push('hash');
    if (raw.default !== undefined) forms.push('default');
    const fallback: PartitionBound = { kind: 'default' };
    if (forms.length !== 1) {
      this.issues.key(
        loc,
        forms.length === 0
          ? 'a partition needs a bound: `from` and `to` (range), `in` (list), `modulus` and `remainder` (hash), or `default: true`'
          : `a partition has one bound, not ${forms.join(' and ')} bounds together`,
      );
      return fallback;
    }
    const form = forms[0]!;
    const values = (list: readonly RawBoundValue[], at: Loc, range: boolean): string[] =>
      list.map((v, i) => {
        if (v === null) return 'NULL';
        const text = at.at(i).text(v);
        // MINVALUE and MAXVALUE are keywords of range bounds, not values.
        return range && /^(minvalue|maxvalue)$/i.test(text) ? text.toUpperCase() : text;
      });
    const strategy = key?.strategy;
    const wrong = (what: string) => {
      if (strategy !== undefined) this.issues.key(loc, `${what}, but the parent is partitioned by ${strategy}`);
    };
    const arity = key?.columns.length;
    switch (form) {
      case 'range': {
        if (raw.from === undefined || raw.to === undefined) {
          this.issues.key(loc, `a range partition needs both \`from\` and \`to\``);
          return fallback;
        }
        if (strategy !== 'range') wrong('`from`/`to` make a range partition');
        for (const k of ['from', 'to'] as const) {
          const n = raw[k]!.length;
          if (strategy === 'range' && arity !== undefined && n !== arity) {
            this.issues.value(
              loc.at(k),
              `expected ${arity} value${arity === 1 ? '' : 's'} (one per key column), got ${n}`,
            );
          }
        }
        return { kind: 'range', from: values(raw.from, loc.at('from'), true), to: values(raw.to, loc.at('to'), true) };
      }
      case 'list':
        if (strategy !== 'list') wrong('`in` makes a list partition');
        if (raw.in!.length === 0) this.issues.value(loc.at('in'), 'a list partition needs at least one value');
        return { kind: 'list', values: values(raw.in!, loc.at('in'), false) };
      case 'hash': {
        if (raw.modulus === undefined || raw.remainder === undefined) {
          this.issues.key(loc, 'a hash partition needs both `modulus` and `remainder`');
          return fallback;
        }
        if (strategy !== 'hash') wrong('`modulus`/`remainder` make a hash partition');
        if (raw.remainder >= raw.modulus) {
          this.issues.value(loc.at('remainder'), `remainder must be less than modulus (${raw.modulus})`);
        }
        return { kind: 'hash', modulus: raw.modulus, remainder: raw.remainder };
      }
      default:
        if (raw.default !== true) {
          this.issues.value(loc.at('default'), '`default: false` is not a bound: remove it or write `default: true`');
        }
        if (strategy === 'hash') this.issues.key(loc, 'a hash-partitioned table cannot have a default partition');
        return { kind: 'default' };
    }
  }

  // ---------------------------------------------------------------- whole-state checks

  private tableHint(schema: string, name: string): string {
    const names = [...this.relations.values()].filter((r) => r.schema === schema).map((r) => r.name);
    const hint = didYouMean(name, names);
    if (hint !== '') return hint;
    return this.schemas.has(schema) ? ' in the desired state' : ` (schema \`${schema}\` is not in the desired state)`;
  }

  /** An INHERITS parent: a table of the desired state, not partitioned. */
  private checkParent(child: string, parent: string, loc: Loc): void {
    const dot = parent.indexOf('.');
    const [schema, name] = [parent.slice(0, dot), parent.slice(dot + 1)];
    const target = this.relations.get(relationKey(schema, name));
    if (target === undefined || target.kind !== 'table') {
      this.issues.value(
        loc,
        `\`${child}\` inherits from \`${parent}\`, which is not a table${this.tableHint(schema, name)}`,
      );
    } else if (`${schema}.${name}` === child) {
      this.issues.value(loc, `\`${child}\` cannot inherit from itself`);
    }
  }

  private checkForeignKey(fk: ForeignKey, loc: Loc): void {
    const ref = fk.references;
    const refLoc = loc.at('references');
    const target = this.relations.get(relationKey(ref.schema, ref.table));
    if (!target) {
      this.issues.value(
        refLoc.at('table'),
        `foreign key \`${fk.name}\` references \`${ref.schema}.${ref.table}\`, which is not a table${this.tableHint(ref.schema, ref.table)}`,
      );
      return;
    }
    let columnsOk = true;
    ref.columns.forEach((c, i) => {
      if (!target.columns.has(c)) {
        columnsOk = false;
        this.issues.value(
          refLoc.at('columns', i),
          `foreign key \`${fk.name}\`: \`${ref.schema}.${ref.table}\` has no column \`${c}\`${didYouMean(c, target.columns.keys())}`,
        );
      }
    });
    if (ref.columns.length !== fk.columns.length) {
      this.issues.value(
        refLoc.at('columns'),
        `foreign key \`${fk.name}\` has ${fk.columns.length} column(s) but references ${ref.columns.length}`,
      );
      return;
    }
    if (!columnsOk) return;
    // PostgreSQL needs a non-deferrable primary key, unique constraint or plain unique index on
    // exactly the referenced columns (in any order).
    const wanted = [...ref.columns].sort().join('\0');
    for (let r: Relation | undefined = target; r; r = r.parent) {
      if (r.uniqueKeys.some((k) => [...k].sort().join('\0') === wanted)) return;
    }
    this.issues.value(
      refLoc.at('columns'),
      `foreign key \`${fk.name}\`: \`${ref.schema}.${ref.table}\` has no primary key, unique constraint or unique index ` +
        `on exactly (${ref.columns.join(', ')}), which PostgreSQL requires of a referenced key` +
        partitionHint(target, ref.columns, fk.columns),
    );
  }

  private checkNamespaces(): void {
    const clash = (things: readonly NamedThing[], space: string) => {
      const seen = new Map<string, NamedThing>();
      for (const t of things) {
        const k = relationKey(t.schema, t.name);
        const first = seen.get(k);
        if (!first) {
          seen.set(k, t);
          continue;
        }
        this.issues.key(
          t.loc,
          `${t.what} \`${t.schema}.${t.name}\` has the same name as the ${first.what} at ${first.loc.where()}; ` +
            `${space} in a schema share one namespace`,
        );
      }
    };
    clash(
      this.relationNames,
      'tables, partitions, sequences, views, materialized views and indexes (including those of constraints)',
    );
    clash(this.typeNames, 'enums, domains, composite types, tables and views (each table and view has a row type)');
  }
}

/**
 * Collations and operator classes are kept as names, not SQL (`C`, `public.my_ops`); a name written
 * in SQL quotes (`"C"`) means the same.
 */
function rawName(written: string | undefined): string | undefined {
  if (written === undefined) return undefined;
  const t = written.trim();
  return /^"(?:[^"]|"")+"$/.test(t) ? t.slice(1, -1).replace(/""/g, '"') : t;
}

function relationKey(schema: string, name: string): string {
  return `${schema}\0${name}`;
}

/** Access methods are identifiers: `GIN` means gin. */
function accessMethod(written: string | undefined): string {
  if (written === undefined) return 'btree';
  const t = written.trim();
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(t) ? t.toLowerCase() : t;
}

/** `a, b(1, 2), c` → `['a', 'b(1, 2)', 'c']`: a list split at the commas outside parentheses. */
function splitTopLevel(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (ch === ',' && depth === 0) {
      out.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  out.push(text.slice(start).trim());
  return out;
}
