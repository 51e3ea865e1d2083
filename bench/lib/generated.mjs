// The generated schema of bench/introspect.mjs and bench/plan-stages.mjs: `n` tables in schema
// `gen`, with views, functions and triggers in the proportions of musicbrainz (519 tables, 12
// views, 140 functions, 452 triggers: about one trigger per table, a function per four tables, a
// view per forty).
//
// Each table: an identity primary key, a foreign key to the previous table and an index on it, a
// partial DESC index, a CHECK; a BEFORE UPDATE row trigger. Every fourth table: the PL/pgSQL trigger
// function its trigger and the three before it execute. Every fortieth table: a view joining it to
// the previous one.

/** The SQL that builds it, in scripts of 250 tables (one implicit transaction each: a bounded number of locks). */
export function generatedScripts(n, { objects = true } = {}) {
  const chunks = [];
  let parts = ['CREATE SCHEMA gen;'];
  for (let i = 1; i <= n; i++) {
    const fk = i > 1 ? `, parent_id bigint REFERENCES gen.t${i - 1}(id)` : ', parent_id bigint';
    parts.push(
      `CREATE TABLE gen.t${i} (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY${fk}, name text NOT NULL,` +
        ` status varchar(20) NOT NULL DEFAULT 'active', amount numeric(10,2) CHECK (amount > 0),` +
        ` created_at timestamptz NOT NULL DEFAULT now());`,
      `CREATE INDEX t${i}_parent_idx ON gen.t${i} (parent_id);`,
      `CREATE INDEX t${i}_recent_idx ON gen.t${i} (created_at DESC) WHERE status = 'active';`,
    );
    if (objects) {
      const f = Math.ceil(i / 4);
      if (i % 4 === 1) {
        parts.push(
          `CREATE FUNCTION gen.touch_${f}() RETURNS trigger LANGUAGE plpgsql AS $$` +
            ` BEGIN IF NEW.status IS DISTINCT FROM OLD.status THEN NEW.created_at := now(); END IF; RETURN NEW; END $$;`,
        );
      }
      parts.push(
        `CREATE TRIGGER t${i}_touch BEFORE UPDATE ON gen.t${i} FOR EACH ROW EXECUTE FUNCTION gen.touch_${f}();`,
      );
      if (i % 40 === 0) {
        parts.push(
          `CREATE VIEW gen.v${i} AS SELECT t.id, t.name, p.name AS parent_name, t.amount FROM gen.t${i} t` +
            ` JOIN gen.t${i - 1} p ON p.id = t.parent_id WHERE t.status = 'active';`,
        );
      }
    }
    if (i % 250 === 0 || i === n) {
      chunks.push(parts.join('\n'));
      parts = [];
    }
  }
  return chunks;
}
