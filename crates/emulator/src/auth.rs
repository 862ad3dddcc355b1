//! The identity platform's token endpoint (client credentials with a secret or a JWT client
//! assertion) and the Graph side's bearer-token check.
//!
//! Tokens are JWTs signed with a per-tenant HMAC key (clients must never validate Graph tokens,
//! so the algorithm is the emulator's business). Their `roles` are computed at issue time from
//! the client's app role assignments on the Microsoft Graph service principal — granting a
//! permission in the emulated tenant changes what the next token can do, as in Entra.
//!
//! Client assertions are checked for form, algorithm, thumbprint header, issuer, subject,
//! audience and lifetime, and their signature is verified against the certificates registered
//! on the client's application (`keyCredentials`), as Entra does.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::client::{Access, Client};
use crate::error::GraphError;
use crate::permission::GRAPH_APP_ID;
use crate::resource::Coll;
use crate::tenant::{Actor, Tenant};

/// Lifetime of an access token, as Entra issues them.
const TOKEN_SECONDS: i64 = 3599;
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// An OAuth error from the token endpoint, shaped like Entra's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    /// HTTP status (400 or 401).
    pub status: u16,
    /// OAuth `error`.
    pub error: &'static str,
    /// The AADSTS code.
    pub code: u32,
    /// The description after the code.
    pub description: String,
}

impl OAuthError {
    fn new(status: u16, error: &'static str, code: u32, description: impl Into<String>) -> Self {
        OAuthError { status, error, code, description: description.into() }
    }

    /// The JSON body the endpoint returns.
    pub fn to_body(&self, trace_id: &str, timestamp: &str) -> Value {
        json!({
            "error": self.error,
            "error_description": format!("AADSTS{}: {} Trace ID: {trace_id} Correlation ID: {trace_id} Timestamp: {timestamp}", self.code, self.description),
            "error_codes": [self.code],
            "timestamp": timestamp,
            "trace_id": trace_id,
            "correlation_id": trace_id,
        })
    }
}

/// The claims of an emulator-issued access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Claims {
    pub aud: String,
    pub iss: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub appid: String,
    pub appidacr: String,
    pub oid: String,
    pub sub: String,
    pub tid: String,
    pub roles: Vec<String>,
    pub ver: String,
    pub idtyp: String,
    /// Delegated scopes (user tokens only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scp: Option<String>,
    /// The signed-in user's name (user tokens only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upn: Option<String>,
    /// The signed-in user's display name (user tokens only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl Claims {
    /// What the token may do: its application roles, or its delegated scopes.
    pub(crate) fn permissions(&self) -> Vec<String> {
        let scopes = self
            .scp
            .as_deref()
            .unwrap_or("")
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_string);
        self.roles.iter().cloned().chain(scopes).collect()
    }
}

impl Tenant {
    /// Handles `POST /{tenant}/oauth2/v2.0/token`. `basic` is the client id and secret from an
    /// HTTP Basic `Authorization` header, which Entra also accepts.
    pub fn issue_token(
        &mut self,
        tenant: &str,
        form: &HashMap<String, String>,
        basic: Option<(String, String)>,
    ) -> Result<Value, OAuthError> {
        if !tenant.eq_ignore_ascii_case(&self.tenant_id)
            && !tenant.eq_ignore_ascii_case(&self.domain)
        {
            return Err(OAuthError::new(
                400,
                "invalid_request",
                90002,
                format!(
                    "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."
                ),
            ));
        }
        let grant = form.get("grant_type").map_or("", String::as_str);
        if grant != "client_credentials" {
            return Err(OAuthError::new(
                400,
                "unsupported_grant_type",
                70003,
                format!("The app requested an unsupported grant type '{grant}'."),
            ));
        }
        check_scope(form.get("scope").map_or("", String::as_str))?;
        let (client_id, basic_secret) = match (form.get("client_id"), basic) {
            (Some(id), b) => (id.clone(), b.map(|(_, s)| s)),
            (None, Some((id, s))) => (id, Some(s)),
            (None, None) => {
                return Err(OAuthError::new(
                    400,
                    "invalid_request",
                    900_144,
                    "The request body must contain the following parameter: 'client_id'.",
                ));
            }
        };
        let configured = self.clients.iter().find(|c| c.client_id == client_id).cloned();
        let (client, acr) = if let Some(client) = configured {
            let acr = self.authenticate_client(&client, form, basic_secret.as_deref(), tenant)?;
            (client, acr)
        } else {
            let given = form.get("client_secret").cloned().or(basic_secret);
            (self.registered_app(&client_id, given.as_deref())?, "1")
        };
        let token = self.mint(&client, acr);
        Ok(json!({
            "token_type": "Bearer",
            "expires_in": TOKEN_SECONDS,
            "ext_expires_in": TOKEN_SECONDS,
            "access_token": token,
        }))
    }

