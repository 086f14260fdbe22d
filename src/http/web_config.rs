//! `--web.config.file`: the web configuration file of Prometheus'
//! exporter-toolkit (TLS, basic auth, response headers), read and checked once
//! at start-up, before anything is bound. A bad file is one line (never a
//! password hash or a key) and exit code 2, as for any bad flag.
//!
//! The format is the toolkit's (`docs/web-configuration.md` there), parsed
//! strictly: an unknown key is an error. What we do not implement is refused
//! with a message rather than silently ignored: `cipher_suites`,
//! `curve_preferences`, `client_allowed_sans`, `rate_limit`, the client-auth
//! types that accept a certificate without verifying it
//! (`RequestClientCert`, `RequireAnyClientCert`), and TLS 1.0/1.1 (rustls
//! speaks TLS 1.2 and 1.3 only). `http_server_config.http2` is accepted and
//! has no effect: we serve HTTP/1.1 only (ALPN `http/1.1`).
//!
//! As in the toolkit: relative paths resolve against the file's directory; TLS
//! is on when any of the certificate, key or client-CA settings is present
//! (then the certificate and key are required); `min_version` defaults to
//! TLS12; the only response headers that can be set are the toolkit's five,
//! `X-Frame-Options` and `X-Content-Type-Options` only to their allowed
//! values; an empty header value leaves the header unset.
//!
//! Unlike the toolkit, which reads the file on every request, it is read once:
//! a restart applies a changed file (SIGHUP does not).

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::http::{HeaderName, HeaderValue};
use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde::Deserialize;

use super::auth::{Access, User};

/// A loaded, checked web configuration: what the server needs.
#[derive(Clone)]
pub struct WebConfig {
    /// The file it came from.
    pub path: PathBuf,
    /// TLS, when the file configures it.
    pub tls: Option<Arc<ServerConfig>>,
    /// Basic auth and response headers, for every route.
    pub access: Arc<Access>,
    /// Whether clients must present a certificate the client CA signed.
    pub client_certs: ClientCerts,
}

/// What the server asks of a client's certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientCerts {
    /// None asked for (`NoClientCert`, or no TLS).
    Ignored,
    /// Verified against the client CA when one is sent (`VerifyClientCertIfGiven`).
    VerifiedIfGiven,
    /// Required and verified (`RequireAndVerifyClientCert`).
    Required,
}

impl fmt::Debug for WebConfig {
    /// No hash, no key: only what is configured.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebConfig")
            .field("path", &self.path)
            .field("tls", &self.tls.is_some())
            .field("client_certs", &self.client_certs)
            .field("basic_auth_users", &self.access.user_count())
            .field("headers", &self.access.header_count())
            .finish()
    }
}

/// The file as written (the toolkit's keys, nothing else). No `Debug`: it
/// holds hashes and maybe a key.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields, rename = "web config map")]
struct File {
    tls_server_config: Option<TlsFile>,
    http_server_config: Option<HttpFile>,
    basic_auth_users: Option<UniqueMap>,
    rate_limit: Option<serde_norway::Value>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields, rename = "map")]
struct TlsFile {
    cert: Option<String>,
    key: Option<String>,
    client_ca: Option<String>,
    cert_file: Option<String>,
    key_file: Option<String>,
    client_auth_type: Option<String>,
    client_ca_file: Option<String>,
    client_allowed_sans: Option<Vec<String>>,
    min_version: Option<String>,
    max_version: Option<String>,
    cipher_suites: Option<Vec<String>>,
    prefer_server_cipher_suites: Option<bool>,
    curve_preferences: Option<Vec<String>>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields, rename = "map")]
struct HttpFile {
    http2: Option<bool>,
    headers: Option<UniqueMap>,
}

/// A map of strings whose keys must be unique (a user listed twice is an
/// error, as in the toolkit, not "the last one wins").
#[derive(Default)]
struct UniqueMap(BTreeMap<String, String>);

