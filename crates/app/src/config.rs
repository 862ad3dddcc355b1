//! Connection settings, read in two phases (as nextest and cargo do): every source is first read into a
//! [`RawConfig`] of optional values — the config file, then `REWIND_*` variables, then flags,
//! each overriding the one before — and the merged result is checked once into a [`Config`]
//! that holds no `Option` it does not mean. Secrets are wrapped so that they never print.

use std::path::{Path, PathBuf};

use rewind_msgraph::{Credential, Endpoints, Secret};
use rewind_store::{NewTenant, StoreKey, TenantInfo};
use serde::Deserialize;

/// The store used when none is configured.
pub const DEFAULT_STORE: &str = "./rewind.db";

/// Settings as one source gave them; every field optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct RawConfig {
    /// Graph's base URL (`REWIND_GRAPH_URL`).
    pub graph_url: Option<String>,
    /// The identity platform's base URL (`REWIND_AUTHORITY_URL`).
    pub authority_url: Option<String>,
    /// The tenant (`REWIND_TENANT_ID`).
    pub tenant_id: Option<String>,
    /// The app's client id (`REWIND_CLIENT_ID`).
    pub client_id: Option<String>,
    /// A client secret (`REWIND_CLIENT_SECRET`).
    pub client_secret: Option<String>,
    /// A PEM with key and certificate (`REWIND_CLIENT_CERTIFICATE`).
    pub client_certificate: Option<PathBuf>,
    /// Where the timeline lives (`REWIND_STORE`).
    pub store: Option<String>,
    /// The store's encryption key as text (`REWIND_STORE_KEY`).
    pub store_key: Option<String>,
    /// A file holding the store's encryption key (`REWIND_STORE_KEY_FILE`).
    pub store_key_file: Option<PathBuf>,
    /// Which of the store's tenants, by name or tenant id (`REWIND_TENANT`).
    pub tenant: Option<String>,
    /// Break-glass accounts by object id or user principal name (`REWIND_BREAK_GLASS`,
    /// comma-separated): checked first by the lockout analysis, their methods captured.
    pub break_glass: Option<Vec<String>>,
    /// The country administrators sign in from at home, ISO 3166 alpha-2
    /// (`REWIND_HOME_COUNTRY`); by default the most common usage location of the protected.
    pub home_country: Option<String>,
    /// The app registration restore writes with (`REWIND_WRITE_CLIENT_ID`): capture's stays
    /// read-only. Unset, restore writes with the capture app.
    pub write_client_id: Option<String>,
    /// Its client secret (`REWIND_WRITE_CLIENT_SECRET`).
    pub write_client_secret: Option<String>,
    /// Or its PEM with key and certificate (`REWIND_WRITE_CLIENT_CERTIFICATE`).
    pub write_client_certificate: Option<PathBuf>,
    /// Where `watch` posts alerts as JSON (`REWIND_WEBHOOK_URL`).
    pub webhook_url: Option<String>,
    /// The key that signs each webhook body, HMAC-SHA256 (`REWIND_WEBHOOK_SECRET`).
    pub webhook_secret: Option<String>,
    /// The SMTP server `watch` emails alerts through, `smtp://user:pass@host:port` or
    /// `smtps://…` (`REWIND_SMTP_URL`).
    pub smtp_url: Option<String>,
    /// The sender of alert emails (`REWIND_EMAIL_FROM`).
    pub email_from: Option<String>,
    /// Recipients of alert emails (`REWIND_EMAIL_TO`, comma-separated).
    pub email_to: Option<Vec<String>>,
    /// Per-rule settings: `[rules.new-actor] enabled = false`, `severity = "high"`.
    pub rules: Option<std::collections::BTreeMap<String, rewind_engine::risk::RuleSetting>>,
    /// Deletions by one actor between two captures that make a bulk change (default 25).
    pub bulk_deletes: Option<usize>,
    /// Updates by one actor between two captures that make a bulk change (default 250).
    pub bulk_updates: Option<usize>,
}

