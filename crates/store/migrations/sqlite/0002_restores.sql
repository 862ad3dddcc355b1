-- Restore journals and lineage (docs/design/restore.md). SQLite dialect; keep in step with
-- postgres/0002.
CREATE TABLE restores (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant      INTEGER NOT NULL REFERENCES tenants(id),
    created_at  INTEGER NOT NULL,
    plan        TEXT NOT NULL,
    status      TEXT NOT NULL,
    finished_at INTEGER
);
CREATE INDEX restores_by_tenant ON restores (tenant, id);
CREATE TABLE restore_steps (
    restore    INTEGER NOT NULL REFERENCES restores(id),
    step       INTEGER NOT NULL,
    state      TEXT NOT NULL,
    result     TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (restore, step)
);
CREATE TABLE lineage (
    tenant     INTEGER NOT NULL REFERENCES tenants(id),
    kind       TEXT NOT NULL,
    old_key    TEXT NOT NULL,
    new_key    TEXT NOT NULL,
    restore    INTEGER NOT NULL REFERENCES restores(id),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (tenant, kind, old_key, restore)
);
CREATE INDEX lineage_by_new ON lineage (tenant, new_key);