impl<'de> Deserialize<'de> for UniqueMap {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = UniqueMap;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of strings")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<UniqueMap, A::Error> {
                let mut out = BTreeMap::new();
                while let Some((k, v)) = map.next_entry::<String, String>()? {
                    if out.contains_key(&k) {
                        return Err(serde::de::Error::custom(format!("{k:?} is listed twice")));
                    }
                    out.insert(k, v);
                }
                Ok(UniqueMap(out))
            }
        }
        d.deserialize_map(Visitor)
    }
}

/// The headers the toolkit lets a file set, with their allowed values (empty:
/// any value).
pub const HEADERS: [(&str, &[&str]); 5] = [
    ("Strict-Transport-Security", &[]),
    ("X-Content-Type-Options", &["nosniff"]),
    ("X-Frame-Options", &["deny", "sameorigin"]),
    ("X-XSS-Protection", &[]),
    ("Content-Security-Policy", &[]),
];

/// The clap value parser of `--web.config.file`: load and check the file.
pub fn parse_flag(value: &str) -> Result<WebConfig, String> {
    WebConfig::load(Path::new(value))
}

impl WebConfig {
    /// Read and check the file at `path`, and everything it names. The error
    /// is one line.
    pub fn load(path: &Path) -> Result<WebConfig, String> {
        let text = read_capped(path, "the file")?;
        let text = String::from_utf8(text).map_err(|_| "the file is not UTF-8".to_owned())?;
        let dir = path.parent().unwrap_or(Path::new("."));
        let mut config = WebConfig::parse(&text, dir)?;
        config.path = path.to_owned();
        Ok(config)
    }

    /// Check `text` (a file's contents), with relative paths against `dir`.
    pub fn parse(text: &str, dir: &Path) -> Result<WebConfig, String> {
        // An empty file (or only comments) is a valid, empty configuration.
        let file: Option<File> = serde_norway::from_str(text).map_err(|e| one_line(&e))?;
        let file = file.unwrap_or_default();
        if file.rate_limit.is_some() {
            return Err("rate_limit is not supported: remove it (rate-limit in a proxy)".into());
        }
        let users = users(file.basic_auth_users.unwrap_or_default().0)?;
        let http = file.http_server_config.unwrap_or_default();
        let _ = http.http2; // HTTP/1.1 only: accepted, no effect (see the module doc).
        let headers = headers(http.headers.unwrap_or_default().0)?;
        let (tls, client_certs) = match file.tls_server_config {
            Some(t) => tls(t, dir)?,
            None => (None, ClientCerts::Ignored),
        };
        Ok(WebConfig {
            path: PathBuf::new(),
            tls,
            access: Arc::new(Access::new(users, headers)),
            client_certs,
        })
    }
}

/// A serde error as one line, with any string value it quotes removed (it
/// could be a password hash or a key).
fn one_line(e: &serde_norway::Error) -> String {
    let text = e.to_string();
    // serde quotes an unexpected string as `string "…"` (Debug-escaped).
    let redacted = regex::Regex::new(r#"string "(?:[^"\\]|\\.)*""#)
        .map(|re| re.replace_all(&text, "a string").into_owned())
        .unwrap_or_else(|_| "the file is not valid".to_owned());
    redacted.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// At most this much of a file is read: a web config, a certificate chain or
/// a key is a few KiB.
const MAX_FILE: u64 = 1 << 20;

fn read_capped(path: &Path, what: &str) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let mut out = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_FILE + 1).read_to_end(&mut out))
        .map_err(|e| format!("{what} ({}): {e}", path.display()))?;
    if out.len() as u64 > MAX_FILE {
        return Err(format!(
            "{what} ({}) is larger than {MAX_FILE} bytes",
            path.display()
        ));
    }
    Ok(out)
}

fn users(listed: BTreeMap<String, String>) -> Result<Vec<User>, String> {
    listed
        .into_iter()
        .map(|(name, hash)| {
            if name.contains(':') {
                return Err(format!(
                    "basic_auth_users: user {name:?}: a user name cannot hold ':' (basic auth splits on it)"
                ));
            }
            User::new(name.clone(), hash).map_err(|why| {
                format!("basic_auth_users: user {name:?}: the password is not a bcrypt hash ({why})")
            })
        })
        .collect()
}