/// Why settings cannot be used; each message names what to set or fix.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    /// The config file cannot be read or parsed.
    #[error("config file {path}: {reason}")]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong (an unknown key is named).
        reason: String,
    },
    /// A required setting is missing.
    #[error("no {what}: set {flag} or {env}, or `{key} = …` in the config file")]
    Missing {
        /// What is missing.
        what: &'static str,
        /// The flag.
        flag: &'static str,
        /// The environment variable.
        env: &'static str,
        /// The config file key.
        key: &'static str,
    },
    /// Both a secret and a certificate were given.
    #[error("both a client secret and a client certificate are set; keep one")]
    TwoCredentials,
    /// The store is not a path, `sqlite://…` or `postgres://…`.
    #[error("REWIND_STORE '{0}' is neither a file path, sqlite://… nor postgres://…")]
    Store(String),
    /// The store key cannot be used.
    #[error("store key: {0}")]
    StoreKey(String),
    /// A rule named in the settings does not exist.
    #[error("{0}")]
    Rule(String),
    /// A setting holds a value that cannot be used; the message names it and the fix.
    #[error("{0}")]
    Invalid(String),
    /// The certificate file cannot be read.
    #[error("cannot read the client certificate {path}: {reason}")]
    Certificate {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// A comma-separated list, blanks dropped.
fn list(v: &str) -> Vec<String> {
    v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect()
}

impl RawConfig {
    /// The application Rewind restores with (the write client, else the read client): the
    /// lockout analysis checks that no policy blocks its service principal.
    pub fn restore_app(&self) -> Option<String> {
        self.write_client_id.clone().or_else(|| self.client_id.clone())
    }

    /// The tenant an import into a store without one records: `REWIND_TENANT_ID` (else the
    /// `--tenant` name) with the configured endpoints, Microsoft's public cloud by default;
    /// `None` when neither names it. Unlike a capture, an import needs no credentials.
    pub fn import_tenant(&self) -> Option<NewTenant> {
        let tenant_id = self.tenant_id.clone().or_else(|| self.tenant.clone())?;
        let cloud = Endpoints::public_cloud(&tenant_id);
        Some(NewTenant {
            name: self.tenant.clone().unwrap_or_else(|| tenant_id.clone()),
            graph_url: self.graph_url.clone().unwrap_or(cloud.graph_url),
            authority_url: self.authority_url.clone().unwrap_or(cloud.authority_url),
            client_id: self.client_id.clone(),
            tenant_id,
        })
    }

    /// What the lockout analysis protects and assumes: the break-glass accounts the flags name
    /// (else the configured ones), the home country (the flag's, else the configured one) and
    /// Rewind's own application.
    pub fn lockout_options(
        &self,
        break_glass: &[String],
        home_country: Option<&String>,
    ) -> Result<rewind_policy::LockoutOptions, ConfigError> {
        let break_glass = if break_glass.is_empty() {
            self.break_glass.clone().unwrap_or_default()
        } else {
            break_glass.to_vec()
        };
        Ok(rewind_policy::LockoutOptions {
            break_glass,
            home_country: self.home_country(home_country)?,
            restore_app: self.restore_app(),
        })
    }

    /// The home country (`REWIND_HOME_COUNTRY`, `home_country`) as an ISO 3166-1 alpha-2 code;
    /// `flag` (already checked by the command line) wins over it.
    pub fn home_country(&self, flag: Option<&String>) -> Result<Option<String>, ConfigError> {
        if let Some(code) = flag {
            return Ok(Some(code.clone()));
        }
        self.home_country
            .as_deref()
            .map(|c| {
                crate::country::country_code(c).map_err(|e| {
                    ConfigError::Invalid(format!("REWIND_HOME_COUNTRY (home_country): {e}"))
                })
            })
            .transpose()
    }

    /// Reads a TOML config file; unknown keys are errors, so typos do not pass silently.
    pub fn from_file(path: &Path) -> Result<RawConfig, ConfigError> {
        let err = |reason: String| ConfigError::File { path: path.to_path_buf(), reason };
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        toml::from_str(&text).map_err(|e| err(e.message().to_string()))
    }

    /// Reads the `REWIND_*` variables from `vars` (pass `std::env::vars()`).
    pub fn from_env(vars: impl IntoIterator<Item = (String, String)>) -> RawConfig {
        let mut raw = RawConfig::default();
        for (k, v) in vars {
            let slot = match k.as_str() {
                "REWIND_GRAPH_URL" => &mut raw.graph_url,
                "REWIND_AUTHORITY_URL" => &mut raw.authority_url,
                "REWIND_TENANT_ID" => &mut raw.tenant_id,
                "REWIND_CLIENT_ID" => &mut raw.client_id,
                "REWIND_CLIENT_SECRET" => &mut raw.client_secret,
                "REWIND_STORE" => &mut raw.store,
                "REWIND_STORE_KEY" => &mut raw.store_key,
                "REWIND_TENANT" => &mut raw.tenant,
                "REWIND_HOME_COUNTRY" => &mut raw.home_country,
                "REWIND_WRITE_CLIENT_ID" => &mut raw.write_client_id,
                "REWIND_WRITE_CLIENT_SECRET" => &mut raw.write_client_secret,
                "REWIND_WEBHOOK_URL" => &mut raw.webhook_url,
                "REWIND_WEBHOOK_SECRET" => &mut raw.webhook_secret,
                "REWIND_SMTP_URL" => &mut raw.smtp_url,
                "REWIND_EMAIL_FROM" => &mut raw.email_from,
                "REWIND_EMAIL_TO" => {
                    raw.email_to = Some(list(&v));
                    continue;
                }
                "REWIND_WRITE_CLIENT_CERTIFICATE" => {
                    raw.write_client_certificate = Some(PathBuf::from(v));
                    continue;
                }
                "REWIND_BREAK_GLASS" => {
                    raw.break_glass = Some(list(&v));
                    continue;
                }
                "REWIND_STORE_KEY_FILE" => {
                    raw.store_key_file = Some(PathBuf::from(v));
                    continue;
                }
                "REWIND_CLIENT_CERTIFICATE" => {
                    raw.client_certificate = Some(PathBuf::from(v));
                    continue;
                }
                _ => continue,
            };
            *slot = Some(v);
        }
        raw
    }

    /// `self` with every value that `over` sets replaced by `over`'s.
    #[must_use]
    pub fn overridden_by(self, over: RawConfig) -> RawConfig {
        RawConfig {
            graph_url: over.graph_url.or(self.graph_url),
            authority_url: over.authority_url.or(self.authority_url),
            tenant_id: over.tenant_id.or(self.tenant_id),
            client_id: over.client_id.or(self.client_id),
            client_secret: over.client_secret.or(self.client_secret),
            client_certificate: over.client_certificate.or(self.client_certificate),
            store: over.store.or(self.store),
            store_key: over.store_key.or(self.store_key),
            store_key_file: over.store_key_file.or(self.store_key_file),
            tenant: over.tenant.or(self.tenant),
            break_glass: over.break_glass.or(self.break_glass),
            home_country: over.home_country.or(self.home_country),
            write_client_id: over.write_client_id.or(self.write_client_id),
            write_client_secret: over.write_client_secret.or(self.write_client_secret),
            write_client_certificate: over
                .write_client_certificate
                .or(self.write_client_certificate),
            webhook_url: over.webhook_url.or(self.webhook_url),
            webhook_secret: over.webhook_secret.or(self.webhook_secret),
            smtp_url: over.smtp_url.or(self.smtp_url),
            email_from: over.email_from.or(self.email_from),
            email_to: over.email_to.or(self.email_to),
            rules: over.rules.or(self.rules),
            bulk_deletes: over.bulk_deletes.or(self.bulk_deletes),
            bulk_updates: over.bulk_updates.or(self.bulk_updates),
        }
    }

    /// The risky-change rules' settings; unknown rule names are errors that list the rules.
    pub fn rule_settings(&self) -> Result<rewind_engine::risk::Settings, ConfigError> {
        let mut settings = rewind_engine::risk::Settings::default();
        for (name, setting) in self.rules.iter().flatten() {
            let rule = name.parse().map_err(ConfigError::Rule)?;
            settings.rules.insert(rule, *setting);
        }
        if let Some(n) = self.bulk_deletes {
            settings.bulk_deletes = n.max(1);
        }
        if let Some(n) = self.bulk_updates {
            settings.bulk_updates = n.max(1);
        }
        Ok(settings)
    }

    /// The connection settings a store keeps for one of its tenants, as the lowest layer.
    pub fn from_stored(t: &TenantInfo) -> RawConfig {
        RawConfig {
            graph_url: Some(t.graph_url.clone()),
            authority_url: Some(t.authority_url.clone()),
            tenant_id: Some(t.tenant_id.clone()),
            client_id: t.client_id.clone(),
            ..RawConfig::default()
        }
    }

    /// Where the store is (the default when unset).
    pub fn store_location(&self) -> Result<StoreLocation, ConfigError> {
        StoreLocation::parse(self.store.as_deref().unwrap_or(DEFAULT_STORE))
    }

    /// The store key, from `REWIND_STORE_KEY` or the key file; `None` for a plain store.
    pub fn store_key(&self) -> Result<Option<StoreKey>, ConfigError> {
        let bad = |reason: String| ConfigError::StoreKey(reason);
        match (&self.store_key, &self.store_key_file) {
            (Some(_), Some(_)) => {
                Err(bad("both REWIND_STORE_KEY and a key file are set; keep one".into()))
            }
            (Some(text), None) => StoreKey::parse(text.as_bytes())
                .map(Some)
                .map_err(|e| bad(format!("REWIND_STORE_KEY: {e}"))),
            (None, Some(path)) => {
                let bytes = std::fs::read(path)
                    .map_err(|e| bad(format!("cannot read {}: {e}", path.display())))?;
                StoreKey::parse(&bytes)
                    .map(Some)
                    .map_err(|e| bad(format!("{}: {e}", path.display())))
            }
            (None, None) => Ok(None),
        }
    }
}

/// Where the timeline is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// A `SQLite` file.
    Sqlite(PathBuf),
    /// A `PostgreSQL` database (the URL may carry a password: never printed).
    Postgres(Secret),
}

