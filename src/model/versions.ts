/**
 * Version schemas (`zdm plan --renames views`, issue 17): for the time of a plan that renames in
 * place, one schema per application version holds one simple view per table of a schema, under the
 * names that version knows. They are zdm's, not the user's: a comment that starts with
 * VERSION_SCHEMA_COMMENT_PREFIX marks them, and introspection leaves them (and everything in them) out.
 */

/** Starts the comment of every version schema (and is a TRANSITIONAL_COMMENT_PREFIX comment). */
export const VERSION_SCHEMA_COMMENT_PREFIX = 'zdm: version schema';

export type VersionRole = 'old' | 'new';

/** A version schema of one schema, for one application version. */
export interface VersionSchema {
  /** The schema whose tables it shows (`public`). */
  readonly base: string;
  /** Its own name (`public_v1a2b3c4d`). */
  readonly name: string;
  readonly role: VersionRole;
}

/** `public` + `sha256:1a2b3c4d…` → `public_v1a2b3c4d`: the short checksum of the schema state it shows. */
export function versionSchemaName(base: string, fingerprint: string): string {
  return `${base}_v${fingerprint.replace(/^sha256:/, '').slice(0, 8)}`;
}

/** The comment that marks a version schema; `versionOfComment` reads it back. */
export function versionSchemaComment(v: VersionSchema): string {
  return `${VERSION_SCHEMA_COMMENT_PREFIX} of ${v.base} for the ${v.role} application version`;
}

export function versionOfComment(name: string, comment: string): VersionSchema | undefined {
  const m = /^zdm: version schema of (.+) for the (old|new) application version$/s.exec(comment);
  return m ? { base: m[1]!, name, role: m[2] as VersionRole } : undefined;
}

/**
 * The `search_path` an application version connects with: its version schema first, then the base
 * schema (functions, types and sequences stay there; once zdm drops the version schema, the same
 * setting resolves to the base schema's tables, which then have the names this version knows).
 */
export function versionSearchPath(v: Pick<VersionSchema, 'base' | 'name'>): string {
  const q = (s: string) => (/^[a-z_][a-z0-9_$]*$/.test(s) ? s : `"${s.replaceAll('"', '""')}"`);
  return `${q(v.name)}, ${q(v.base)}`;
}
