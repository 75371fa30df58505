//! Hall mode: a laptop in the meeting hall serves the tablets over HTTPS with its own
//! certificate authority.
//!
//! On first start the server makes a certificate authority (ECDSA P-256, 10 years) under its
//! hall folder; the authority's private key never leaves that folder (mode 0600) and is
//! never served. It then issues a server certificate (1 year) for every name and address the
//! tablets may use: the machine's host name, `<host>.local`, `localhost`, the names given with
//! `--hall-name`, and every local IP address. When the addresses change (another hall's
//! Wi-Fi) a new server certificate is issued from the same authority, at start or while
//! running, so each tablet installs the authority once per laptop, not once per meeting.
//! The setup page (`/hall`) shows the HTTPS address as a QR code and serves the authority's
//! certificate (`.crt`, `.pem`, and an iPad `.mobileconfig`) with the steps to trust it.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};

/// The authority's common name: what a tablet shows in its list of trusted certificates.
const CA_NAME: &str = "ThiĐua – máy chủ hội trường";
/// A server certificate is renewed when it has fewer days left than this.
const RENEW_DAYS: i64 = 30;

/// The hall's certificates as served.
#[derive(Debug, Clone)]
pub struct HallCerts {
    /// The authority's certificate, PEM.
    pub ca_pem: String,
    /// The authority's certificate, DER.
    pub ca_der: Vec<u8>,
    /// The server certificate's PEM file.
    pub cert_file: PathBuf,
    /// The server key's PEM file.
    pub key_file: PathBuf,
    /// The names and addresses the server certificate covers.
    pub names: Vec<String>,
}

/// Where the hall's files live: `ca.pem`, `ca-key.pem`, `server.pem`, `server-key.pem`,
/// `names.txt` (what the server certificate covers).
#[derive(Debug, Clone)]
pub struct HallDir(pub PathBuf);

fn io(path: &Path, e: impl std::fmt::Display) -> String {
    format!("{}: {e}", path.display())
}

fn write_private(path: &Path, text: &str) -> Result<(), String> {
    // Written to a new file and renamed: a crash never leaves half a key.
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).map_err(|e| io(&tmp, e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| io(&tmp, e))?;
    }
    std::fs::rename(&tmp, path).map_err(|e| io(path, e))
}

fn ca_params() -> Result<CertificateParams, String> {
    let mut p = CertificateParams::new(Vec::<String>::new()).map_err(|e| e.to_string())?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, CA_NAME);
    dn.push(DnType::OrganizationName, "ThiĐua");
    p.distinguished_name = dn;
    p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    Ok(p)
}

/// The names and addresses tablets may use for this machine now.
pub fn local_names(extra: &[String]) -> Vec<String> {
    let mut names = BTreeSet::new();
    names.insert("localhost".to_owned());
    names.insert("127.0.0.1".to_owned());
    if let Ok(host) = std::fs::read_to_string("/proc/sys/kernel/hostname") {
        let host = host.trim().to_lowercase();
        if !host.is_empty() {
            names.insert(format!("{host}.local"));
            names.insert(host);
        }
    }
    for n in extra {
        let n = n.trim().to_lowercase();
        if !n.is_empty() {
            names.insert(n);
        }
    }
    if let Ok(ifaces) = if_addrs::get_if_addrs() {
        for i in ifaces {
            let ip = i.ip();
            // Link-local IPv6 needs a zone a URL cannot carry well: leave it out.
            if matches!(ip, IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) == 0xfe80) {
                continue;
            }
            names.insert(ip.to_string());
        }
    }
    names.into_iter().collect()
}

impl HallDir {
    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// The authority, made on first use.
    fn authority(&self) -> Result<(String, KeyPair), String> {
        let (cert, key) = (self.path("ca.pem"), self.path("ca-key.pem"));
        if cert.is_file() && key.is_file() {
            let pem = std::fs::read_to_string(&cert).map_err(|e| io(&cert, e))?;
            let k = std::fs::read_to_string(&key).map_err(|e| io(&key, e))?;
            let k = KeyPair::from_pem(&k).map_err(|e| io(&key, e))?;
            return Ok((pem, k));
        }
        std::fs::create_dir_all(&self.0).map_err(|e| io(&self.0, e))?;
        let k = KeyPair::generate().map_err(|e| e.to_string())?;
        let mut p = ca_params()?;
        let now = time::OffsetDateTime::now_utc();
        p.not_before = now - time::Duration::days(1);
        p.not_after = now + time::Duration::days(3650);
        let c = p.self_signed(&k).map_err(|e| e.to_string())?;
        write_private(&key, &k.serialize_pem())?;
        std::fs::write(&cert, c.pem()).map_err(|e| io(&cert, e))?;
        tracing::info!(path = %cert.display(), "made the hall's certificate authority");
        Ok((c.pem(), k))
    }

