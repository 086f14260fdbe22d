//! Writing families from snapshots, and choosing the wire format of a scrape.
//!
//! Both formats come from the same registry: OpenMetrics 1.0 text
//! (`prometheus_client::encoding::text`) when the scraper asks for it, as
//! Prometheus does, else the classic 0.0.4 text format
//! (`prometheus_client::encoding::prometheus_text`), which renames counter and
//! info families (`foo` → `foo_total`, `foo_info`) the way 0.0.4 parsers and
//! `promtool check metrics` expect.

use std::fmt;

use bytes::Bytes;

use prometheus_client::encoding::{
    DescriptorEncoder, EncodeCounterValue, EncodeGaugeValue, EncodeLabelSet, NoLabelSet,
};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::{Registry, Unit};

/// `Content-Type` of an OpenMetrics 1.0 response.
pub const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
/// `Content-Type` of a 0.0.4 text response.
pub const TEXT_004: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// A wire format for `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// OpenMetrics 1.0 text.
    OpenMetrics = 0,
    /// Prometheus text format 0.0.4.
    Text = 1,
}

impl Format {
    /// The format to answer an `Accept` header with, chosen as Go's
    /// `expfmt.NegotiateIncludingOpenMetrics` does: media ranges in order of
    /// `q`, the first OpenMetrics (version 0.0.1, 1.0.0 or none) or
    /// `text/plain` (version 0.0.4 or none) wins; anything else is 0.0.4 text.
    pub fn negotiate(accept: Option<&str>) -> Format {
        let Some(accept) = accept else {
            return Format::Text;
        };
        let mut ranges: Vec<(f32, usize, &str, Option<&str>)> = Vec::new();
        for (i, part) in accept.split(',').enumerate() {
            let mut params = part.split(';').map(str::trim);
            let media = params.next().unwrap_or("");
            let mut q = 1.0f32;
            let mut version = None;
            for p in params {
                if let Some((k, v)) = p.split_once('=') {
                    match k.trim() {
                        "q" => q = v.trim().parse().unwrap_or(0.0),
                        "version" => version = Some(v.trim()),
                        _ => {}
                    }
                }
            }
            ranges.push((q, i, media, version));
        }
        ranges.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        for (q, _, media, version) in ranges {
            if q <= 0.0 {
                continue;
            }
            match media {
                "application/openmetrics-text"
                    if matches!(version, None | Some("0.0.1" | "1.0.0")) =>
                {
                    return Format::OpenMetrics;
                }
                "text/plain" if matches!(version, None | Some("0.0.4")) => return Format::Text,
                _ => {}
            }
        }
        Format::Text
    }

    /// The `Content-Type` of a response in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::OpenMetrics => OPENMETRICS,
            Format::Text => TEXT_004,
        }
    }

    /// Encode `registry` in this format.
    pub fn encode(self, registry: &Registry) -> Result<String, fmt::Error> {
        let mut out = String::with_capacity(16 * 1024);
        match self {
            Format::OpenMetrics => prometheus_client::encoding::text::encode(&mut out, registry)?,
            Format::Text => {
                prometheus_client::encoding::prometheus_text::encode(&mut out, registry)?
            }
        }
        Ok(out)
    }
}

/// Encoded families as shared chunks (see [`ChunkWriter`]).
pub type Body = std::sync::Arc<[Bytes]>;

/// Encode the families `collector` writes in `format`, into chunks (no
/// OpenMetrics `# EOF`: the scrape appends it once).
pub fn render(
    format: Format,
    collector: Box<dyn prometheus_client::collector::Collector>,
) -> Result<Body, fmt::Error> {
    let mut registry = Registry::default();
    registry.register_collector(collector);
    let mut out = ChunkWriter::default();
    match format {
        Format::OpenMetrics => {
            prometheus_client::encoding::text::encode_registry(&mut out, &registry)?
        }
        Format::Text => prometheus_client::encoding::prometheus_text::encode(&mut out, &registry)?,
    }
    Ok(out.finish().into())
}

/// How much encoded text one [`ChunkWriter`] chunk holds.
pub const CHUNK_BYTES: usize = 64 * 1024;

/// A `fmt::Write` that fills fixed-size chunks instead of one growing string.
///
/// Encoding a thousand runs yields megabytes of text. A `String` grows by
/// doubling, so the last copy briefly holds twice the final size, and the
/// freed large blocks raise glibc's mmap threshold and stay resident. Chunks
/// of [`CHUNK_BYTES`] are allocated once each at their final size, cost at
/// most one chunk of slack, and go to the response body as they are: the
/// HTTP body is a list of chunks anyway. A chunk may end inside a UTF-8
/// sequence; only the concatenation is text.
#[derive(Debug, Default)]
pub struct ChunkWriter {
    done: Vec<Bytes>,
    current: Vec<u8>,
}

