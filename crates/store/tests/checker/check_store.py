#!/usr/bin/env python3
"""An independent checker of a Rewind SQLite store's hash chain, written from
docs/design/store-format.md ("Terms" and "The chain") alone, without Rewind's code.

    check_store.py STORE [--key HEX]

For every tenant it folds the version rows into each snapshot's manifest, recomputes the
manifest hash and the chain hash (version 1 or 2, keyed from the store key when given), checks
each snapshot's link to its parent and the delta cursors' hashes, and prints one line per tenant:
`ok TENANT HEAD` or `damaged TENANT SNAPSHOT: WHAT`. Exit status 0 when every tenant is ok.
"""

import json
import sqlite3
import sys

import blake3

KIND_ORDER = [
    "conditionalAccessPolicy", "namedLocation", "authenticationStrengthPolicy",
    "authenticationMethodsPolicy", "authenticationMethodConfiguration", "authorizationPolicy",
    "identitySecurityDefaultsEnforcementPolicy", "crossTenantAccessPolicy",
    "crossTenantAccessPolicyConfigurationDefault", "crossTenantAccessPolicyConfigurationPartner",
    "user", "userAuthenticationMethods", "group", "administrativeUnit", "application",
    "federatedIdentityCredential", "servicePrincipal", "appRoleAssignment",
    "oAuth2PermissionGrant", "unifiedRoleDefinition", "unifiedRoleAssignment",
    "unifiedRoleEligibilitySchedule",
]
NULL = (2**64 - 1).to_bytes(8, "little")


def field(value):
    """A field: its length as a little-endian u64, then its bytes; NULL as the length 2^64-1."""
    if value is None:
        return NULL
    if isinstance(value, str):
        value = value.encode("utf-8")
    return len(value).to_bytes(8, "little") + value


def integer(n):
    return field(int(n).to_bytes(8, "little", signed=True))


def count(n):
    return field(int(n).to_bytes(8, "little", signed=False))


def text_key(v):
    """Sort key of a nullable text or byte column: NULL first, then bytes."""
    if v is None:
        return (0, b"")
    return (1, v.encode("utf-8") if isinstance(v, str) else bytes(v))


def manifest_hash(manifest):
    h = blake3.blake3(b"rewind-manifest-v1\n")
    order = sorted(manifest, key=lambda k: (KIND_ORDER.index(k[0]), k[1].encode("utf-8")))
    for kind, key in order:
        h.update(f"{kind}\t{key}\t{manifest[(kind, key)].hex()}\n".encode("utf-8"))
    return h.digest()


def digest(tenant, s, rows, amendments):
    parts = [
        field("rewind-snapshot-v2"), field(tenant["tenant_id"]), field(tenant["name"]),
        field(tenant["graph_url"]), field(tenant["authority_url"]), field(tenant["client_id"]),
        integer(tenant["created_at"]),
        integer(s["taken_at"]), integer(s["complete"]), integer(s["objects"]),
        field(s["counts"]), integer(s["requests"]), integer(s["millis"]),
        field(s["cursor_kinds"]), field(s["ledger_head"]),
        NULL if s["audit_until"] is None else integer(s["audit_until"]), count(len(rows)),
    ]
    cols = ("kind", "key", "hash", "change", "name", "actors", "records")
    for r in sorted(rows, key=lambda r: tuple(text_key(r[c]) for c in cols)):
        parts += [field(r[c]) for c in cols]
    parts.append(count(len(amendments)))
    for a in sorted(amendments, key=lambda a: (text_key(a["kind"]), text_key(a["key"]),
                                               a["version"], text_key(a["actors"]),
                                               text_key(a["records"]))):
        parts += [field(a["kind"]), field(a["key"]), integer(a["version"]),
                  field(a["actors"]), field(a["records"])]
    return blake3.blake3(b"".join(parts)).digest()


def chain_v2(chain_key, parent, s, d):
    data = (b"rewind-chain-v2" + (parent or bytes(32)) + bytes(s["manifest"])
            + (bytes(s["audit"]) if s["audit"] else bytes(32)) + d)
    if chain_key:
        return blake3.blake3(data, key=chain_key).digest()
    return blake3.blake3(data).digest()


def chain_v1(parent, s, tenant_id):
    data = (b"rewind-chain-v1" + (parent or bytes(32)) + bytes(s["manifest"])
            + (bytes(s["audit"]) if s["audit"] else bytes(32)) + tenant_id.encode("utf-8")
            + int(s["taken_at"]).to_bytes(8, "little", signed=True))
    return blake3.blake3(data).digest()


def check_tenant(db, tenant, chain_key):
    snapshots = db.execute(
        "SELECT * FROM snapshots WHERE tenant = ? ORDER BY id", (tenant["id"],)).fetchall()
    manifest = {}
    previous = None
    for s in snapshots:
        rows = db.execute("SELECT * FROM versions WHERE tenant = ? AND snapshot = ?",
                          (tenant["id"], s["id"])).fetchall()
        for r in rows:
            if r["hash"] is None:
                manifest.pop((r["kind"], r["key"]), None)
            else:
                manifest[(r["kind"], r["key"])] = bytes(r["hash"])
        if manifest_hash(manifest) != bytes(s["manifest"]):
            return f"damaged {tenant['name']} {s['id']}: the manifest does not match its rows"
        if previous is None and s["parent"] is None:
            parent = None
        elif previous is not None and s["parent"] == previous["id"]:
            parent = bytes(previous["chain"])
        elif s["chain_version"] < 2 and s["chain_anchor"] is not None:
            parent = bytes(s["chain_anchor"])
        else:
            return f"damaged {tenant['name']} {s['id']}: its parent is not the snapshot before it"
        if s["chain_version"] >= 2:
            amendments = db.execute("SELECT * FROM amendments WHERE tenant = ? AND snapshot = ?",
                                    (tenant["id"], s["id"])).fetchall()
            expected = chain_v2(chain_key, parent, s,
                                digest(tenant, s, rows, amendments))
        else:
            expected = chain_v1(parent, s, tenant["tenant_id"])
        if expected != bytes(s["chain"]):
            return f"damaged {tenant['name']} {s['id']}: the chain hash does not recompute"
        previous = s
    by_id = {s["id"]: s for s in snapshots}
    for c in db.execute("SELECT * FROM cursors WHERE tenant = ?", (tenant["id"],)):
        s = by_id.get(c["snapshot"])
        if s is None:
            return f"damaged {tenant['name']} -: the {c['kind']} cursor belongs to no snapshot"
        if s["chain_version"] >= 2:
            committed = json.loads(s["cursor_kinds"] or "{}")
            if committed.get(c["kind"]) != blake3.blake3(c["link"].encode("utf-8")).hexdigest():
                return f"damaged {tenant['name']} {s['id']}: the {c['kind']} cursor was changed"
    head = bytes(previous["chain"]).hex() if previous else "-"
    return f"ok {tenant['name']} {head}"


def main(argv):
    path = argv[1]
    key = None
    if len(argv) > 3 and argv[2] == "--key":
        key = bytes.fromhex(argv[3])
    chain_key = (blake3.blake3(key, derive_key_context="rewind-store chain v2").digest()
                 if key else None)
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    db.row_factory = sqlite3.Row
    ok = True
    for tenant in db.execute("SELECT * FROM tenants ORDER BY id").fetchall():
        line = check_tenant(db, tenant, chain_key)
        print(line)
        ok = ok and line.startswith("ok ")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