    /// An application created in the tenant (through Graph) signing in with a secret that
    /// `addPassword` issued to it, still on the application; it acts as its service principal.
    fn registered_app(&self, client_id: &str, secret: Option<&str>) -> Result<Client, OAuthError> {
        let not_found = || {
            OAuthError::new(
                400,
                "unauthorized_client",
                700_016,
                format!(
                    "Application with identifier '{client_id}' was not found in the directory '{}'.",
                    self.tenant_id
                ),
            )
        };
        let app = self
            .coll(Coll::Applications)
            .iter()
            .find(|(_, a)| a.get("appId").and_then(Value::as_str) == Some(client_id))
            .map(|(_, a)| a.clone())
            .ok_or_else(not_found)?;
        let sp = self
            .coll(Coll::ServicePrincipals)
            .iter()
            .find(|(_, s)| s.get("appId").and_then(Value::as_str) == Some(client_id))
            .map(|(id, _)| id.clone())
            .ok_or_else(not_found)?;
        let digest = secret.map(secret_digest);
        let valid = app
            .get("passwordCredentials")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|c| c.get("keyId").and_then(Value::as_str))
            .any(|k| digest.is_some() && self.issued_secrets.get(k) == digest.as_ref());
        if !valid {
            return Err(OAuthError::new(
                401,
                "invalid_client",
                7_000_215,
                format!("Invalid client secret provided for app '{client_id}'."),
            ));
        }
        Ok(Client {
            client_id: client_id.to_string(),
            client_secret: String::new(),
            access: Access::Read,
            display_name: app
                .get("displayName")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            service_principal_id: sp,
        })
    }

    fn authenticate_client(
        &self,
        client: &Client,
        form: &HashMap<String, String>,
        basic_secret: Option<&str>,
        tenant: &str,
    ) -> Result<&'static str, OAuthError> {
        if let Some(secret) = form.get("client_secret").map(String::as_str).or(basic_secret) {
            if secret == client.client_secret {
                return Ok("1");
            }
            return Err(OAuthError::new(
                401,
                "invalid_client",
                7_000_215,
                format!(
                    "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{}'.",
                    client.client_id
                ),
            ));
        }
        if let Some(assertion) = form.get("client_assertion") {
            if form.get("client_assertion_type").map(String::as_str) != Some(ASSERTION_TYPE) {
                return Err(OAuthError::new(
                    400,
                    "invalid_request",
                    50027,
                    "The client_assertion_type must be 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'.",
                ));
            }
            self.check_assertion(assertion, &client.client_id, tenant)?;
            return Ok("2");
        }
        Err(OAuthError::new(
            401,
            "invalid_client",
            7_000_218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        ))
    }

    fn check_assertion(&self, jwt: &str, client_id: &str, tenant: &str) -> Result<(), OAuthError> {
        let bad = |m: &str| {
            OAuthError::new(
                401,
                "invalid_client",
                700_027,
                format!("Client assertion failed validation: {m}"),
            )
        };
        let mut parts = jwt.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad("the assertion is not a JWS compact token."));
        };
        let header = decode_json(h).ok_or_else(|| bad("the header is not base64url JSON."))?;
        let claims = decode_json(p).ok_or_else(|| bad("the payload is not base64url JSON."))?;
        if s.is_empty() {
            return Err(bad("the assertion is not signed."));
        }
        let alg = header.get("alg").and_then(Value::as_str).unwrap_or("");
        if !matches!(alg, "RS256" | "PS256") {
            return Err(bad(&format!("unsupported algorithm '{alg}'; use PS256 or RS256.")));
        }
        if header.get("x5t").is_none() && header.get("x5t#S256").is_none() {
            return Err(bad("the header names no certificate thumbprint (x5t or x5t#S256)."));
        }
        let claim = |k: &str| claims.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        if claim("iss") != client_id || claim("sub") != client_id {
            return Err(bad("'iss' and 'sub' must both be the client id."));
        }
        let aud = claim("aud");
        if !aud.ends_with("/oauth2/v2.0/token")
            || !aud.to_ascii_lowercase().contains(&tenant.to_ascii_lowercase())
        {
            return Err(bad(&format!("the audience '{aud}' is not this token endpoint.")));
        }
        let now = self.now().as_second();
        let exp = claims.get("exp").and_then(Value::as_i64).unwrap_or(0);
        let nbf = claims.get("nbf").and_then(Value::as_i64).unwrap_or(0);
        if exp <= now || nbf > now + 300 {
            return Err(OAuthError::new(
                401,
                "invalid_client",
                700_024,
                "Client assertion is not within its valid time range.",
            ));
        }
        self.check_assertion_signature(jwt, client_id, alg)
    }

    /// Verifies the assertion's signature against the certificates registered on the client's
    /// application (`keyCredentials` of type `AsymmetricX509Cert`), as Entra does.
    fn check_assertion_signature(
        &self,
        jwt: &str,
        client_id: &str,
        alg: &str,
    ) -> Result<(), OAuthError> {
        let bad = |m: &str| {
            OAuthError::new(
                401,
                "invalid_client",
                700_027,
                format!("Client assertion failed signature validation: {m}"),
            )
        };
        let certificates: Vec<String> = self
            .coll(Coll::Applications)
            .values()
            .filter(|a| a.get("appId").and_then(Value::as_str) == Some(client_id))
            .flat_map(|a| {
                a.get("keyCredentials").and_then(Value::as_array).cloned().unwrap_or_default()
            })
            .filter(|k| k.get("type").and_then(Value::as_str) == Some("AsymmetricX509Cert"))
            .filter_map(|k| k.get("key").and_then(Value::as_str).map(certificate_pem))
            .collect();
        if certificates.is_empty() {
            return Err(bad("the application has no certificate in keyCredentials."));
        }
        let algorithm = if alg == "PS256" {
            jsonwebtoken::Algorithm::PS256
        } else {
            jsonwebtoken::Algorithm::RS256
        };
        let mut validation = jsonwebtoken::Validation::new(algorithm);
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        let verified = certificates.iter().any(|pem| {
            jsonwebtoken::DecodingKey::from_rsa_pem(pem.as_bytes())
                .is_ok_and(|key| jsonwebtoken::decode::<Value>(jwt, &key, &validation).is_ok())
        });
        if verified {
            Ok(())
        } else {
            Err(bad("no registered certificate verifies the signature."))
        }
    }

    /// The Graph permissions granted to a service principal: its app role assignments on the
    /// Microsoft Graph service principal, by value.
    pub(crate) fn graph_roles_of(&self, sp_id: &str) -> Vec<String> {
        let Some((graph_sp_id, graph_sp)) = self
            .coll(Coll::ServicePrincipals)
            .iter()
            .find(|(_, o)| o.get("appId").and_then(Value::as_str) == Some(GRAPH_APP_ID))
        else {
            return Vec::new();
        };
        let role_values: HashMap<&str, &str> = graph_sp
            .get("appRoles")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|r| Some((r.get("id")?.as_str()?, r.get("value")?.as_str()?)))
            .collect();
        let mut roles: Vec<String> = self
            .coll(Coll::AppRoleAssignments)
            .values()
            .filter(|a| a.get("principalId").and_then(Value::as_str) == Some(sp_id))
            .filter(|a| a.get("resourceId").and_then(Value::as_str) == Some(graph_sp_id.as_str()))
            .filter_map(|a| {
                role_values.get(a.get("appRoleId")?.as_str()?).map(|v| (*v).to_string())
            })
            .collect();
        roles.sort();
        roles.dedup();
        roles
    }

    /// The claims every access token of this tenant carries, for a principal and its app.
    fn base_claims(&self, appid: &str, acr: &str, oid: &str) -> Claims {
        let now = self.now().as_second();
        Claims {
            aud: "https://graph.microsoft.com".into(),
            iss: format!("https://sts.windows.net/{}/", self.tenant_id),
            iat: now,
            nbf: now,
            exp: now + TOKEN_SECONDS,
            appid: appid.into(),
            appidacr: acr.into(),
            oid: oid.into(),
            sub: oid.into(),
            tid: self.tenant_id.clone(),
            roles: Vec::new(),
            ver: "1.0".into(),
            idtyp: "app".into(),
            scp: None,
            upn: None,
            name: None,
        }
    }

    fn mint(&self, client: &Client, acr: &str) -> String {
        let mut claims = self.base_claims(&client.client_id, acr, &client.service_principal_id);
        claims.roles = self.graph_roles_of(&client.service_principal_id);
        self.sign_claims(&claims)
    }

    /// An access token for one of the configured clients, minted directly as the token endpoint
    /// would after a successful sign-in (tests, the fuzz target and tools use it).
    pub fn access_token(&self, access: Access) -> Option<String> {
        let client = self.clients.iter().find(|c| c.access == access)?;
        Some(self.mint(client, "1"))
    }

    fn sign_claims(&self, claims: &Claims) -> String {
        let header =
            URL_SAFE_NO_PAD.encode(br#"{"typ":"JWT","alg":"HS256","kid":"rewind-emulator"}"#);
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap_or_default());
        let signing_input = format!("{header}.{payload}");
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(self.sign(signing_input.as_bytes())))
    }

    fn sign(&self, input: &[u8]) -> Vec<u8> {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.signing_key) else {
            return Vec::new();
        };
        mac.update(input);
        mac.finalize().into_bytes().to_vec()
    }

    /// Checks an `Authorization` header value and returns the token's claims.
    pub(crate) fn verify_bearer(&self, header: Option<&str>) -> Result<Claims, GraphError> {
        let Some(token) =
            header.and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")))
        else {
            return Err(GraphError::unauthenticated("Access token is empty."));
        };
        let invalid =
            || GraphError::unauthenticated("Access token validation failure. Invalid audience.");
        let (signing_input, sig) = token.trim().rsplit_once('.').ok_or_else(invalid)?;
        let sig = URL_SAFE_NO_PAD.decode(sig).map_err(|_| invalid())?;
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.signing_key) else {
            return Err(invalid());
        };
        mac.update(signing_input.as_bytes());
        mac.verify_slice(&sig)
            .map_err(|_| GraphError::unauthenticated("Access token validation failure."))?;
        let payload = signing_input.split('.').nth(1).ok_or_else(invalid)?;
        let claims: Claims = URL_SAFE_NO_PAD
            .decode(payload)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(invalid)?;
        if claims.tid != self.tenant_id || claims.aud != "https://graph.microsoft.com" {
            return Err(invalid());
        }
        if claims.exp <= self.now().as_second() {
            return Err(GraphError::unauthenticated(
                "Lifetime validation failed, the token is expired.",
            ));
        }
        Ok(claims)
    }

    /// The audit actor for a token.
    pub(crate) fn actor_of(&self, claims: &Claims) -> Actor {
        if claims.idtyp == "user" {
            return Actor::User {
                id: claims.oid.clone(),
                display_name: claims.name.clone().unwrap_or_default(),
                user_principal_name: claims.upn.clone().unwrap_or_default(),
            };
        }
        let display_name = self
            .get(Coll::ServicePrincipals, &claims.oid)
            .and_then(|sp| sp.get("displayName"))
            .and_then(Value::as_str)
            .unwrap_or(&claims.appid)
            .to_string();
        Actor::App {
            app_id: claims.appid.clone(),
            display_name,
            service_principal_id: claims.oid.clone(),
        }
    }

    /// An app-only token for a service principal, minted directly (the emulator's scenarios act
    /// through the Graph API with it, so their changes are attributed like real ones).
    pub(crate) fn mint_for_service_principal(&self, sp_id: &str) -> Option<String> {
        let sp = self.get(Coll::ServicePrincipals, sp_id)?;
        let client = Client {
            client_id: sp.get("appId").and_then(Value::as_str)?.to_string(),
            client_secret: String::new(),
            access: Access::Write,
            display_name: String::new(),
            service_principal_id: sp_id.to_string(),
        };
        Some(self.mint(&client, "1"))
    }

    /// A delegated token for a user with the given scopes, as if they had signed in to a tool.
    pub(crate) fn mint_for_user(&self, user_id: &str, scopes: &str) -> Option<String> {
        let user = self.get(Coll::Users, user_id)?;
        let text = |k: &str| user.get(k).and_then(Value::as_str).map(str::to_string);
        // The appId of Microsoft Graph PowerShell, the tool an administrator signs in to.
        let mut claims = self.base_claims("14d82eec-204b-4c2f-b7e8-296a70dab67e", "0", user_id);
        claims.idtyp = "user".into();
        claims.scp = Some(scopes.to_string());
        claims.upn = text("userPrincipalName");
        claims.name = text("displayName");
        Some(self.sign_claims(&claims))
    }
}