impl ChunkWriter {
    /// The chunks written, in order; none for no text.
    pub fn finish(mut self) -> Vec<Bytes> {
        if !self.current.is_empty() {
            self.done.push(Bytes::from(self.current));
        }
        self.done
    }
}

impl fmt::Write for ChunkWriter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let mut rest = s.as_bytes();
        while !rest.is_empty() {
            if self.current.capacity() == 0 {
                self.current = Vec::with_capacity(CHUNK_BYTES);
            }
            let n = (CHUNK_BYTES - self.current.len()).min(rest.len());
            self.current.extend_from_slice(&rest[..n]);
            rest = &rest[n..];
            if self.current.len() == CHUNK_BYTES {
                self.done
                    .push(Bytes::from(std::mem::take(&mut self.current)));
            }
        }
        Ok(())
    }
}

/// Write one gauge family; nothing at all when `samples` is empty, so a
/// family with no current entity leaves the exposition.
pub fn gauge<L, V>(
    out: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    unit: Option<&Unit>,
    samples: impl IntoIterator<Item = (L, V)>,
) -> fmt::Result
where
    L: EncodeLabelSet,
    V: EncodeGaugeValue,
{
    let mut samples = samples.into_iter().peekable();
    if samples.peek().is_none() {
        return Ok(());
    }
    let mut family = out.encode_descriptor(name, help, unit, MetricType::Gauge)?;
    for (labels, value) in samples {
        family.encode_family(&labels)?.encode_gauge(&value)?;
    }
    Ok(())
}

/// Write one counter family (the encoder adds `_total`).
pub fn counter<L, V>(
    out: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    unit: Option<&Unit>,
    samples: impl IntoIterator<Item = (L, V)>,
) -> fmt::Result
where
    L: EncodeLabelSet,
    V: EncodeCounterValue,
{
    let mut samples = samples.into_iter().peekable();
    if samples.peek().is_none() {
        return Ok(());
    }
    let mut family = out.encode_descriptor(name, help, unit, MetricType::Counter)?;
    for (labels, value) in samples {
        family
            .encode_family(&labels)?
            .encode_counter::<NoLabelSet, _, u64>(&value, None)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_writer_fills_whole_chunks_and_keeps_every_byte() {
        use std::fmt::Write as _;
        assert!(ChunkWriter::default().finish().is_empty());
        let mut w = ChunkWriter::default();
        let mut expected = String::new();
        // Pieces of odd sizes, one bigger than a chunk, with multi-byte text.
        for (i, piece) in [
            "é",
            &"x".repeat(CHUNK_BYTES + 7),
            "ünïcode",
            &"y".repeat(999),
        ]
        .iter()
        .cycle()
        .take(40)
        .enumerate()
        {
            write!(w, "{i}{piece}").unwrap();
            write!(expected, "{i}{piece}").unwrap();
        }
        let chunks = w.finish();
        let (last, full) = chunks.split_last().unwrap();
        assert!(full.iter().all(|c| c.len() == CHUNK_BYTES));
        assert!(!last.is_empty() && last.len() <= CHUNK_BYTES);
        let joined: Vec<u8> = chunks.iter().flat_map(|c| c.to_vec()).collect();
        assert_eq!(joined, expected.as_bytes());
    }

    #[test]
    fn negotiation_follows_the_go_client() {
        use Format::*;
        assert_eq!(Format::negotiate(None), Text);
        assert_eq!(Format::negotiate(Some("*/*")), Text);
        assert_eq!(Format::negotiate(Some("text/plain")), Text);
        // What Prometheus 2.x/3.x sends.
        assert_eq!(
            Format::negotiate(Some(
                "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
            )),
            OpenMetrics
        );
        assert_eq!(
            Format::negotiate(Some(
                "text/plain;version=0.0.4;q=0.9,application/openmetrics-text;q=0.5"
            )),
            Text
        );
        assert_eq!(
            Format::negotiate(Some(
                "text/plain;q=0.1,application/openmetrics-text;version=1.0.0"
            )),
            OpenMetrics
        );
        assert_eq!(
            Format::negotiate(Some("application/openmetrics-text;version=2.0.0")),
            Text
        );
        assert_eq!(
            Format::negotiate(Some("application/openmetrics-text;q=0")),
            Text
        );
    }
}

/// A body compressed once, so that a gzip scrape never compresses what a poll
/// already produced: a run of raw-deflate blocks that ends on a sync flush
/// (byte-aligned, not final), with the CRC-32 and length of what it inflates to.
/// Segments are joined into one valid gzip member by [`gzip_stream`] without
/// recompressing (a deflate stream is a sequence of blocks; each segment's
/// back-references stay inside it).
#[derive(Debug, Clone)]
pub struct Gzipped {
    /// The deflate blocks.
    pub deflate: Bytes,
    /// CRC-32 of the uncompressed bytes.
    pub crc: crc32fast::Hasher,
    /// Length of the uncompressed bytes.
    pub len: u64,
}

/// Compress `chunks` into one segment (zlib level 6).
pub fn deflate_segment(chunks: &[Bytes]) -> Gzipped {
    use std::io::Write as _;
    let size: usize = chunks.iter().map(Bytes::len).sum();
    let mut encoder = flate2::write::DeflateEncoder::new(
        Vec::with_capacity(size / 6 + 64),
        flate2::Compression::new(6),
    );
    let mut crc = crc32fast::Hasher::new();
    for c in chunks {
        crc.update(c);
        // Writing into a Vec cannot fail.
        let _ = encoder.write_all(c);
    }
    // A sync flush: the blocks so far, then an empty stored block, byte-aligned.
    let _ = encoder.flush();
    let deflate = Bytes::from(std::mem::take(encoder.get_mut()));
    Gzipped {
        deflate,
        crc,
        len: size as u64,
    }
}

/// One gzip member (RFC 1952) made of `segments` in order: the header, each
/// segment's blocks, a final empty block, and the CRC-32 and length of the whole,
/// combined from the segments' own.
pub fn gzip_stream<'a>(segments: impl IntoIterator<Item = &'a Gzipped>) -> Vec<Bytes> {
    const HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    // BFINAL=1, BTYPE=01 (fixed Huffman), end-of-block: the empty final block.
    const FINAL: [u8; 2] = [0x03, 0x00];
    let mut out = vec![Bytes::from_static(&HEADER)];
    let mut crc = crc32fast::Hasher::new();
    let mut len: u64 = 0;
    for s in segments {
        out.push(s.deflate.clone());
        crc.combine(&s.crc);
        len = len.wrapping_add(s.len);
    }
    out.push(Bytes::from_static(&FINAL));
    let mut trailer = Vec::with_capacity(8);
    trailer.extend_from_slice(&crc.finalize().to_le_bytes());
    // ISIZE is the length modulo 2^32.
    trailer.extend_from_slice(&(len as u32).to_le_bytes());
    out.push(Bytes::from(trailer));
    out
}

