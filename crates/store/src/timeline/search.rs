//! Finding objects by name or key, for the commands that take `group/Finance` or a display name.

use std::collections::BTreeMap;

use rewind_model::Kind;
use sqlx::Row as _;

use crate::error::StoreError;
use crate::manifest::ObjectKey;
use crate::store::Store;
use crate::tenant::TenantInfo;

impl Store {
    /// Objects whose key is `key` (a contained object's also by its own id, after the `/`), or
    /// whose display name ever was `name`, of any kind or of `kind`: how `OBJECT` arguments are
    /// resolved. Each with its latest known name.
    pub async fn find_objects(
        &self,
        tenant: &TenantInfo,
        kind: Option<Kind>,
        key_or_name: &str,
    ) -> Result<Vec<(ObjectKey, Option<String>)>, StoreError> {
        let rows = sqlx::query(
            "SELECT kind, key, name FROM versions WHERE tenant = $1 AND (key = $2 OR name = $3 \
             OR substr(key, length(key) - length($2)) = '/' || $2) ORDER BY snapshot",
        )
        .bind(tenant.id)
        .bind(key_or_name)
        .bind(self.sealer.index(key_or_name))
        .fetch_all(&self.db)
        .await?;
        let mut found: BTreeMap<ObjectKey, Option<String>> = BTreeMap::new();
        for r in rows {
            let k: String = r.try_get(0)?;
            let Some(k) = Kind::from_name(&k) else {
                continue;
            };
            if kind.is_some_and(|want| want != k) {
                continue;
            }
            let name: Option<String> = r.try_get(2)?;
            let name = name.map(|n| if n.starts_with("h:") { key_or_name.to_string() } else { n });
            found.insert(ObjectKey::new(k, r.try_get::<String, _>(1)?), name);
        }
        Ok(found.into_iter().collect())
    }

    /// The latest recorded display name of each of `keys` of `kind` (a keyed read each, by the
    /// primary key); keys never named, and every key on an encrypted store (whose names are
    /// sealed), are left out.
    pub async fn latest_names(
        &self,
        tenant: &TenantInfo,
        kind: Kind,
        keys: &[&str],
    ) -> Result<BTreeMap<String, String>, StoreError> {
        let mut out = BTreeMap::new();
        if self.sealer.encrypted() {
            return Ok(out);
        }
        for key in keys {
            let name: Option<Option<String>> = sqlx::query_scalar(
                "SELECT name FROM versions WHERE tenant = $1 AND kind = $2 AND key = $3 \
                 AND name IS NOT NULL ORDER BY snapshot DESC LIMIT 1",
            )
            .bind(tenant.id)
            .bind(kind.name())
            .bind(*key)
            .fetch_optional(&self.db)
            .await?;
            if let Some(Some(n)) = name {
                out.insert((*key).to_string(), n);
            }
        }
        Ok(out)
    }

    /// Keys of objects of `kind` any version of which had a display name containing one of
    /// `words` (case-insensitive). Empty on an encrypted store, whose names are sealed.
    pub async fn keys_named_like(
        &self,
        tenant: &TenantInfo,
        kind: Kind,
        words: &[&str],
    ) -> Result<Vec<String>, StoreError> {
        use std::fmt::Write as _;
        if self.sealer.encrypted() || words.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = String::from(
            "SELECT DISTINCT key FROM versions WHERE tenant = $1 AND kind = $2 AND name IS NOT NULL AND (",
        );
        for i in 0..words.len() {
            if i > 0 {
                sql.push_str(" OR ");
            }
            let _ = write!(sql, "LOWER(name) LIKE ${}", i + 3);
        }
        sql.push_str(") ORDER BY key");
        let mut q = sqlx::query(&sql).bind(tenant.id).bind(kind.name());
        for w in words {
            q = q.bind(format!("%{}%", w.to_lowercase().replace(['%', '_'], "")));
        }
        let rows = q.fetch_all(&self.db).await?;
        rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
    }

    /// Display names similar to `text`, for "did you mean" hints.
    pub async fn names_like(
        &self,
        tenant: &TenantInfo,
        text: &str,
        limit: i64,
    ) -> Result<Vec<(Kind, String)>, StoreError> {
        if self.sealer.encrypted() {
            return Ok(Vec::new());
        }
        let pattern = format!("%{}%", text.to_lowercase().replace(['%', '_'], ""));
        let rows = sqlx::query(
            "SELECT DISTINCT kind, name FROM versions WHERE tenant = $1 AND name IS NOT NULL \
             AND LOWER(name) LIKE $2 ORDER BY name LIMIT $3",
        )
        .bind(tenant.id)
        .bind(pattern)
        .bind(limit)
        .fetch_all(&self.db)
        .await?;
        let mut out = Vec::new();
        for r in rows {
            if let Some(k) = Kind::from_name(&r.try_get::<String, _>(0)?) {
                out.push((k, r.try_get(1)?));
            }
        }
        Ok(out)
    }
}
