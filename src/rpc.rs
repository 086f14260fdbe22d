//! Solana JSON-RPC access shared by every Solana-side collector.
//!
//! We use `solana-rpc-client`'s nonblocking `RpcClient` for its typed methods
//! and response types, but give it our own transport ([`Transport`], an
//! `RpcSender`) instead of its `HttpSender`, for three reasons:
//! - `HttpSender` sleeps and retries on HTTP 429 up to five times inside one
//!   call, which would blow the poll deadline and hide the rate limit; we want
//!   one request, a `rate_limited` error, and the `Retry-After` remembered so the
//!   next polls skip the endpoint until then.
//! - Errors must never carry the URL: RPC URLs often hold API keys in the path
//!   or query, and reqwest puts the URL in its error text.
//! - Every request and response byte is counted per collector
//!   (`psyche_exporter_upstream_*`).

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::header::{CONTENT_TYPE, RETRY_AFTER};
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_rpc_client::rpc_sender::{RpcSender, RpcTransportStats};
use solana_rpc_client_api::client_error::{Error as ClientError, ErrorKind as ClientErrorKind};
use solana_rpc_client_api::request::{RpcError, RpcRequest, RpcResponseErrorData};

use solana_account_decoder_client_types::{
    UiAccount, UiAccountData, UiAccountEncoding, UiDataSliceConfig,
};
use solana_pubkey::Pubkey;
use solana_rpc_client_api::config::{RpcAccountInfoConfig, RpcProgramAccountsConfig};
use solana_rpc_client_api::filter::{Memcmp, RpcFilterType};

use crate::error::{CollectError, error_chain};
pub use crate::limits::Backoff;
use crate::limits::{read_capped, wait_after_429};
use crate::poller::Stats;

/// JSON-RPC "node is unhealthy" (Agave's `JSON_RPC_SERVER_ERROR_NODE_UNHEALTHY`).
pub const NODE_UNHEALTHY: i64 = -32005;

/// An RPC URL that may carry a secret. It prints as its [`endpoint`](Self::endpoint)
/// only, so it can go into logs and `Debug` output safely.
#[derive(Clone, PartialEq, Eq)]
pub struct RpcUrl {
    url: url::Url,
    endpoint: String,
}

impl RpcUrl {
    /// `scheme://host[:port]`: the only form of the URL that may appear in
    /// labels, logs and pages.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The full URL, for making requests only.
    pub fn expose(&self) -> &url::Url {
        &self.url
    }
}

impl FromStr for RpcUrl {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // The message must not echo the input: it may be a URL with a key.
        let url = url::Url::parse(s).map_err(|e| format!("not a valid URL ({e})"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!(
                "scheme must be http or https, not {:?}",
                url.scheme()
            ));
        }
        let host = url.host_str().ok_or_else(|| "URL has no host".to_owned())?;
        let endpoint = match url.port() {
            Some(port) => format!("{}://{}:{}", url.scheme(), host, port),
            None => format!("{}://{}", url.scheme(), host),
        };
        Ok(RpcUrl { url, endpoint })
    }
}

impl fmt::Debug for RpcUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.endpoint)
    }
}

impl fmt::Display for RpcUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.endpoint)
    }
}

/// A reqwest client with the two limits every upstream call gets.
pub fn http_client(timeout: Duration) -> Result<reqwest::Client, CollectError> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(3)))
        .user_agent(concat!("psyche-exporter/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| CollectError::Http {
            what: "client".into(),
            message: error_chain(&e.without_url()),
        })
}

/// Our `RpcSender`: one POST per call, no retries, counted, URL-free errors.
struct Transport {
    http: reqwest::Client,
    url: RpcUrl,
    stats: Arc<Stats>,
    backoff: Arc<Backoff>,
    next_id: std::sync::atomic::AtomicU64,
}

/// A typed RPC client for one endpoint, over [`Transport`].
pub struct Rpc {
    /// The typed client.
    pub client: RpcClient,
    /// The endpoint's back-off state.
    pub backoff: Arc<Backoff>,
    /// The endpoint (redacted URL).
    pub url: RpcUrl,
}