    /// Issues a server certificate for `names` unless the current one covers exactly them
    /// and has more than `RENEW_DAYS` left; returns whether it issued one.
    pub fn ensure(&self, names: &[String]) -> Result<(HallCerts, bool), String> {
        let (ca_pem, ca_key) = self.authority()?;
        let ca_der = pem_der(&ca_pem)?;
        let (cert_file, key_file, list) = (
            self.path("server.pem"),
            self.path("server-key.pem"),
            self.path("names.txt"),
        );
        let wanted = names.join("\n");
        let current = std::fs::read_to_string(&list).unwrap_or_default();
        let fresh = std::fs::metadata(&cert_file)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age.as_secs() < (365 - RENEW_DAYS).unsigned_abs() * 86_400);
        let issued = !(current == wanted && fresh && key_file.is_file());
        if issued {
            let mut p = CertificateParams::new(Vec::<String>::new()).map_err(|e| e.to_string())?;
            let mut dn = DistinguishedName::new();
            dn.push(
                DnType::CommonName,
                names.first().map_or("thidua", String::as_str),
            );
            p.distinguished_name = dn;
            p.subject_alt_names = names
                .iter()
                .map(|n| match n.parse::<IpAddr>() {
                    Ok(ip) => Ok(SanType::IpAddress(ip)),
                    Err(_) => n
                        .clone()
                        .try_into()
                        .map(SanType::DnsName)
                        .map_err(|e| format!("--hall-name {n}: {e}")),
                })
                .collect::<Result<_, _>>()?;
            p.key_usages = vec![
                KeyUsagePurpose::DigitalSignature,
                KeyUsagePurpose::KeyEncipherment,
            ];
            p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
            p.use_authority_key_identifier_extension = true;
            let now = time::OffsetDateTime::now_utc();
            p.not_before = now - time::Duration::days(1);
            // Apple devices refuse server certificates valid for more than 825 days.
            p.not_after = now + time::Duration::days(365);
            let k = KeyPair::generate().map_err(|e| e.to_string())?;
            let issuer = Issuer::new(ca_params()?, ca_key);
            let c = p.signed_by(&k, &issuer).map_err(|e| e.to_string())?;
            write_private(&key_file, &k.serialize_pem())?;
            let tmp = cert_file.with_extension("tmp");
            std::fs::write(&tmp, format!("{}{}", c.pem(), ca_pem)).map_err(|e| io(&tmp, e))?;
            std::fs::rename(&tmp, &cert_file).map_err(|e| io(&cert_file, e))?;
            std::fs::write(&list, &wanted).map_err(|e| io(&list, e))?;
            tracing::info!(names = %names.join(", "), "issued the hall's server certificate");
        }
        Ok((
            HallCerts {
                ca_pem,
                ca_der,
                cert_file,
                key_file,
                names: names.to_vec(),
            },
            issued,
        ))
    }
}

/// The DER bytes of the first PEM block.
fn pem_der(pem: &str) -> Result<Vec<u8>, String> {
    use base64::Engine;
    let body: String = pem
        .lines()
        .skip_while(|l| !l.starts_with("-----BEGIN"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .map_err(|e| format!("the hall's CA certificate: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_authority_stays_and_the_server_certificate_follows_the_addresses() {
        let dir = tempfile::tempdir().expect("tempdir");
        let hall = HallDir(dir.path().join("hall"));
        let names = vec!["hoitruong.lan".to_owned(), "192.168.1.20".to_owned()];
        let (first, issued) = hall.ensure(&names).expect("first start");
        assert!(issued);
        let (again, issued) = hall.ensure(&names).expect("second start");
        assert!(!issued, "same addresses: the certificate is kept");
        assert_eq!(again.ca_pem, first.ca_pem);
        let moved = vec!["hoitruong.lan".to_owned(), "10.0.0.5".to_owned()];
        let (after, issued) = hall.ensure(&moved).expect("new Wi-Fi");
        assert!(issued, "a new address gets a new certificate");
        assert_eq!(after.ca_pem, first.ca_pem, "the authority stays");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("hall/ca-key.pem"))
                .expect("key")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(!first.ca_der.is_empty());
    }
}