impl StoreLocation {
    /// Reads a `REWIND_STORE` value: a path, `sqlite://path` or `postgres://…`.
    pub fn parse(s: &str) -> Result<StoreLocation, ConfigError> {
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            return Ok(StoreLocation::Postgres(Secret::new(s)));
        }
        let path = s.strip_prefix("sqlite://").unwrap_or(s);
        if path.is_empty() || path.contains("://") {
            return Err(ConfigError::Store(s.to_string()));
        }
        Ok(StoreLocation::Sqlite(PathBuf::from(path)))
    }
}

/// Checked settings for talking to one tenant.
#[derive(Debug, Clone)]
pub struct Config {
    /// Graph and identity platform endpoints.
    pub endpoints: Endpoints,
    /// How to sign in.
    pub credential: Credential,
    /// How restore signs in to write, when a separate app is configured.
    pub write_credential: Option<Credential>,
    /// Where the timeline lives.
    pub store: StoreLocation,
}

impl Config {
    /// The tenant these settings name, as the store records it on its first capture: named
    /// `name`, else by its tenant id.
    pub fn new_tenant(&self, name: Option<String>) -> NewTenant {
        let e = &self.endpoints;
        NewTenant {
            name: name.unwrap_or_else(|| e.tenant_id.clone()),
            tenant_id: e.tenant_id.clone(),
            graph_url: e.graph_url.clone(),
            authority_url: e.authority_url.clone(),
            client_id: Some(self.credential.client_id().to_string()),
        }
    }

