-- The timeline (docs/design/store-format.md). SQLite dialect; keep in step with postgres/0001.
-- Blobs, versions and audit rows are clustered on their keys (WITHOUT ROWID): a key stored
-- once instead of in the table and again in its index.
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
) WITHOUT ROWID;
CREATE TABLE snapshots (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant       INTEGER NOT NULL REFERENCES tenants(id),
    taken_at     INTEGER NOT NULL,
    parent       INTEGER,
    manifest     BLOB NOT NULL,
    chain        BLOB NOT NULL,
    chain_anchor BLOB,
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
) WITHOUT ROWID;
CREATE INDEX versions_by_snapshot ON versions (snapshot);
CREATE TABLE cursors (
    tenant   INTEGER NOT NULL,
    kind     TEXT NOT NULL,
    link     TEXT NOT NULL,
    snapshot INTEGER NOT NULL,
    PRIMARY KEY (tenant, kind)
);
CREATE TABLE audit (
    tenant        INTEGER NOT NULL,
    record_id     TEXT NOT NULL,
    snapshot      INTEGER NOT NULL,
    activity_time INTEGER NOT NULL,
    activity      TEXT NOT NULL,
    actor         TEXT NOT NULL,
    targets       TEXT NOT NULL,
    batch         BLOB NOT NULL,
    PRIMARY KEY (tenant, record_id)
) WITHOUT ROWID;
CREATE INDEX audit_by_snapshot ON audit (tenant, snapshot);
