-- A ledger whose keys were made `serial` (integer) years ago and are running out: accounts.id is
-- referenced by entries.account_id.
CREATE TABLE accounts (
  id    serial PRIMARY KEY,
  label text NOT NULL
);
CREATE TABLE entries (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  account_id integer NOT NULL REFERENCES accounts (id),
  amount     numeric(12,2) NOT NULL,
  booked_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX idx_entries_account ON entries (account_id);