/// Whether an `Accept-Encoding` value accepts gzip (`gzip` or `*` with a `q`
/// above 0, and gzip not refused by name).
pub fn accepts_gzip(accept_encoding: Option<&str>) -> bool {
    let Some(value) = accept_encoding else {
        return false;
    };
    let mut star = false;
    for part in value.split(',') {
        let mut params = part.split(';').map(str::trim);
        let coding = params.next().unwrap_or("").to_ascii_lowercase();
        let q = params
            .filter_map(|p| p.strip_prefix("q="))
            .filter_map(|q| q.trim().parse::<f32>().ok())
            .next()
            .unwrap_or(1.0);
        match coding.as_str() {
            "gzip" | "x-gzip" => return q > 0.0,
            "*" => star = q > 0.0,
            _ => {}
        }
    }
    star
}

#[cfg(test)]
mod gzip_tests {
    use super::*;
    use std::io::Read as _;

    fn gunzip(chunks: &[Bytes]) -> Vec<u8> {
        let all: Vec<u8> = chunks.iter().flat_map(|c| c.iter().copied()).collect();
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&all[..])
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    #[test]
    fn segments_join_into_one_valid_gzip_member() {
        let a = vec![
            Bytes::from("# HELP a x\n# TYPE a gauge\n"),
            Bytes::from("a 1\n".repeat(1000)),
        ];
        let b = vec![Bytes::from("b{x=\"y\"} 2\n".repeat(3000))];
        let empty: Vec<Bytes> = vec![];
        let segs = [
            deflate_segment(&a),
            deflate_segment(&empty),
            deflate_segment(&b),
        ];
        let stream = gzip_stream(&segs);
        let mut want: Vec<u8> = a.iter().flat_map(|c| c.iter().copied()).collect();
        want.extend(b.iter().flat_map(|c| c.iter().copied()));
        assert_eq!(gunzip(&stream), want);
        let wire: usize = stream.iter().map(Bytes::len).sum();
        assert!(wire * 10 < want.len(), "{wire} of {}", want.len());
        // No segment at all is a valid empty member.
        assert!(gunzip(&gzip_stream([])).is_empty());
    }

    #[test]
    fn accept_encoding_is_negotiated() {
        assert!(accepts_gzip(Some("gzip")));
        assert!(accepts_gzip(Some("deflate, gzip;q=0.5")));
        assert!(accepts_gzip(Some("*")));
        assert!(!accepts_gzip(Some("gzip;q=0")));
        assert!(!accepts_gzip(Some("gzip;q=0, *")));
        assert!(!accepts_gzip(Some("identity")));
        assert!(!accepts_gzip(Some("br")));
        assert!(!accepts_gzip(None));
    }
}