    /// A client of the capture (read) app.
    pub fn read_client(
        &self,
        options: rewind_msgraph::ClientOptions,
    ) -> Result<rewind_msgraph::GraphClient, rewind_msgraph::ClientError> {
        rewind_msgraph::GraphClient::new(self.endpoints.clone(), self.credential.clone(), options)
    }

    /// A client of the app restore writes with — its own when one is configured, else the
    /// capture app — and whether it is an app of its own.
    pub fn write_client(
        &self,
        options: rewind_msgraph::ClientOptions,
    ) -> Result<(rewind_msgraph::GraphClient, bool), rewind_msgraph::ClientError> {
        let credential = self.write_credential.clone().unwrap_or_else(|| self.credential.clone());
        let client = rewind_msgraph::GraphClient::new(self.endpoints.clone(), credential, options)?;
        Ok((client, self.write_credential.is_some()))
    }

    /// Checks merged settings.
    pub fn resolve(raw: RawConfig) -> Result<Config, ConfigError> {
        let store = raw.store_location()?;
        let missing = |what, flag, env, key| ConfigError::Missing { what, flag, env, key };
        let tenant = raw
            .tenant_id
            .ok_or_else(|| missing("tenant", "--tenant-id", "REWIND_TENANT_ID", "tenant_id"))?;
        let client_id = raw
            .client_id
            .ok_or_else(|| missing("client id", "--client-id", "REWIND_CLIENT_ID", "client_id"))?;
        let credential = credential_from(client_id, raw.client_secret, raw.client_certificate)?
            .ok_or_else(|| {
                missing(
                    "client secret or certificate",
                    "--client-secret",
                    "REWIND_CLIENT_SECRET",
                    "client_secret",
                )
            })?;
        let write_credential = match raw.write_client_id {
            Some(id) => Some(
                credential_from(id, raw.write_client_secret, raw.write_client_certificate)?
                    .ok_or_else(|| {
                        missing(
                            "secret or certificate for the write app",
                            "REWIND_WRITE_CLIENT_SECRET",
                            "REWIND_WRITE_CLIENT_SECRET",
                            "write_client_secret",
                        )
                    })?,
            ),
            None => None,
        };
        let mut endpoints = Endpoints::public_cloud(tenant);
        if let Some(g) = raw.graph_url {
            endpoints.graph_url = base_url("REWIND_GRAPH_URL (--graph-url)", &g)?;
        }
        if let Some(a) = raw.authority_url {
            endpoints.authority_url = base_url("REWIND_AUTHORITY_URL (--authority-url)", &a)?;
        }
        Ok(Config { endpoints, credential, write_credential, store })
    }
}

