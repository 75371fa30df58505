//! The server's paper key: an ECDH P-256 key pair, made once and kept in the database
//! (`server_keys`), whose public half (`GET /api/v1/paper-key`) devices encrypt the ballot
//! papers of a changes file to, so whoever carries the file cannot read a unit's vote.
//!
//! The envelope is ECIES, as SubtleCrypto can make it without crypto code in the app: a
//! fresh ephemeral ECDH P-256 key per paper; its shared secret Z (the x-coordinate) with
//! the server's key gives the AES-256-GCM key SHA-256(Z ‖ 00000001 ‖ ephemeral SPKI DER)
//! (the ANSI X9.63 KDF, one block); the nonce is zero, as each key seals one paper only.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use p256::pkcs8::{DecodePublicKey, EncodePublicKey};
use p256::{PublicKey, SecretKey};
use sha2::{Digest, Sha256};
use shared::changes_file::SealedPaper;

use crate::auth::hex;
use crate::device_key::unhex;

/// Longest ephemeral key accepted, in hex characters (a P-256 SPKI is 182).
const MAX_KEY_HEX: usize = 256;
/// Longest sealed paper accepted, in hex characters (a ballot paper is well under 4 KiB).
const MAX_DATA_HEX: usize = 64 * 1024;

/// The server's key pair.
pub struct PaperKey {
    secret: SecretKey,
    public_hex: String,
}

/// A new key pair as (secret, public SPKI DER), hex.
pub fn fresh() -> Result<(String, String), String> {
    loop {
        let mut b = [0u8; 32];
        getrandom::fill(&mut b).map_err(|e| e.to_string())?;
        // A random 256-bit string is a valid scalar but with probability ~2^-32 less than 1.
        if let Ok(secret) = SecretKey::from_slice(&b) {
            let public = spki(&secret.public_key())?;
            return Ok((hex(&b), hex(&public)));
        }
    }
}

fn spki(key: &PublicKey) -> Result<Vec<u8>, String> {
    key.to_public_key_der()
        .map(|d| d.as_bytes().to_vec())
        .map_err(|e| e.to_string())
}

/// The AES-256-GCM key of one paper.
fn paper_cipher(z: &[u8], ephemeral_der: &[u8]) -> Aes256Gcm {
    let mut h = Sha256::new();
    h.update(z);
    h.update(1u32.to_be_bytes());
    h.update(ephemeral_der);
    Aes256Gcm::new(&h.finalize())
}

impl PaperKey {
    /// The key pair stored as `secret` (hex).
    pub fn from_secret_hex(secret: &str) -> Result<PaperKey, String> {
        let secret = unhex(secret)
            .and_then(|b| SecretKey::from_slice(&b).ok())
            .ok_or("the stored paper key is not a P-256 secret")?;
        let public_hex = hex(&spki(&secret.public_key())?);
        Ok(PaperKey { secret, public_hex })
    }

    /// The public half, hex SPKI DER (what SubtleCrypto imports as `spki`).
    pub fn public_hex(&self) -> &str {
        &self.public_hex
    }

    /// Opens a sealed paper: its plaintext, or why not.
    pub fn open(&self, paper: &SealedPaper) -> Result<Vec<u8>, String> {
        if paper.key.len() > MAX_KEY_HEX || paper.data.len() > MAX_DATA_HEX {
            return Err("a sealed paper is larger than a ballot paper can be".into());
        }
        let der = unhex(&paper.key).ok_or("a sealed paper's key is not hex")?;
        let data = unhex(&paper.data).ok_or("a sealed paper is not hex")?;
        let ephemeral = PublicKey::from_public_key_der(&der)
            .map_err(|_| "a sealed paper's key is not a P-256 public key")?;
        let z = p256::ecdh::diffie_hellman(self.secret.to_nonzero_scalar(), ephemeral.as_affine());
        paper_cipher(z.raw_secret_bytes(), &der)
            .decrypt(Nonce::from_slice(&[0; 12]), data.as_slice())
            .map_err(|_| "a sealed paper does not open with this server's key".into())
    }
}

/// Seals `plain` to `public_hex` with the ephemeral secret `ephemeral` (32 bytes), as the
/// app does with SubtleCrypto; for tests and other clients.
pub fn seal(public_hex: &str, plain: &[u8], ephemeral: &[u8; 32]) -> Result<SealedPaper, String> {
    let server = unhex(public_hex)
        .and_then(|d| PublicKey::from_public_key_der(&d).ok())
        .ok_or("not a P-256 public key")?;
    let secret = SecretKey::from_slice(ephemeral).map_err(|e| e.to_string())?;
    let der = spki(&secret.public_key())?;
    let z = p256::ecdh::diffie_hellman(secret.to_nonzero_scalar(), server.as_affine());
    let data = paper_cipher(z.raw_secret_bytes(), &der)
        .encrypt(Nonce::from_slice(&[0; 12]), plain)
        .map_err(|e| e.to_string())?;
    Ok(SealedPaper {
        key: hex(&der),
        data: hex(&data),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_paper_opens_only_with_the_servers_key_and_unaltered() {
        let (secret, public) = fresh().expect("key");
        let key = PaperKey::from_secret_hex(&secret).expect("stored");
        assert_eq!(key.public_hex(), public);
        let paper = seal(&public, b"{\"choice\":1}", &[7; 32]).expect("seal");
        assert!(!paper.data.contains(&hex(b"choice")), "not in clear");
        assert_eq!(key.open(&paper).expect("open"), b"{\"choice\":1}");
        let other = PaperKey::from_secret_hex(&fresh().expect("key").0).expect("other");
        assert!(other.open(&paper).is_err(), "another server's key");
        let mut altered = paper.clone();
        let last = altered.data.pop().expect("hex");
        altered.data.push(if last == '0' { '1' } else { '0' });
        assert!(key.open(&altered).is_err(), "an altered paper");
        let long = SealedPaper {
            key: paper.key.clone(),
            data: "00".repeat(MAX_DATA_HEX),
        };
        assert!(key.open(&long).is_err());
    }
}