impl fmt::Debug for Rpc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rpc").field("url", &self.url).finish()
    }
}

impl Rpc {
    /// A client for `url` that counts into `stats`.
    pub fn new(http: reqwest::Client, url: RpcUrl, stats: Arc<Stats>) -> Self {
        let backoff = Arc::new(Backoff::default());
        let transport = Transport {
            http,
            url: url.clone(),
            stats,
            backoff: Arc::clone(&backoff),
            next_id: std::sync::atomic::AtomicU64::new(1),
        };
        let client = RpcClient::new_sender(
            transport,
            solana_rpc_client::rpc_client::RpcClientConfig::with_commitment(
                solana_commitment_config::CommitmentConfig::confirmed(),
            ),
        );
        Rpc {
            client,
            backoff,
            url,
        }
    }
}

/// An account's data, base64 (and zstd) undone, of at most `max` bytes: more is an
/// error, never a truncation (a node that ignores `dataSlice` sends other bytes than
/// asked). A node may answer `base64+zstd` even when `base64` was asked; its output is
/// inflated into a buffer of `max` bytes at most, so a compression bomb costs `max`
/// bytes, not what it expands to. Any other encoding is an error.
pub fn account_bytes(ui: &UiAccount, max: usize) -> Result<Vec<u8>, String> {
    use base64::Engine as _;
    let UiAccountData::Binary(blob, encoding) = &ui.data else {
        return Err("account data not in base64".into());
    };
    // base64 is 4 characters per 3 bytes: refuse before decoding what cannot fit.
    let limit = |n: usize| n.saturating_add(2) / 3 * 4 + 4;
    match encoding {
        UiAccountEncoding::Base64 => {
            if blob.len() > limit(max) {
                return Err(format!("more than the {max} bytes asked for"));
            }
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(blob)
                .map_err(|e| format!("bad base64: {e}"))?;
            if bytes.len() > max {
                return Err(format!("more than the {max} bytes asked for"));
            }
            Ok(bytes)
        }
        UiAccountEncoding::Base64Zstd => {
            let packed = base64::engine::general_purpose::STANDARD
                .decode(blob)
                .map_err(|e| format!("bad base64: {e}"))?;
            zstd::bulk::decompress(&packed, max)
                .map_err(|e| format!("zstd data that does not inflate to at most {max} bytes: {e}"))
        }
        other => Err(format!("account data encoded as {other:?}")),
    }
}

/// The most bytes a JSON-RPC answer of `method` may have. The account methods carry
/// at most 100 windows of a 119 KB account (about 16 MB as base64) or a program's
/// small accounts; the others are a few KB.
pub fn body_cap(method: &str) -> usize {
    match method {
        "getMultipleAccounts" | "getProgramAccounts" => 32 << 20,
        "getSignaturesForAddress" | "getTransaction" => 4 << 20,
        _ => 1 << 20,
    }
}

/// `getMultipleAccounts` takes at most 100 addresses.
pub const MAX_ACCOUNTS_PER_CALL: usize = 100;

impl Rpc {
    /// How errors name a request: endpoint and method, never the URL.
    pub fn what(&self, method: &str) -> String {
        format!("{} {method}", self.url.endpoint())
    }

    /// `getMultipleAccounts` of `addresses` in batches of 100, in order (`None`
    /// for an account that does not exist), optionally cut to `slice`.
    pub async fn multiple_accounts(
        &self,
        addresses: &[Pubkey],
        slice: Option<UiDataSliceConfig>,
        encoding: UiAccountEncoding,
    ) -> Result<Vec<Option<UiAccount>>, CollectError> {
        let mut out = Vec::with_capacity(addresses.len());
        for chunk in addresses.chunks(MAX_ACCOUNTS_PER_CALL) {
            let config = RpcAccountInfoConfig {
                encoding: Some(encoding),
                data_slice: slice,
                ..RpcAccountInfoConfig::default()
            };
            let response = self
                .client
                .get_multiple_ui_accounts_with_config(chunk, config)
                .await
                .map_err(|e| classify(&self.what("getMultipleAccounts"), e))?;
            if response.value.len() != chunk.len() {
                return Err(CollectError::Decode {
                    what: self.what("getMultipleAccounts"),
                    message: format!(
                        "asked for {} accounts, got {}",
                        chunk.len(),
                        response.value.len()
                    ),
                });
            }
            out.extend(response.value);
        }
        Ok(out)
    }