fn headers(listed: BTreeMap<String, String>) -> Result<Vec<(HeaderName, HeaderValue)>, String> {
    let mut out = Vec::new();
    for (name, value) in listed {
        let Some((_, allowed)) = HEADERS.iter().find(|(n, _)| *n == name) else {
            let names: Vec<&str> = HEADERS.iter().map(|(n, _)| *n).collect();
            return Err(format!(
                "http_server_config.headers: {name:?} cannot be set (only {})",
                names.join(", ")
            ));
        };
        if value.is_empty() {
            continue;
        }
        if !allowed.is_empty() && !allowed.contains(&value.as_str()) {
            return Err(format!(
                "http_server_config.headers: {name} must be one of {}, not {value:?}",
                allowed.join(", ")
            ));
        }
        let header = HeaderName::from_bytes(name.as_bytes()).map_err(|e| e.to_string())?;
        let value = HeaderValue::from_str(&value).map_err(|_| {
            format!(
                "http_server_config.headers: {name}: the value holds characters a header cannot"
            )
        })?;
        out.push((header, value));
    }
    Ok(out)
}

/// `path` if absolute, else under `dir` (the config file's directory).
fn resolve(dir: &Path, path: &str) -> PathBuf {
    let p = Path::new(path);
    if p.is_absolute() {
        p.to_owned()
    } else {
        dir.join(p)
    }
}

/// PEM text from an inline key or a file key, never both.
fn pem(
    dir: &Path,
    inline: Option<String>,
    file: Option<String>,
    names: (&str, &str),
) -> Result<Option<Vec<u8>>, String> {
    let file = file.filter(|f| !f.is_empty());
    let inline = inline.filter(|i| !i.is_empty());
    match (inline, file) {
        (Some(_), Some(_)) => Err(format!(
            "tls_server_config: {} and {} are both set: keep one",
            names.0, names.1
        )),
        (Some(text), None) => Ok(Some(text.into_bytes())),
        (None, Some(f)) => Ok(Some(read_capped(
            &resolve(dir, &f),
            &format!("tls_server_config.{}", names.1),
        )?)),
        (None, None) => Ok(None),
    }
}

fn version(v: Option<&str>, key: &str, default: u8) -> Result<u8, String> {
    match v {
        None | Some("") => Ok(default),
        Some("TLS12") => Ok(12),
        Some("TLS13") => Ok(13),
        Some(v @ ("TLS10" | "TLS11")) => Err(format!(
            "tls_server_config.{key}: {v} is not supported (TLS12 and TLS13 only)"
        )),
        Some(v) => Err(format!(
            "tls_server_config.{key}: unknown TLS version {v:?} (TLS12 or TLS13)"
        )),
    }
}

