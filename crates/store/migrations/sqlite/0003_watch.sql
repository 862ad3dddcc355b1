-- Continuous protection (docs/design/watch.md): alerts, actors seen, and each tenant's watch
-- state with its lease. SQLite dialect; keep in step with postgres/0003.
CREATE TABLE alerts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant      INTEGER NOT NULL REFERENCES tenants(id),
    fingerprint TEXT NOT NULL,
    rule        TEXT NOT NULL,
    severity    TEXT NOT NULL,
    snapshot    INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    body        TEXT NOT NULL,
    delivered_to TEXT NOT NULL DEFAULT '',
    delivered_at INTEGER,
    UNIQUE (tenant, fingerprint)
);
CREATE INDEX alerts_by_time ON alerts (tenant, created_at);
CREATE INDEX alerts_undelivered ON alerts (tenant, id) WHERE delivered_at IS NULL;
CREATE TABLE known_actors (
    tenant     INTEGER NOT NULL REFERENCES tenants(id),
    actor      TEXT NOT NULL,
    first_seen INTEGER NOT NULL,
    PRIMARY KEY (tenant, actor)
);
CREATE TABLE watch_state (
    tenant      INTEGER PRIMARY KEY REFERENCES tenants(id),
    evaluated   INTEGER,
    next_due    INTEGER NOT NULL DEFAULT 0,
    holder      TEXT,
    lease_until INTEGER NOT NULL DEFAULT 0,
    failures    INTEGER NOT NULL DEFAULT 0
);
