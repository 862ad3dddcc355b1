//! Certificate credentials: the signed JWT client assertion that replaces a secret. Entra wants
//! `PS256` with the certificate's SHA-256 thumbprint in `x5t#S256`, audience the token endpoint,
//! issuer and subject the client id, a unique `jti`, and a lifetime of ten minutes at most.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// The assertion type of the token request.
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Why a certificate credential cannot be used; the message says what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertificateError {
    /// The PEM has no certificate block.
    #[error(
        "the PEM file holds no CERTIFICATE block; it needs the private key and the certificate"
    )]
    NoCertificate,
    /// The certificate block is not base64.
    #[error("the CERTIFICATE block is not valid base64")]
    BadCertificate,
    /// The key cannot sign.
    #[error("the PEM file holds no usable RSA private key: {0}")]
    BadKey(String),
}

#[derive(Serialize)]
struct Claims<'a> {
    aud: &'a str,
    iss: &'a str,
    sub: &'a str,
    jti: &'a str,
    nbf: i64,
    iat: i64,
    exp: i64,
}

/// The certificate's SHA-256 thumbprint, base64url, as `x5t#S256` carries it.
pub fn thumbprint_s256(pem: &str) -> Result<String, CertificateError> {
    let body: String = pem
        .lines()
        .skip_while(|l| !l.starts_with("-----BEGIN CERTIFICATE-----"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END CERTIFICATE-----"))
        .collect();
    if body.is_empty() {
        return Err(CertificateError::NoCertificate);
    }
    let der = STANDARD.decode(body.trim()).map_err(|_| CertificateError::BadCertificate)?;
    Ok(URL_SAFE_NO_PAD.encode(Sha256::digest(&der)))
}

/// Signs a client assertion for `client_id` at `token_url`, valid for ten minutes from `now`.
pub fn client_assertion(
    pem: &str,
    client_id: &str,
    token_url: &str,
    jti: &str,
    now: i64,
) -> Result<String, CertificateError> {
    let mut header = Header::new(Algorithm::PS256);
    header.x5t_s256 = Some(thumbprint_s256(pem)?);
    let key = EncodingKey::from_rsa_pem(pem.as_bytes())
        .map_err(|e| CertificateError::BadKey(e.to_string()))?;
    let claims = Claims {
        aud: token_url,
        iss: client_id,
        sub: client_id,
        jti,
        nbf: now,
        iat: now,
        exp: now + 600,
    };
    jsonwebtoken::encode(&header, &claims, &key)
        .map_err(|e| CertificateError::BadKey(e.to_string()))
}

/// The form of a client-credentials request with an assertion.
pub fn assertion_form(client_id: &str, assertion: &str) -> Vec<(&'static str, String)> {
    vec![
        ("grant_type", "client_credentials".into()),
        ("client_id", client_id.into()),
        ("client_assertion_type", ASSERTION_TYPE.into()),
        ("client_assertion", assertion.into()),
        ("scope", super::GRAPH_SCOPE.into()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    const PEM: &str = include_str!("../../../../fixtures/test-client.pem");

    #[test]
    fn assertions_carry_what_entra_checks() {
        let jwt = client_assertion(
            PEM,
            "client-1",
            "https://login.microsoftonline.com/t/oauth2/v2.0/token",
            "jti-1",
            1_800_000_000,
        )
        .unwrap();
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(header["alg"], "PS256");
        assert_eq!(header["x5t#S256"], thumbprint_s256(PEM).unwrap());
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(
            (claims["iss"].as_str(), claims["sub"].as_str()),
            (Some("client-1"), Some("client-1"))
        );
        assert_eq!(claims["exp"].as_i64().unwrap() - claims["nbf"].as_i64().unwrap(), 600);
    }

    #[test]
    fn incomplete_pem_files_say_what_is_missing() {
        let key_only: String = PEM
            .lines()
            .take_while(|l| !l.contains("BEGIN CERTIFICATE"))
            .collect::<Vec<_>>()
            .join("\n");
        assert_eq!(thumbprint_s256(&key_only), Err(CertificateError::NoCertificate));
        let cert_only: String = PEM
            .lines()
            .skip_while(|l| !l.contains("BEGIN CERTIFICATE"))
            .collect::<Vec<_>>()
            .join("\n");
        assert!(matches!(
            client_assertion(&cert_only, "c", "u", "j", 0),
            Err(CertificateError::BadKey(_))
        ));
    }
}
