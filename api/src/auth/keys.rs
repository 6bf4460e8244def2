//! One Ed25519 signing key (the [`super::keyring::KeyRing`] holds one per purpose:
//! access tokens, decision documents); its public half is published as a JWK.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ed25519_dalek::SigningKey;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

/// The PKCS#8 v1 DER prefix of an Ed25519 private key; the 32-byte seed follows.
const PKCS8_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// The issuer claim of every token.
pub const ISSUER: &str = "zikao-cert";

/// The signing key and what is derived from it.
pub struct JwtKeys {
    seed: [u8; 32],
    encoding: EncodingKey,
    decoding: DecodingKey,
    kid: String,
    public_x: String,
}

// Never print the private key.
impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtKeys")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl JwtKeys {
    /// A key from its 32-byte seed.
    pub fn from_seed(seed: [u8; 32]) -> Self {
        let public = SigningKey::from_bytes(&seed).verifying_key().to_bytes();
        let mut der = PKCS8_PREFIX.to_vec();
        der.extend_from_slice(&seed);
        let public_x = URL_SAFE_NO_PAD.encode(public);
        let kid = URL_SAFE_NO_PAD.encode(&Sha256::digest(public)[..12]);
        Self {
            seed,
            encoding: EncodingKey::from_ed_der(&der),
            decoding: DecodingKey::from_ed_components(&public_x).expect("32-byte public key"),
            kid,
            public_x,
        }
    }

    /// A fresh random key.
    pub fn generate() -> Self {
        Self::from_seed(super::secret::random_bytes::<32>())
    }

    /// Reads a PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`) Ed25519 key.
    pub fn from_pem(pem: &str) -> Result<Self, String> {
        let body: String = pem
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .map(str::trim)
            .collect();
        let der = STANDARD
            .decode(body)
            .map_err(|_| "the key is not base64 PEM".to_owned())?;
        if der.len() != 48 || der[..16] != PKCS8_PREFIX {
            return Err("the key is not an Ed25519 PKCS#8 private key".into());
        }
        let mut seed = [0u8; 32];
        seed.copy_from_slice(&der[16..]);
        Ok(Self::from_seed(seed))
    }

    /// The key as PKCS#8 PEM.
    pub fn to_pem(&self) -> String {
        let mut der = PKCS8_PREFIX.to_vec();
        der.extend_from_slice(&self.seed);
        format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            STANDARD.encode(der)
        )
    }

    /// Reads the key at `path`, or creates it there (mode 600) on first run.
    pub fn load_or_create(path: &Path) -> Result<Self, String> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        match std::fs::read_to_string(path) {
            Ok(pem) => Self::from_pem(&pem).map_err(|e| format!("{}: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent)
                        .map_err(|e| format!("{}: {e}", parent.display()))?;
                }
                let keys = Self::generate();
                let mut file = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(path)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                file.write_all(keys.to_pem().as_bytes())
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                tracing::info!(path = %path.display(), kid = %keys.kid, "generated a new token signing key");
                Ok(keys)
            }
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
    }

    /// The key id (`kid`) in token headers and the JWK set.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public JWK set.
    pub fn jwks(&self) -> Jwks {
        Jwks {
            keys: vec![Jwk {
                kty: "OKP".into(),
                crv: "Ed25519".into(),
                x: self.public_x.clone(),
                kid: self.kid.clone(),
                alg: "EdDSA".into(),
                use_: "sig".into(),
            }],
        }
    }

    /// Signs claims as a compact JWS with header `typ`.
    pub fn sign<T: Serialize>(&self, typ: &str, claims: &T) -> Result<String, String> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        header.typ = Some(typ.to_owned());
        jsonwebtoken::encode(&header, claims, &self.encoding).map_err(|e| e.to_string())
    }

    /// Verifies a token's signature (EdDSA only: `alg: none` or HMAC tokens fail),
    /// expiry and issuer, and returns its claims.
    pub fn verify<T: DeserializeOwned>(&self, token: &str) -> Result<T, String> {
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.leeway = 5;
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        jsonwebtoken::decode::<T>(token, &self.decoding, &validation)
            .map(|data| data.claims)
            .map_err(|e| e.to_string())
    }
}

/// A JSON Web Key Set (RFC 7517).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"keys": [{"kty": "OKP", "crv": "Ed25519",
    "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "kid": "nLd2ZbC1p1nQb2Zk", "alg": "EdDSA", "use": "sig"}]}))]
pub struct Jwks {
    /// The service's public keys.
    pub keys: Vec<Jwk>,
}

/// One public key.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Jwk {
    /// Key type: `OKP`.
    pub kty: String,
    /// Curve: `Ed25519`.
    pub crv: String,
    /// The public key, base64url.
    pub x: String,
    /// Key id, as in token headers.
    pub kid: String,
    /// Algorithm: `EdDSA`.
    pub alg: String,
    /// Use: `sig`.
    #[serde(rename = "use")]
    pub use_: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize, serde::Deserialize, Debug, PartialEq)]
    struct C {
        sub: String,
        iss: String,
        exp: i64,
    }

    fn claims() -> C {
        C {
            sub: "x".into(),
            iss: ISSUER.into(),
            exp: chrono::Utc::now().timestamp() + 60,
        }
    }

    #[test]
    fn a_signed_token_verifies_and_survives_a_pem_round_trip() {
        let keys = JwtKeys::generate();
        let token = keys.sign("JWT", &claims()).unwrap();
        let again = JwtKeys::from_pem(&keys.to_pem()).unwrap();
        assert_eq!(again.verify::<C>(&token).unwrap(), claims());
        assert_eq!(again.kid(), keys.kid());
    }

    #[test]
    fn another_key_or_a_changed_byte_fails() {
        let keys = JwtKeys::generate();
        let token = keys.sign("JWT", &claims()).unwrap();
        assert!(JwtKeys::generate().verify::<C>(&token).is_err());
        let mut bytes = token.into_bytes();
        let i = bytes.len() - 5;
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        assert!(
            keys.verify::<C>(&String::from_utf8(bytes).unwrap())
                .is_err()
        );
    }

    #[test]
    fn alg_none_is_refused() {
        let keys = JwtKeys::generate();
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
        let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims()).unwrap());
        assert!(keys.verify::<C>(&format!("{header}.{body}.")).is_err());
    }
}