    /// One `getProgramAccounts` for the Anchor accounts of one type under
    /// `program`: filtered by `dataSize` and a `memcmp` on the discriminator,
    /// optionally cut to `slice` (a zero-length slice only counts them).
    pub async fn anchor_accounts(
        &self,
        program: &Pubkey,
        size: usize,
        discriminator: &[u8; 8],
        slice: Option<UiDataSliceConfig>,
    ) -> Result<Vec<(Pubkey, UiAccount)>, CollectError> {
        let config = RpcProgramAccountsConfig {
            filters: Some(vec![
                RpcFilterType::DataSize(size as u64),
                RpcFilterType::Memcmp(Memcmp::new_base58_encoded(0, discriminator)),
            ]),
            account_config: RpcAccountInfoConfig {
                encoding: Some(UiAccountEncoding::Base64),
                data_slice: slice,
                ..RpcAccountInfoConfig::default()
            },
            ..RpcProgramAccountsConfig::default()
        };
        self.client
            .get_program_ui_accounts_with_config(program, config)
            .await
            .map_err(|e| classify(&self.what("getProgramAccounts"), e))
    }
}

#[async_trait]
impl RpcSender for Transport {
    async fn send(
        &self,
        request: RpcRequest,
        params: serde_json::Value,
    ) -> solana_rpc_client_api::client_error::Result<serde_json::Value> {
        let method = request.to_string();
        let what = format!("{} {method}", self.url.endpoint());
        let id = self
            .next_id
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let body = request.build_request_json(id, params).to_string();
        let response = self
            .http
            .post(self.url.expose().clone())
            .header(CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| custom(CollectError::from_reqwest(&what, e)))?;
        let status = response.status();
        if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            let retry_after = crate::error::retry_after(
                response.headers().get(RETRY_AFTER),
                std::time::SystemTime::now(),
            );
            // Without a Retry-After the next poll asks again.
            let wait = wait_after_429(None, retry_after, None);
            if let Some(wait) = wait {
                self.backoff.set(wait);
            }
            self.stats.request(&method, 0);
            return Err(custom(CollectError::RateLimited {
                what,
                retry_after: wait,
            }));
        }
        let bytes = read_capped(response, body_cap(&method), &what).await;
        let bytes = match bytes {
            Ok(bytes) => bytes,
            Err(e) => {
                self.stats.request(&method, 0);
                return Err(custom(e));
            }
        };
        self.stats.request(&method, bytes.len() as u64);
        if !status.is_success() {
            return Err(custom(CollectError::Status {
                what,
                status: status.as_u16(),
            }));
        }
        let mut json: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
            custom(CollectError::Decode {
                what: what.clone(),
                message: format!("malformed JSON-RPC response: {e}"),
            })
        })?;
        if let Some(error) = json.get("error").filter(|e| e.is_object()) {
            let code = error.get("code").and_then(|c| c.as_i64()).unwrap_or(0);
            let message = error
                .get("message")
                .and_then(|m| m.as_str())
                .unwrap_or("")
                .to_owned();
            // Some providers report throttling inside the JSON-RPC body.
            if code == 429 {
                return Err(custom(CollectError::RateLimited {
                    what,
                    retry_after: None,
                }));
            }
            let data = if code == NODE_UNHEALTHY {
                RpcResponseErrorData::NodeUnhealthy {
                    num_slots_behind: error
                        .get("data")
                        .and_then(|d| d.get("numSlotsBehind"))
                        .and_then(|n| n.as_u64()),
                }
            } else {
                RpcResponseErrorData::Empty
            };
            return Err(RpcError::RpcResponseError {
                code,
                message,
                data,
            }
            .into());
        }
        match json.get_mut("result") {
            Some(result) => Ok(result.take()),
            None => Err(custom(CollectError::Decode {
                what,
                message: "JSON-RPC response has neither result nor error".into(),
            })),
        }
    }

    fn get_transport_stats(&self) -> RpcTransportStats {
        RpcTransportStats::default()
    }

    fn url(&self) -> String {
        self.url.endpoint().to_owned()
    }
}

