-- The timeline (docs/design/store-format.md). SQLite dialect; keep in step with postgres/0001.
-- Rowid tables on purpose: rows append densely in insertion order (WITHOUT ROWID, clustered on
-- random hashes and GUIDs, saved nothing measurable).
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE tenants (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id     TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL UNIQUE,
    graph_url     TEXT NOT NULL,
    authority_url TEXT NOT NULL,
    client_id     TEXT,
    created_at    INTEGER NOT NULL
);
CREATE TABLE blobs (
    hash BLOB PRIMARY KEY,
    size INTEGER NOT NULL,
    data BLOB NOT NULL
);
CREATE TABLE snapshots (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant       INTEGER NOT NULL REFERENCES tenants(id),
    taken_at     INTEGER NOT NULL,
    parent       INTEGER,
    manifest     BLOB NOT NULL,
    chain        BLOB NOT NULL,
    chain_anchor BLOB,
    audit        BLOB,
    audit_until  INTEGER,
    complete     INTEGER NOT NULL,
    objects      INTEGER NOT NULL,
    counts       TEXT NOT NULL,
    requests     INTEGER NOT NULL,
    millis       INTEGER NOT NULL
);
CREATE INDEX snapshots_by_tenant ON snapshots (tenant, id);
CREATE TABLE versions (
    tenant   INTEGER NOT NULL,
    kind     TEXT NOT NULL,
    key      TEXT NOT NULL,
    snapshot INTEGER NOT NULL,
    hash     BLOB,
    name     TEXT,
    change   TEXT NOT NULL,
    actors   TEXT NOT NULL,
    PRIMARY KEY (tenant, kind, key, snapshot)
);
CREATE INDEX versions_by_snapshot ON versions (snapshot);
CREATE TABLE cursors (
    tenant   INTEGER NOT NULL,
    kind     TEXT NOT NULL,
    link     TEXT NOT NULL,
    snapshot INTEGER NOT NULL,
    PRIMARY KEY (tenant, kind)
);
