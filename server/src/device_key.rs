//! Device keys: the public half of an ECDSA P-256 key pair each device makes for itself
//! (SubtleCrypto, private key not extractable), registered at sign-in or join, verifying the
//! changes files the device signs (`shared::changes_file`). Keys travel as hex DER
//! SubjectPublicKeyInfo (what SubtleCrypto exports as `spki`); signatures as hex r‖s.

use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use p256::pkcs8::DecodePublicKey;

/// The DER header of a P-256 SubjectPublicKeyInfo (id-ecPublicKey, prime256v1, then the
/// 65-byte uncompressed point), as SubtleCrypto exports it; for tests that make keys.
pub const SPKI_P256_HEADER: &str = "3059301306072a8648ce3d020106082a8648ce3d030107034200";

/// Longest key accepted, in hex characters (a P-256 SPKI is 91 bytes: 182).
const MAX_KEY_HEX: usize = 256;

/// The bytes of lowercase or uppercase hex, if it is hex.
pub(crate) fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Checks a key a device sends: hex DER of an ECDSA P-256 public key. Returns it lowercased.
pub fn check_public_key(hex: &str) -> Result<String, String> {
    let hex = hex.trim().to_ascii_lowercase();
    if hex.len() > MAX_KEY_HEX {
        return Err("device_key is too long for a P-256 public key".into());
    }
    let der = unhex(&hex).ok_or("device_key is not hex")?;
    VerifyingKey::from_public_key_der(&der)
        .map_err(|e| format!("device_key is not an ECDSA P-256 public key: {e}"))?;
    Ok(hex)
}

/// Whether `signature_hex` (r‖s) is `key_hex`'s signature of `message` (ECDSA, SHA-256).
pub fn verifies(key_hex: &str, message: &[u8], signature_hex: &str) -> bool {
    let (Some(der), Some(sig)) = (unhex(key_hex), unhex(signature_hex)) else {
        return false;
    };
    let (Ok(key), Ok(sig)) = (
        VerifyingKey::from_public_key_der(&der),
        Signature::from_slice(&sig),
    ) else {
        return false;
    };
    key.verify(message, &sig).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::SigningKey;
    use p256::ecdsa::signature::Signer;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    #[test]
    fn a_signature_verifies_only_with_its_key_and_message() {
        let sk = SigningKey::from_slice(&[7u8; 32]).expect("key");
        let other = SigningKey::from_slice(&[8u8; 32]).expect("key");
        // SubjectPublicKeyInfo of a P-256 key: a fixed header, then the uncompressed point.
        let public = |k: &SigningKey| {
            let point = k.verifying_key().to_encoded_point(false);
            format!("{SPKI_P256_HEADER}{}", hex(point.as_bytes()))
        };
        let key = check_public_key(&public(&sk).to_uppercase()).expect("a P-256 key");
        let sig: Signature = sk.sign(b"the file");
        let sig = hex(&sig.to_bytes());
        assert!(verifies(&key, b"the file", &sig));
        assert!(!verifies(&key, b"the file, altered", &sig));
        assert!(!verifies(&public(&other), b"the file", &sig));
        assert!(!verifies(&key, b"the file", "00"));
        assert!(check_public_key("abcd").is_err());
        assert!(check_public_key(&"ab".repeat(200)).is_err());
    }
}