/// Smuggle our classified error through `ClientError`; [`classify`] unpacks it.
fn custom(err: CollectError) -> ClientError {
    ClientError::from(ClientErrorKind::Middleware(anyhow::Error::new(err)))
}

/// Turn what `RpcClient` returned into our error, keeping the kind our
/// transport decided on. `what` names the endpoint and method.
pub fn classify(what: &str, err: ClientError) -> CollectError {
    match *err.kind {
        ClientErrorKind::Middleware(inner) => match inner.downcast::<CollectError>() {
            Ok(e) => e,
            Err(other) => CollectError::Http {
                what: what.into(),
                message: other.to_string(),
            },
        },
        ClientErrorKind::RpcError(RpcError::RpcResponseError { code, message, .. }) => {
            CollectError::Rpc {
                method: what.into(),
                code,
                message,
            }
        }
        ClientErrorKind::RpcError(other) => CollectError::Decode {
            what: what.into(),
            message: other.to_string(),
        },
        ClientErrorKind::SerdeJson(e) => CollectError::Decode {
            what: what.into(),
            message: e.to_string(),
        },
        ClientErrorKind::Reqwest(e) => CollectError::from_reqwest(what, e),
        other => CollectError::Http {
            what: what.into(),
            message: other.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_keeps_only_scheme_host_port() {
        let u: RpcUrl = "https://mainnet.helius-rpc.com/?api-key=SECRET"
            .parse()
            .unwrap();
        assert_eq!(u.endpoint(), "https://mainnet.helius-rpc.com");
        assert_eq!(
            format!("{u:?} {u}"),
            "https://mainnet.helius-rpc.com https://mainnet.helius-rpc.com"
        );
        let u: RpcUrl = "http://user:pw@127.0.0.1:8899/SECRET/path".parse().unwrap();
        assert_eq!(u.endpoint(), "http://127.0.0.1:8899");
        assert!("ftp://x".parse::<RpcUrl>().is_err());
        assert!("not a url".parse::<RpcUrl>().is_err());
    }

    fn ui(data: &[u8], zstd: bool) -> UiAccount {
        use base64::Engine as _;
        let (bytes, encoding) = if zstd {
            (
                zstd::bulk::compress(data, 3).unwrap(),
                UiAccountEncoding::Base64Zstd,
            )
        } else {
            (data.to_vec(), UiAccountEncoding::Base64)
        };
        UiAccount {
            lamports: 1,
            data: UiAccountData::Binary(
                base64::engine::general_purpose::STANDARD.encode(bytes),
                encoding,
            ),
            owner: String::new(),
            executable: false,
            rent_epoch: 0,
            space: None,
        }
    }

    #[test]
    fn account_bytes_are_bounded_whatever_the_encoding() {
        let data = vec![7u8; 552];
        for zstd in [false, true] {
            assert_eq!(account_bytes(&ui(&data, zstd), 552), Ok(data.clone()));
            assert!(account_bytes(&ui(&data, zstd), 551).is_err());
        }
        // A bomb: 64 MiB of zeros packs into a few KB; it never inflates past the cap.
        let bomb = ui(&vec![0u8; 64 << 20], true);
        let UiAccountData::Binary(blob, _) = &bomb.data else {
            unreachable!()
        };
        assert!(blob.len() < 16 << 10, "{}", blob.len());
        let err = account_bytes(&bomb, 552).unwrap_err();
        assert!(err.contains("at most 552 bytes"), "{err}");
        let json = UiAccount {
            data: UiAccountData::LegacyBinary("abc".into()),
            ..ui(&data, false)
        };
        assert!(account_bytes(&json, 552).is_err());
    }

    #[test]
    fn parse_error_does_not_echo_the_input() {
        let err = "https://[bad/SECRET".parse::<RpcUrl>().unwrap_err();
        assert!(!err.contains("SECRET"), "{err}");
    }
}