fn tls(t: TlsFile, dir: &Path) -> Result<(Option<Arc<ServerConfig>>, ClientCerts), String> {
    for (key, set) in [
        (
            "cipher_suites",
            t.cipher_suites.as_ref().is_some_and(|v| !v.is_empty()),
        ),
        (
            "curve_preferences",
            t.curve_preferences.as_ref().is_some_and(|v| !v.is_empty()),
        ),
        (
            "client_allowed_sans",
            t.client_allowed_sans
                .as_ref()
                .is_some_and(|v| !v.is_empty()),
        ),
    ] {
        if set {
            return Err(format!(
                "tls_server_config.{key} is not supported: remove it (rustls' defaults apply)"
            ));
        }
    }
    let min = version(t.min_version.as_deref(), "min_version", 12)?;
    let max = version(t.max_version.as_deref(), "max_version", 13)?;
    if min > max {
        return Err("tls_server_config: min_version is above max_version".into());
    }
    let auth = t.client_auth_type.clone().unwrap_or_default();
    let enabled = [
        &t.cert,
        &t.key,
        &t.client_ca,
        &t.cert_file,
        &t.key_file,
        &t.client_ca_file,
    ]
    .iter()
    .any(|o| o.as_deref().is_some_and(|s| !s.is_empty()))
        || !auth.is_empty();
    if !enabled {
        return Ok((None, ClientCerts::Ignored));
    }
    let cert = pem(dir, t.cert, t.cert_file, ("cert", "cert_file"))?
        .ok_or("tls_server_config: missing one of cert or cert_file")?;
    let key = pem(dir, t.key, t.key_file, ("key", "key_file"))?
        .ok_or("tls_server_config: missing one of key or key_file")?;
    let client_ca = pem(
        dir,
        t.client_ca,
        t.client_ca_file,
        ("client_ca", "client_ca_file"),
    )?;

    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("tls_server_config: the certificate is not PEM: {e}"))?;
    if chain.is_empty() {
        return Err("tls_server_config: no certificate in cert/cert_file".into());
    }
    // The error names no key material: pem errors are about structure.
    let key = PrivateKeyDer::from_pem_slice(&key)
        .map_err(|e| format!("tls_server_config: no usable private key in key/key_file: {e}"))?;

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let client_certs = match auth.as_str() {
        "" | "NoClientCert" => ClientCerts::Ignored,
        "VerifyClientCertIfGiven" => ClientCerts::VerifiedIfGiven,
        "RequireAndVerifyClientCert" => ClientCerts::Required,
        "RequestClientCert" | "RequireAnyClientCert" | "RequireClientCert" => {
            return Err(format!(
                "tls_server_config.client_auth_type: {auth} is not supported (it accepts certificates nobody verified): use RequireAndVerifyClientCert with client_ca_file"
            ));
        }
        other => {
            return Err(format!(
                "tls_server_config.client_auth_type: unknown value {other:?} (NoClientCert, VerifyClientCertIfGiven or RequireAndVerifyClientCert)"
            ));
        }
    };
    let verifier = match (client_certs, client_ca) {
        (ClientCerts::Ignored, Some(_)) => {
            return Err(
                "tls_server_config: a client CA is set but client_auth_type is NoClientCert: set RequireAndVerifyClientCert"
                    .into(),
            );
        }
        (ClientCerts::Ignored, None) => None,
        (_, None) => {
            return Err(format!(
                "tls_server_config.client_auth_type: {auth} needs client_ca_file (or client_ca)"
            ));
        }
        (required, Some(ca)) => Some(client_verifier(&ca, required, &provider)?),
    };

    let versions: Vec<&'static rustls::SupportedProtocolVersion> =
        [(12, &rustls::version::TLS12), (13, &rustls::version::TLS13)]
            .into_iter()
            .filter(|(v, _)| (min..=max).contains(v))
            .map(|(_, p)| p)
            .collect();
    let builder = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&versions)
        .map_err(|e| format!("tls_server_config: {e}"))?;
    let builder = match verifier {
        Some(v) => builder.with_client_cert_verifier(v),
        None => builder.with_no_client_auth(),
    };
    let mut config = builder.with_single_cert(chain, key).map_err(|e| {
        format!("tls_server_config: the certificate and key do not go together: {e}")
    })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    // The toolkit's default is true: the server's order of suites wins.
    config.ignore_client_order = t.prefer_server_cipher_suites.unwrap_or(true);
    Ok((Some(Arc::new(config)), client_certs))
}

