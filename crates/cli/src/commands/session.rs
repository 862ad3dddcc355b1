//! What every store command does first: merge settings (config file, then `REWIND_*`, then
//! flags), open the store with its key, and pick the tenant.

use anyhow::Context as _;
use rewind_app::{RawConfig, StoreLocation};
use rewind_store::{Store, StoreError, TenantInfo};

use crate::cli::{ConnectArgs, StoreArgs};
use crate::exit::Expected;

/// An open store with the settings it was opened with.
pub struct Session {
    pub store: Store,
    pub raw: RawConfig,
}

/// The settings from the config file, the environment and the flags, in that order of
/// precedence from low to high (the store's own come on top of the file when a command has one).
pub fn settings(args: &StoreArgs, connect: Option<&ConnectArgs>) -> anyhow::Result<RawConfig> {
    let file = match &args.config {
        Some(path) => RawConfig::from_file(path).map_err(usage)?,
        None => RawConfig::default(),
    };
    let mut flags = RawConfig {
        store: args.store.clone(),
        store_key_file: args.store_key_file.clone(),
        tenant: args.tenant.clone(),
        ..RawConfig::default()
    };
    if let Some(c) = connect {
        flags.graph_url.clone_from(&c.graph_url);
        flags.authority_url.clone_from(&c.authority_url);
        flags.tenant_id.clone_from(&c.tenant_id);
        flags.client_id.clone_from(&c.client_id);
        flags.client_secret.clone_from(&c.client_secret);
        flags.client_certificate.clone_from(&c.client_certificate);
    }
    Ok(file.overridden_by(RawConfig::from_env(std::env::vars())).overridden_by(flags))
}

impl Session {
    /// Opens the store named by the settings; it must exist (commands that only read or change
    /// a timeline never create one behind a mistyped path).
    pub async fn open(args: &StoreArgs, connect: Option<&ConnectArgs>) -> anyhow::Result<Session> {
        Session::open_as(args, connect, false).await
    }

    /// Opens the store named by the settings, creating it when absent: for the commands that
    /// start a timeline (`capture`, `watch`, `import`, `tenant add`).
    pub async fn open_or_create(
        args: &StoreArgs,
        connect: Option<&ConnectArgs>,
    ) -> anyhow::Result<Session> {
        Session::open_as(args, connect, true).await
    }

    async fn open_as(
        args: &StoreArgs,
        connect: Option<&ConnectArgs>,
        create: bool,
    ) -> anyhow::Result<Session> {
        let raw = settings(args, connect)?;
        let key = raw.store_key().map_err(usage)?;
        let location = raw.store_location().map_err(usage)?;
        let store = match (&location, create) {
            (StoreLocation::Sqlite(path), true) => Store::open_sqlite(path, key.as_ref()).await,
            (StoreLocation::Sqlite(path), false) => {
                Store::open_sqlite_existing(path, key.as_ref()).await
            }
            (StoreLocation::Postgres(url), true) => {
                Store::open_postgres(url.expose_secret(), key.as_ref()).await
            }
            (StoreLocation::Postgres(url), false) => {
                Store::open_postgres_existing(url.expose_secret(), key.as_ref()).await
            }
        };
        let store = store.map_err(|e| match e {
            StoreError::Key(_) | StoreError::TooNew { .. } | StoreError::NotAStore(_) => usage(e),
            // Nothing to open there: a setting to fix or a server to start (exit code 2).
            StoreError::Unavailable(reason) => {
                usage(format!("cannot open the store {}: {reason}", describe(&location)))
            }
            other => anyhow::Error::new(other)
                .context(format!("cannot open the store {}", describe(&location))),
        })?;
        Ok(Session { store, raw })
    }

    /// The tenant the settings name (`--tenant`, then `--tenant-id`), or the store's only one.
    pub async fn tenant(&self) -> anyhow::Result<TenantInfo> {
        if let Some(found) = self.find_tenant().await? {
            return Ok(found);
        }
        match &self.raw.tenant_id {
            Some(id) if !self.store.tenants().await?.is_empty() => Err(usage(format!(
                "the store keeps no tenant with id {id} (from REWIND_TENANT_ID or --tenant-id); it keeps: {}; choose one with --tenant, or unset REWIND_TENANT_ID",
                self.tenant_names().await?
            ))),
            _ => Err(usage(
                "the store keeps no tenant yet: run `rewind capture` with REWIND_TENANT_ID and the client settings, or `rewind tenant add`",
            )),
        }
    }

    /// Like [`Session::tenant`], but `None` when the store keeps none that matches (capture adds
    /// it).
    pub async fn find_tenant(&self) -> anyhow::Result<Option<TenantInfo>> {
        let found = self.find_named_tenant().await?;
        // One tenant per timeline: settings for another directory must not write into, or be
        // read as, this one.
        if let (Some(t), Some(id)) = (&found, &self.raw.tenant_id)
            && !t.tenant_id.eq_ignore_ascii_case(id)
        {
            return Err(usage(format!(
                "tenant '{}' of the store is directory {}, but the settings name directory {id} \
                 (REWIND_TENANT_ID or --tenant-id): fix the setting, or choose the store's tenant \
                 for {id} with --tenant",
                t.name, t.tenant_id
            )));
        }
        Ok(found)
    }

    async fn find_named_tenant(&self) -> anyhow::Result<Option<TenantInfo>> {
        let wanted = self.raw.tenant.as_ref().or(self.raw.tenant_id.as_ref());
        if let Some(name) = wanted {
            let found = self.store.tenant(name).await?;
            if found.is_none() && self.raw.tenant.is_some() {
                return Err(usage(format!(
                    "the store has no tenant '{name}'; it has: {}",
                    self.tenant_names().await?
                )));
            }
            return Ok(found);
        }
        let mut all = self.store.tenants().await.context("listing tenants")?;
        match all.len() {
            0 => Ok(None),
            1 => Ok(all.pop()),
            _ => Err(usage(format!(
                "the store keeps several tenants; pick one with --tenant or REWIND_TENANT: {}",
                self.tenant_names().await?
            ))),
        }
    }

    async fn tenant_names(&self) -> anyhow::Result<String> {
        let names: Vec<String> = self.store.tenants().await?.into_iter().map(|t| t.name).collect();
        Ok(if names.is_empty() { "none".into() } else { names.join(", ") })
    }
}

/// The store as a person recognises it; a `PostgreSQL` URL without its password.
fn describe(location: &StoreLocation) -> String {
    match location {
        StoreLocation::Sqlite(p) => p.display().to_string(),
        StoreLocation::Postgres(url) => without_password(url.expose_secret()),
    }
}

/// `postgres://user:secret@host/db` → `postgres://user@host/db`.
fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "(PostgreSQL, from REWIND_STORE)".into();
    };
    match rest.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}@{host}")
        }
        None => url.to_string(),
    }
}

/// A usage or configuration error (exit code 2) — unless what failed was finding a damaged
/// snapshot, which is `verify`'s finding (exit code 6) whichever command met it.
pub fn usage<E: std::fmt::Display + 'static>(e: E) -> anyhow::Error {
    let any: &dyn std::any::Any = &e;
    let damaged = matches!(
        any.downcast_ref::<rewind_app::locate::LocateError>(),
        Some(rewind_app::locate::LocateError::Store(StoreError::Damaged { .. }))
    ) || matches!(any.downcast_ref::<StoreError>(), Some(StoreError::Damaged { .. }));
    if damaged {
        Expected::Found(e.to_string()).into()
    } else {
        Expected::Usage(e.to_string()).into()
    }
}
