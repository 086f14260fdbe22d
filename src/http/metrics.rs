//! `/metrics` (or `--web.telemetry-path`): the scrape, assembled from every
//! collector's pre-rendered families and the exporter's own.

use std::fmt;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use prometheus_client::registry::Registry;

use super::AppState;
use crate::collectors::spec::Join;
use crate::exposition::{Format, Gzipped, accepts_gzip, deflate_segment, gzip_stream};
use crate::poller::Watched;

/// A whole `/metrics` body in `format`, as chunks: the pre-rendered families of
/// every collector and then of every join (shared, not copied), then what
/// `registry` encodes now (the exporter's own families), then the OpenMetrics
/// `# EOF`.
pub fn scrape(
    format: Format,
    watched: &[Arc<dyn Watched>],
    joins: &[Arc<dyn Join>],
    registry: &Registry,
) -> Result<Vec<Bytes>, fmt::Error> {
    let mut chunks: Vec<Bytes> = Vec::new();
    let bodies = watched
        .iter()
        .filter_map(|w| w.body(format))
        .chain(joins.iter().filter_map(|j| j.body(format)));
    for body in bodies {
        chunks.extend(body.iter().cloned());
    }
    let mut live = String::with_capacity(16 * 1024);
    match format {
        Format::OpenMetrics => {
            prometheus_client::encoding::text::encode_registry(&mut live, registry)?;
            prometheus_client::encoding::text::encode_eof(&mut live)?;
        }
        Format::Text => prometheus_client::encoding::prometheus_text::encode(&mut live, registry)?,
    }
    chunks.push(live.into());
    Ok(chunks)
}

/// The same body gzip-compressed, as chunks of one gzip member: every collector's and
/// join's families as compressed once per snapshot (shared, not compressed again),
/// then the live families compressed now (a few KB).
pub fn scrape_gzip(
    format: Format,
    watched: &[Arc<dyn Watched>],
    joins: &[Arc<dyn Join>],
    registry: &Registry,
) -> Result<Vec<Bytes>, fmt::Error> {
    let mut segments: Vec<Arc<Gzipped>> = watched
        .iter()
        .filter_map(|w| w.gzip_body(format))
        .chain(joins.iter().filter_map(|j| j.gzip_body(format)))
        .collect();
    let live = scrape(format, &[], &[], registry)?;
    segments.push(Arc::new(deflate_segment(&live)));
    Ok(gzip_stream(segments.iter().map(|s| s.as_ref())))
}

/// The `/metrics` handler: the format the `Accept` header negotiates, gzip when
/// `Accept-Encoding` allows it, streamed.
pub async fn metrics(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let format = Format::negotiate(accept);
    let gzip = accepts_gzip(
        headers
            .get(header::ACCEPT_ENCODING)
            .and_then(|v| v.to_str().ok()),
    );
    let chunks = if gzip {
        scrape_gzip(format, &state.watched, &state.joins, &state.registry)
    } else {
        scrape(format, &state.watched, &state.joins, &state.registry)
    };
    match chunks {
        Ok(chunks) => {
            let stream = futures_util::stream::iter(
                chunks.into_iter().map(Ok::<_, std::convert::Infallible>),
            );
            let body = axum::body::Body::from_stream(stream);
            let content_type = (header::CONTENT_TYPE, format.content_type());
            let vary = (header::VARY, "Accept-Encoding");
            if gzip {
                (
                    [content_type, vary, (header::CONTENT_ENCODING, "gzip")],
                    body,
                )
                    .into_response()
            } else {
                ([content_type, vary], body).into_response()
            }
        }
        Err(_) => {
            // Snapshots hold only converted, encodable values, so this is a bug.
            tracing::error!("encoding /metrics failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "encoding failed\n").into_response()
        }
    }
}