fn check_scope(scope: &str) -> Result<(), OAuthError> {
    let ok = scope.split(' ').any(|s| {
        s.eq_ignore_ascii_case("https://graph.microsoft.com/.default")
            || s.eq_ignore_ascii_case(&format!("{GRAPH_APP_ID}/.default"))
    });
    if ok {
        return Ok(());
    }
    Err(OAuthError::new(
        400,
        "invalid_scope",
        1_002_012,
        format!(
            "The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
        ),
    ))
}

/// A certificate stored as base64 DER (`keyCredentials[].key`) in PEM form.
fn certificate_pem(der_base64: &str) -> String {
    let lines: Vec<String> =
        der_base64.as_bytes().chunks(64).map(|c| String::from_utf8_lossy(c).into_owned()).collect();
    format!("-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n", lines.join("\n"))
}

fn decode_json(part: &str) -> Option<Value> {
    let bytes = URL_SAFE_NO_PAD.decode(part.trim_end_matches('=')).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// How the emulator keeps an issued secret: SHA-256, hex.
pub(crate) fn secret_digest(secret: &str) -> String {
    use sha2::Digest as _;
    Sha256::digest(secret.as_bytes()).iter().fold(String::new(), |mut s, b| {
        use std::fmt::Write as _;
        let _ = write!(s, "{b:02x}");
        s
    })
}