/// A base URL as the settings want it: `http(s)://host[:port][/prefix]`, without the version
/// segment Rewind adds itself (`/v1.0`) or a tenant the authority adds (`/{tenant}`).
pub fn base_url(setting: &str, value: &str) -> Result<String, ConfigError> {
    let url = value.trim().trim_end_matches('/');
    let invalid = |why: String| ConfigError::Invalid(format!("{setting} '{value}' {why}"));
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(invalid("is not a URL: give one such as https://graph.microsoft.com".into()));
    };
    if !matches!(scheme, "https" | "http") || rest.is_empty() {
        return Err(invalid("must be an http:// or https:// URL".into()));
    }
    for version in ["/v1.0", "/beta"] {
        if let Some(base) = url.strip_suffix(version) {
            return Err(invalid(format!(
                "ends in {version}: give the base URL, {base}; Rewind adds /v1.0 itself"
            )));
        }
    }
    Ok(url.to_string())
}

/// A credential from a secret or a certificate file (not both); `None` when neither is set.
fn credential_from(
    client_id: String,
    secret: Option<String>,
    certificate: Option<PathBuf>,
) -> Result<Option<Credential>, ConfigError> {
    Ok(Some(match (secret, certificate) {
        (Some(_), Some(_)) => return Err(ConfigError::TwoCredentials),
        (Some(s), None) => Credential::Secret { client_id, secret: Secret::new(s) },
        (None, Some(path)) => {
            let pem = std::fs::read_to_string(&path).map_err(|e| ConfigError::Certificate {
                path: path.clone(),
                reason: e.to_string(),
            })?;
            Credential::Certificate { client_id, pem: Secret::new(pem) }
        }
        (None, None) => return Ok(None),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_import_names_its_tenant_by_id_or_name_and_needs_no_credentials() {
        assert!(RawConfig::default().import_tenant().is_none());
        let by_name = RawConfig { tenant: Some("contoso".into()), ..RawConfig::default() };
        let t = by_name.import_tenant().unwrap();
        assert_eq!((t.tenant_id.as_str(), t.name.as_str()), ("contoso", "contoso"));
        assert_eq!(t.graph_url, "https://graph.microsoft.com");
        let by_id = RawConfig {
            tenant_id: Some("t-1".into()),
            graph_url: Some("http://127.0.0.1:1".into()),
            ..RawConfig::default()
        };
        let t = by_id.import_tenant().unwrap();
        assert_eq!((t.name.as_str(), t.graph_url.as_str()), ("t-1", "http://127.0.0.1:1"));
        assert_eq!(t.client_id, None);
    }

    #[test]
    fn base_urls_without_the_version_segment() {
        assert_eq!(
            base_url("REWIND_GRAPH_URL", "https://graph.microsoft.com/").unwrap(),
            "https://graph.microsoft.com"
        );
        assert_eq!(
            base_url("REWIND_GRAPH_URL", "http://127.0.0.1:4000").unwrap(),
            "http://127.0.0.1:4000"
        );
        let err =
            base_url("REWIND_GRAPH_URL", "http://127.0.0.1:4000/v1.0").unwrap_err().to_string();
        assert!(err.contains("ends in /v1.0: give the base URL, http://127.0.0.1:4000"), "{err}");
        assert!(base_url("REWIND_GRAPH_URL", "graph.microsoft.com").is_err());
        assert!(base_url("REWIND_GRAPH_URL", "ftp://x").is_err());
    }

    fn env(pairs: &[(&str, &str)]) -> RawConfig {
        RawConfig::from_env(pairs.iter().map(|(k, v)| ((*k).to_string(), (*v).to_string())))
    }

    #[test]
    fn flags_beat_environment_beat_file() {
        let file: RawConfig = toml::from_str("tenant_id = \"file\"\nclient_id = \"file\"\nclient_secret = \"s\"\nstore = \"file.db\"").unwrap();
        let vars =
            env(&[("REWIND_TENANT_ID", "env"), ("REWIND_STORE", "env.db"), ("HOME", "/root")]);
        let flags = RawConfig { tenant_id: Some("flag".into()), ..RawConfig::default() };
        let c = Config::resolve(file.overridden_by(vars).overridden_by(flags)).unwrap();
        assert_eq!(c.endpoints.tenant_id, "flag");
        assert_eq!(c.store, StoreLocation::Sqlite("env.db".into()));
        assert_eq!(c.endpoints.graph_url, "https://graph.microsoft.com", "public cloud by default");
    }

    #[test]
    fn break_glass_accounts_from_file_or_environment() {
        let file: RawConfig =
            toml::from_str("break_glass = [\"bg1@contoso.com\"]\nhome_country = \"NL\"").unwrap();
        assert_eq!(file.break_glass.as_deref(), Some(&["bg1@contoso.com".to_string()][..]));
        let vars = env(&[("REWIND_BREAK_GLASS", " a@x , b@x,")]);
        let merged = file.overridden_by(vars);
        assert_eq!(merged.break_glass, Some(vec!["a@x".to_string(), "b@x".to_string()]));
        assert_eq!(merged.home_country.as_deref(), Some("NL"));
    }

    #[test]
    fn errors_say_what_to_set() {
        let err = Config::resolve(env(&[("REWIND_CLIENT_ID", "c")])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "no tenant: set --tenant-id or REWIND_TENANT_ID, or `tenant_id = …` in the config file"
        );
        let err = Config::resolve(env(&[("REWIND_TENANT_ID", "t"), ("REWIND_CLIENT_ID", "c")]))
            .unwrap_err();
        assert!(err.to_string().contains("REWIND_CLIENT_SECRET"));
        let bad_store = env(&[
            ("REWIND_TENANT_ID", "t"),
            ("REWIND_CLIENT_ID", "c"),
            ("REWIND_CLIENT_SECRET", "s"),
            ("REWIND_STORE", "mysql://x"),
        ]);
        assert_eq!(Config::resolve(bad_store).unwrap_err(), ConfigError::Store("mysql://x".into()));
        let typo = toml::from_str::<RawConfig>("tenantid = \"x\"").unwrap_err();
        assert!(typo.message().contains("unknown field `tenantid`"));
    }

    #[test]
    fn rules_are_configured_by_name_and_unknown_ones_listed() {
        let file: RawConfig = toml::from_str(
            "bulk_deletes = 50\n[rules.new-actor]\nenabled = false\n[rules.ca-policy-weakened]\nseverity = \"critical\"",
        )
        .unwrap();
        let s = file.rule_settings().unwrap();
        assert_eq!(s.bulk_deletes, 50);
        assert_eq!(s.rules.len(), 2);
        let typo: RawConfig = toml::from_str("[rules.new-actors]\nenabled = false").unwrap();
        let err = typo.rule_settings().unwrap_err().to_string();
        assert!(err.contains("unknown rule 'new-actors'") && err.contains("new-actor"), "{err}");
        assert!(toml::from_str::<RawConfig>("[rules.new-actor]\nseverity = \"urgent\"").is_err());
    }

    #[test]
    fn secrets_never_print() {
        let c = Config::resolve(env(&[
            ("REWIND_TENANT_ID", "t"),
            ("REWIND_CLIENT_ID", "c"),
            ("REWIND_CLIENT_SECRET", "hunter2"),
            ("REWIND_STORE", "postgres://rewind:pa55@127.0.0.1/rewind"),
        ]))
        .unwrap();
        let shown = format!("{c:?}");
        assert!(!shown.contains("hunter2") && !shown.contains("pa55"), "{shown}");
    }
}