fn client_verifier(
    ca: &[u8],
    certs: ClientCerts,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<dyn rustls::server::danger::ClientCertVerifier>, String> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca) {
        let cert = cert.map_err(|e| format!("tls_server_config: the client CA is not PEM: {e}"))?;
        roots
            .add(cert)
            .map_err(|e| format!("tls_server_config: a client CA certificate is unusable: {e}"))?;
    }
    if roots.is_empty() {
        return Err("tls_server_config: no certificate in client_ca/client_ca_file".into());
    }
    let builder =
        WebPkiClientVerifier::builder_with_provider(Arc::new(roots), Arc::clone(provider));
    let builder = if certs == ClientCerts::VerifiedIfGiven {
        builder.allow_unauthenticated()
    } else {
        builder
    };
    builder
        .build()
        .map_err(|e| format!("tls_server_config: the client CA is unusable: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A directory with a self-signed server certificate and key
    /// (`server.crt`, `server.key`) and a CA (`ca.crt`).
    fn certs(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("web-config-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        std::fs::write(dir.join("server.crt"), cert.pem()).unwrap();
        std::fs::write(dir.join("server.key"), key.serialize_pem()).unwrap();
        std::fs::write(dir.join("ca.crt"), cert.pem()).unwrap();
        let other = rcgen::KeyPair::generate().unwrap();
        std::fs::write(dir.join("other.key"), other.serialize_pem()).unwrap();
        dir
    }

    const HASH: &str = "$2y$12$L6Bc/AlTQHyd9liGgGEZyOFLPHNgyxeEPfgYfBCVxJ7JIlwxyVU3u";

    #[test]
    fn a_complete_file_loads() {
        let dir = certs("good");
        let text = format!(
            "# comment\ntls_server_config:\n  cert_file: server.crt\n  key_file: {}\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n  min_version: TLS13\n  prefer_server_cipher_suites: false\nhttp_server_config:\n  http2: false\n  headers:\n    X-Frame-Options: deny\n    Strict-Transport-Security: max-age=31536000\n    X-XSS-Protection: ''\nbasic_auth_users:\n  alice: {HASH}\n  bob: '{HASH}'\n",
            dir.join("server.key").display()
        );
        let path = dir.join("web.yml");
        std::fs::write(&path, text).unwrap();
        let c = WebConfig::load(&path).unwrap();
        assert_eq!(c.client_certs, ClientCerts::Required);
        let tls = c.tls.as_ref().unwrap();
        assert_eq!(tls.alpn_protocols, vec![b"http/1.1".to_vec()]);
        assert!(!tls.ignore_client_order);
        assert_eq!(c.access.user_count(), 2);
        assert_eq!(c.access.header_count(), 2, "the blank one is unset");
        let debug = format!("{c:?}");
        assert!(!debug.contains("$2y$"), "{debug}");
    }

    #[test]
    fn empty_files_and_auth_without_tls_are_valid() {
        for text in ["", "# nothing\n", "---\n", "{}"] {
            let c = WebConfig::parse(text, Path::new(".")).unwrap();
            assert!(c.tls.is_none() && c.access.is_open(), "{text:?}");
        }
        let c =
            WebConfig::parse(&format!("basic_auth_users:\n  a: {HASH}\n"), Path::new(".")).unwrap();
        assert!(c.tls.is_none());
        assert_eq!(c.access.user_count(), 1);
        // Only a version: TLS stays off, as in the toolkit.
        let c =
            WebConfig::parse("tls_server_config:\n  min_version: TLS13\n", Path::new(".")).unwrap();
        assert!(c.tls.is_none());
    }

    #[test]
    fn inline_pem_works_too() {
        let dir = certs("inline");
        let cert = std::fs::read_to_string(dir.join("server.crt")).unwrap();
        let key = std::fs::read_to_string(dir.join("server.key")).unwrap();
        let indent = |s: &str| s.lines().map(|l| format!("    {l}\n")).collect::<String>();
        let text = format!(
            "tls_server_config:\n  cert: |\n{}  key: |\n{}",
            indent(&cert),
            indent(&key)
        );
        assert!(
            WebConfig::parse(&text, Path::new("/"))
                .unwrap()
                .tls
                .is_some()
        );
    }

    #[test]
    fn each_bad_file_says_what_is_wrong_in_one_line() {
        let dir = certs("bad");
        let tls = |extra: &str| {
            format!("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n{extra}")
        };
        let cases: Vec<(String, &str)> = vec![
            ("basic_auth_users: 'open\n".into(), "quoted scalar"),
            ("nonsense: 1\n".into(), "unknown field `nonsense`"),
            (tls("  cert_flie: x\n"), "unknown field `cert_flie`"),
            (
                "http_server_config:\n  header: {}\n".into(),
                "unknown field `header`",
            ),
            (
                format!("basic_auth_users:\n  alice: {HASH}\n  eve: plaintext\n"),
                "user \"eve\": the password is not a bcrypt hash",
            ),
            (
                format!("basic_auth_users:\n  'a:b': {HASH}\n"),
                "cannot hold ':'",
            ),
            (
                "basic_auth_users: \"$2y$04$secret\"\n".into(),
                "basic_auth_users: invalid type: a string, expected a map of strings",
            ),
            (
                format!("basic_auth_users:\n  alice: {HASH}\n  alice: {HASH}\n"),
                "basic_auth_users: \"alice\" is listed twice",
            ),
            (
                "http_server_config:\n  headers:\n    X-Frame-Options: deny\n    X-Frame-Options: deny\n".into(),
                "\"X-Frame-Options\" is listed twice",
            ),
            (
                "tls_server_config:\n  cert_file: missing.crt\n  key_file: server.key\n".into(),
                "tls_server_config.cert_file (",
            ),
            (
                "tls_server_config:\n  cert_file: server.crt\n".into(),
                "missing one of key or key_file",
            ),
            (
                "tls_server_config:\n  key_file: server.key\n".into(),
                "missing one of cert or cert_file",
            ),
            (
                "tls_server_config:\n  cert_file: server.key\n  key_file: server.key\n".into(),
                "no certificate in cert/cert_file",
            ),
            (
                "tls_server_config:\n  cert_file: server.crt\n  key_file: server.crt\n".into(),
                "no usable private key",
            ),
            (
                "tls_server_config:\n  cert_file: server.crt\n  key_file: other.key\n".into(),
                "do not go together",
            ),
            (tls("  min_version: TLS11\n"), "TLS11 is not supported"),
            (tls("  min_version: SSL3\n"), "unknown TLS version \"SSL3\""),
            (
                tls("  min_version: TLS13\n  max_version: TLS12\n"),
                "min_version is above max_version",
            ),
            (
                tls("  cipher_suites: [TLS_AES_128_GCM_SHA256]\n"),
                "cipher_suites is not supported",
            ),
            (
                tls("  curve_preferences: [X25519]\n"),
                "curve_preferences is not supported",
            ),
            (
                tls("  client_allowed_sans: [a]\n"),
                "client_allowed_sans is not supported",
            ),
            (
                tls("  client_auth_type: RequireAndVerifyClientCert\n"),
                "RequireAndVerifyClientCert needs client_ca_file",
            ),
            (
                tls("  client_auth_type: RequireAnyClientCert\n"),
                "RequireAnyClientCert is not supported",
            ),
            (
                tls("  client_auth_type: Sometimes\n"),
                "unknown value \"Sometimes\"",
            ),
            (
                tls("  client_ca_file: ca.crt\n"),
                "client_auth_type is NoClientCert",
            ),
            (
                tls("  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: nope.crt\n"),
                "tls_server_config.client_ca_file (",
            ),
            (
                tls(
                    "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: server.key\n",
                ),
                "no certificate in client_ca",
            ),
            (tls("  cert: inline\n"), "cert and cert_file are both set"),
            (
                "rate_limit:\n  interval: 1s\n  burst: 2\n".into(),
                "rate_limit is not supported",
            ),
            (
                "http_server_config:\n  headers:\n    Server: me\n".into(),
                "\"Server\" cannot be set",
            ),
            (
                "http_server_config:\n  headers:\n    X-Frame-Options: allow\n".into(),
                "X-Frame-Options must be one of deny, sameorigin",
            ),
            (
                "http_server_config:\n  headers:\n    X-Content-Type-Options: sniff\n".into(),
                "must be one of nosniff",
            ),
        ];
        for (text, says) in cases {
            let e = WebConfig::parse(&text, &dir)
                .err()
                .unwrap_or_else(|| panic!("{text} loaded"));
            assert!(e.contains(says), "{text}\n=> {e}\n(wanted {says})");
            assert!(!e.contains('\n'), "{e}");
            assert!(!e.contains("$2y$"), "a hash was echoed: {e}");
            assert!(!e.contains("PRIVATE KEY"), "a key was echoed: {e}");
        }
        // The file itself: unreadable, not UTF-8.
        let e = WebConfig::load(&dir.join("absent.yml")).unwrap_err();
        assert!(
            e.starts_with("the file (") && e.contains("absent.yml"),
            "{e}"
        );
        std::fs::write(dir.join("bin.yml"), [0xff, 0xfe]).unwrap();
        assert_eq!(
            WebConfig::load(&dir.join("bin.yml")).unwrap_err(),
            "the file is not UTF-8"
        );
    }
}
