-- Attribution by identity, and the chain v2 (docs/design/store-format.md, "Attribution"): the audit records that
-- explain each change, records that arrive after their change's snapshot (amendments), and the
-- app each restore wrote with. SQLite dialect; keep in step with postgres/0004.
ALTER TABLE versions ADD COLUMN records TEXT;
CREATE TABLE amendments (
    tenant   INTEGER NOT NULL REFERENCES tenants(id),
    snapshot INTEGER NOT NULL,
    kind     TEXT NOT NULL,
    key      TEXT NOT NULL,
    version  INTEGER NOT NULL,
    actors   TEXT NOT NULL,
    records  TEXT NOT NULL
);
CREATE INDEX amendments_by_version ON amendments (tenant, kind, key, version);
CREATE INDEX amendments_by_snapshot ON amendments (tenant, snapshot);
ALTER TABLE restores ADD COLUMN writer TEXT;
-- The chain, version 2: snapshots written from now on commit to everything stored about them
-- (docs/design/store-format.md, "The chain"); the delta cursors each committed, as hashes.
ALTER TABLE snapshots ADD COLUMN chain_version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE snapshots ADD COLUMN cursor_kinds TEXT;
-- The ledger: alerts, restore journals and lineage as an append-only, hash-chained log per
-- tenant, whose head each snapshot commits to; the tables stay the views commands read.
CREATE TABLE ledger (
    tenant  INTEGER NOT NULL REFERENCES tenants(id),
    seq     INTEGER NOT NULL,
    entry   TEXT NOT NULL,
    subject TEXT NOT NULL,
    body    TEXT NOT NULL,
    at      INTEGER NOT NULL,
    chain   BLOB NOT NULL,
    PRIMARY KEY (tenant, seq)
);
ALTER TABLE snapshots ADD COLUMN ledger_head TEXT;
