/**
 * Runs a SQL file the way `psql -v ON_ERROR_STOP=0 -f file` would: every statement that can run
 * does, and the ones that fail are collected rather than stopping the script.
 *
 *   const { statements, errors } = await runSqlScript(client, await readFile('schema.sql', 'utf8'));
 *
 * Fast path: the whole file as one simple query (one round trip; PostgreSQL runs it in one implicit
 * transaction, so on failure nothing of it remains). When that fails — or cannot be all-or-nothing
 * because the file has its own BEGIN/COMMIT, or has psql meta-commands — the file is split into
 * statements and run one by one.
 */

export interface ScriptError {
  readonly statement: string;
  readonly message: string;
}

export interface ScriptResult {
  /** Statements in the file (meta-commands and empty statements not counted). */
  readonly statements: number;
  readonly errors: readonly ScriptError[];
}

export interface ScriptClient {
  query(text: string): Promise<unknown>;
}

const IDENT_CHAR = /[A-Za-z0-9_$\u0080-\uffff]/;
const IDENT_START = /[A-Za-z_\u0080-\uffff]/;

/**
 * Splits a script into statements like psql does: `;` ends a statement unless it is inside a string
 * ('…', E'…' with backslash escapes, "…", $tag$…$tag$), a comment (-- or nested /* *\/), parentheses,
 * or the BEGIN … END body of `CREATE [OR REPLACE] FUNCTION|PROCEDURE … BEGIN ATOMIC` (psql's own
 * heuristic, CASE … END counted inside it). Lines starting with a backslash are psql meta-commands and
 * are dropped. Returned statements are trimmed, without the final `;`; empty ones are left out.
 */
export function splitSqlScript(sql: string): string[] {
  const out: string[] = [];
  let buf = '';
  let parenDepth = 0;
  let beginDepth = 0;
  /** First letters of the statement's leading keywords, for the CREATE FUNCTION test. */
  let words: string[] = [];
  let hasCode = false;
  let i = 0;
  const n = sql.length;

  const finish = (): void => {
    const text = buf.trim();
    if (hasCode && text) out.push(text);
    buf = '';
    parenDepth = 0;
    beginDepth = 0;
    words = [];
    hasCode = false;
  };
  const inRoutineHeader = (): boolean =>
    words[0] === 'c' &&
    (words[1] === 'f' ||
      words[1] === 'p' ||
      (words[1] === 'o' && words[2] === 'r' && (words[3] === 'f' || words[3] === 'p')));

  while (i < n) {
    const ch = sql[i]!;
    const next = sql[i + 1];
    const atLineStart = i === 0 || sql[i - 1] === '\n';

    // psql meta-command: a backslash first on its line (after blanks) runs to the end of the line.
    if (atLineStart) {
      let j = i;
      while (j < n && (sql[j] === ' ' || sql[j] === '\t')) j++;
      if (sql[j] === '\\') {
        const eol = sql.indexOf('\n', j);
        i = eol < 0 ? n : eol + 1;
        continue;
      }
    }

    if (ch === '-' && next === '-') {
      const eol = sql.indexOf('\n', i);
      const end = eol < 0 ? n : eol;
      buf += sql.slice(i, end);
      i = end;
      continue;
    }
    if (ch === '/' && next === '*') {
      let depth = 0;
      let j = i;
      while (j < n) {
        if (sql[j] === '/' && sql[j + 1] === '*') {
          depth++;
          j += 2;
        } else if (sql[j] === '*' && sql[j + 1] === '/') {
          depth--;
          j += 2;
          if (depth === 0) break;
        } else j++;
      }
      buf += sql.slice(i, j);
      i = j;
      continue;
    }

    const prev = i > 0 ? sql[i - 1]! : '';
    const prevIsIdent = prev !== '' && IDENT_CHAR.test(prev);

    if (ch === "'" || ((ch === 'E' || ch === 'e') && next === "'" && !prevIsIdent)) {
      const backslash = ch !== "'";
      let j = backslash ? i + 2 : i + 1;
      while (j < n) {
        if (backslash && sql[j] === '\\') j += 2;
        else if (sql[j] === "'" && sql[j + 1] === "'") j += 2;
        else if (sql[j] === "'") {
          j++;
          break;
        } else j++;
      }
      buf += sql.slice(i, j);
      hasCode = true;
      i = j;
      continue;
    }
    if (ch === '"') {
      let j = i + 1;
      while (j < n) {
        if (sql[j] === '"' && sql[j + 1] === '"') j += 2;
        else if (sql[j] === '"') {
          j++;
          break;
        } else j++;
      }
      buf += sql.slice(i, j);
      hasCode = true;
      i = j;
      continue;
    }
    if (ch === '$' && !prevIsIdent) {
      const m = /^\$(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/.exec(sql.slice(i, i + 64));
      if (m) {
        const tag = m[0];
        const close = sql.indexOf(tag, i + tag.length);
        const end = close < 0 ? n : close + tag.length;
        buf += sql.slice(i, end);
        hasCode = true;
        i = end;
        continue;
      }
    }
    if (IDENT_START.test(ch) && !prevIsIdent) {
      let j = i + 1;
      while (j < n && IDENT_CHAR.test(sql[j]!)) j++;
      const word = sql.slice(i, j).toLowerCase();
      words.push(['create', 'function', 'procedure', 'or', 'replace'].includes(word) ? word[0]! : '');
      if (parenDepth === 0 && inRoutineHeader()) {
        if (word === 'begin') beginDepth++;
        else if (word === 'case' && beginDepth > 0) beginDepth++;
        else if (word === 'end' && beginDepth > 0) beginDepth--;
      }
      buf += sql.slice(i, j);
      hasCode = true;
      i = j;
      continue;
    }
    if (ch === '(') parenDepth++;
    else if (ch === ')' && parenDepth > 0) parenDepth--;
    if (ch === ';' && parenDepth === 0 && beginDepth === 0) {
      finish();
      i++;
      continue;
    }
    if (!/\s/.test(ch)) hasCode = true;
    buf += ch;
    i++;
  }
  finish();
  return out;
}

const TRANSACTION_CONTROL = /^(begin|start|commit|end|rollback|abort|savepoint|release)\b/i;

/** Strips leading comments and blanks: the statement's first keyword comes first. */
function leadingCode(statement: string): string {
  return statement.replace(/^(\s+|--[^\n]*(\n|$)|\/\*[\s\S]*?\*\/)*/, '');
}

function hasMetaCommand(sql: string): boolean {
  return /(^|\n)[ \t]*\\/.test(sql);
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Runs `sql` on `client`; see the module comment. Never throws for a failing statement. */
export async function runSqlScript(client: ScriptClient, sql: string): Promise<ScriptResult> {
  const statements = splitSqlScript(sql);
  const ownTransactions = statements.some((s) => TRANSACTION_CONTROL.test(leadingCode(s)));
  if (!ownTransactions && !hasMetaCommand(sql)) {
    try {
      await client.query(sql);
      return { statements: statements.length, errors: [] };
    } catch {
      // Rolled back as a whole: run it again statement by statement to find what fails.
    }
  }
  const errors: ScriptError[] = [];
  for (const statement of statements) {
    try {
      await client.query(statement);
    } catch (err) {
      errors.push({ statement, message: message(err) });
    }
  }
  return { statements: statements.length, errors };
}
