//! The landing page `/`: version, links, the runs, pool and RPC sections, each
//! collector's state. All the exporter's HTML is made here, with one clock (the
//! system's) and one age format ([`views::ago`]) for the whole page.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::State;
use axum::response::Html;

use super::AppState;
use crate::collectors::Collectors;
use crate::health::{REVISION, VERSION};
use crate::poller::Status;
use crate::views::telemetry::{self, LossPoint};
use crate::views::text::{ago, dash, opt, percent, tokens};
use crate::views::{self, Inputs, View};

/// The `/` handler.
pub async fn landing(State(state): State<Arc<AppState>>) -> Html<String> {
    let now = views::unix_now();
    let statuses: Vec<Status> = state.watched.iter().map(|w| w.status()).collect();
    Html(page(
        &state.telemetry_path,
        &statuses,
        now,
        &sections(&state.collectors, now),
    ))
}

/// The landing page: version, links, the `sections` of [`sections`], and each
/// collector's state, its last success aged against `now` (Unix seconds).
pub fn page(telemetry_path: &str, statuses: &[Status], now: i64, sections: &str) -> String {
    let mut rows = String::new();
    for s in statuses {
        let last_success = match s.last_success {
            Some(t) => format!(
                "{} ({} ago)",
                humantime::format_rfc3339_seconds(t),
                ago(now - views::unix(t))
            ),
            None => "never".to_owned(),
        };
        let _ = writeln!(
            rows,
            "<tr><td>{}</td><td class=\"{state}\">{state}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(s.name),
            humantime::format_duration(s.interval),
            last_success,
            if s.fresh { "yes" } else { "no" },
            escape(s.last_error().unwrap_or("")),
            state = s.state(),
        );
    }
    let path = escape(telemetry_path);
    format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Psyche exporter</title>
<style>
body{{font-family:system-ui,sans-serif;margin:2em;max-width:70em}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:.3em .6em;text-align:left}}
progress{{width:8em}}
.spark{{vertical-align:middle;color:#36c}}
.ok{{color:#070}}.partial{{color:#a60}}.failing{{color:#b00}}.pending{{color:#666}}
</style></head>
<body>
<h1>Psyche exporter</h1>
<p>Prometheus exporter for the Psyche decentralized training network. Version {VERSION} (revision {REVISION}).</p>
<ul>
<li><a href="{path}">Metrics</a></li>
<li><a href="/healthz">Liveness</a> · <a href="/readyz">Readiness</a></li>
</ul>
{sections}<h2>Collectors</h2>
<table>
<tr><th>collector</th><th>state</th><th>interval</th><th>last success</th><th>serving data</th><th>last error</th></tr>
{rows}</table>
</body></html>
"#
    )
}

/// An inline SVG line of the per-step mean losses (at least two points; nothing
/// otherwise), oldest on the left, scaled between their min and max, with a text
/// alternative for readers that show no images.
pub fn sparkline_svg(points: &[LossPoint]) -> String {
    const W: f64 = 120.0;
    const H: f64 = 24.0;
    let (Some(first), Some(last)) = (points.first(), points.last()) else {
        return String::new();
    };
    if points.len() < 2 {
        return String::new();
    }
    let (lo, hi) = points
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
            (lo.min(p.loss), hi.max(p.loss))
        });
    let span = f64::from(last.step.saturating_sub(first.step)).max(1.0);
    let mut line = String::new();
    for p in points {
        let x = f64::from(p.step.saturating_sub(first.step)) / span * W;
        let y = if hi > lo {
            (hi - p.loss) / (hi - lo) * (H - 2.0) + 1.0
        } else {
            H / 2.0
        };
        let _ = write!(line, "{x:.1},{y:.1} ");
    }
    format!(
        "<svg class=\"spark\" viewBox=\"0 0 {W} {H}\" width=\"{W}\" height=\"{H}\" role=\"img\" aria-label=\"loss {a:.3} to {b:.3} over steps {s}-{e}\"><title>loss {a:.3} → {b:.3}, steps {s}–{e}</title><polyline fill=\"none\" stroke=\"currentColor\" stroke-width=\"1.5\" points=\"{pts}\"/></svg> ",
        a = first.loss,
        b = last.loss,
        s = first.step,
        e = last.step,
        pts = line.trim_end(),
    )
}

/// The landing page's runs, pool and RPC sections (HTML, no script), with links to
/// every JSON view: the `runs`, `pool` and `network` answers at `now`.
pub fn sections(collectors: &Collectors, now: i64) -> String {
    let run_inputs = Inputs::read(collectors, View::Runs);
    let runs = views::runs(&run_inputs, now);
    let pool = views::pool(&Inputs::read(collectors, View::Pool), now);
    let net = views::network(&Inputs::read(collectors, View::Network), now);
    let mut out = String::new();
    out.push_str("<h2>Training runs</h2>\n");
    if runs.data.runs.is_empty() && runs.data.unsupported_runs.is_empty() {
        out.push_str("<p>No runs to show (see the collectors below).</p>\n");
    } else {
        out.push_str("<table id=\"runs\">\n<tr><th>run</th><th>state</th><th>step</th><th>progress</th><th>epoch</th><th>clients</th><th>checkpoint age</th><th>updated</th><th>loss</th><th>tokens/s</th></tr>\n");
        for r in &runs.data.runs {
            let id = escape(&r.run_id);
            let history = run_inputs
                .telemetry
                .as_deref()
                .and_then(|t| t.run(&r.program, &r.run_id))
                .map(telemetry::loss_history)
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "<tr><td><a href=\"/api/v1/runs/{href}\">{id}</a>{name}</td><td class=\"state-{state}\">{state}</td><td>{step}/{total}</td><td><progress max=\"1\" value=\"{ratio:.4}\">{pct}</progress> {pct}</td><td>{epoch}</td><td>{clients}/{init}</td><td>{ck}</td><td>{upd}</td><td class=\"loss\">{spark}{loss}</td><td>{tps}</td></tr>",
                href = url_segment(&r.run_id),
                name = if r.name.is_empty() || r.name == r.run_id {
                    String::new()
                } else {
                    format!("<br><small>{}</small>", escape(&r.name))
                },
                state = r.state,
                step = r.step,
                total = r.total_steps,
                ratio = r.progress_ratio,
                pct = percent(r.progress_ratio),
                epoch = r.epoch,
                clients = r.clients,
                init = r.init_min_clients,
                ck = r
                    .checkpoint_age_seconds
                    .map_or_else(dash, |a| format!("{} ago", ago(a))),
                upd = r
                    .last_update_age_seconds
                    .map_or_else(dash, |a| format!("{} ago", ago(a))),
                spark = sparkline_svg(&history),
                loss = r.loss.map_or_else(dash, |l| format!("{l:.3}")),
                tps = r.tokens_per_second.map_or_else(dash, telemetry::rate),
            );
        }
        for u in &runs.data.unsupported_runs {
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td class=\"state-unsupported\">unsupported</td><td colspan=\"8\">{}</td></tr>",
                escape(&u.run_id),
                escape(&u.message),
            );
        }
        out.push_str("</table>\n");
    }
    out.push_str("<h2>Mining pool</h2>\n");
    if pool.data.available {
        out.push_str("<table id=\"pool\">\n<tr><th>pool</th><th>capacity</th><th>deposited</th><th>remaining</th><th>fill</th><th>vault</th><th>lenders</th><th>frozen</th><th>claiming</th></tr>\n");
        for p in &pool.data.pools {
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><progress max=\"1\" value=\"{:.4}\"></progress> {}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&p.address),
                tokens(p.max_deposit),
                tokens(p.deposited),
                tokens(p.remaining),
                p.fill_ratio,
                percent(p.fill_ratio),
                p.vault_balance.map_or_else(dash, tokens),
                opt(p.lenders),
                if p.frozen { "yes" } else { "no" },
                if p.claiming_enabled { "yes" } else { "no" },
            );
        }
        out.push_str("</table>\n");
    } else {
        let _ = writeln!(
            out,
            "<p id=\"pool\">{}</p>",
            escape(pool.data.note.as_deref().unwrap_or("no pool data"))
        );
    }
    out.push_str("<h2>RPC endpoints</h2>\n");
    if net.data.endpoints.is_empty() {
        out.push_str("<p>No endpoint readings (see the collectors below).</p>\n");
    } else {
        out.push_str("<table id=\"rpc\">\n<tr><th>endpoint</th><th>up</th><th>cluster</th><th>version</th><th>slot</th><th>lag</th><th>TPS</th><th>error</th></tr>\n");
        for e in &net.data.endpoints {
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td class=\"{}\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&e.endpoint),
                if e.up { "ok" } else { "failing" },
                if e.up { "yes" } else { "no" },
                opt(e.cluster),
                escape(&opt(e.version.as_deref())),
                opt(e.slot_confirmed),
                opt(e.slots_behind),
                e.transactions_per_second
                    .map_or_else(dash, |t| format!("{t:.0}")),
                escape(e.error.as_deref().unwrap_or("")),
            );
        }
        out.push_str("</table>\n");
    }
    out.push_str("<h2>JSON views</h2>\n<ul>\n");
    for (path, what) in [
        ("/api/v1/runs", "every run"),
        (
            "/api/v1/runs/{run_id}",
            "one run in full (follow a run's link above)",
        ),
        (
            "/api/v1/checkpoints",
            "checkpoint commits per repo (?run=<run_id>)",
        ),
        ("/api/v1/pool", "the mining pool"),
        ("/api/v1/network", "RPC endpoints"),
        ("/api/v1/contribute", "where compute and funds are needed"),
    ] {
        if path.contains('{') {
            let _ = writeln!(out, "<li><code>{}</code>: {what}</li>", escape(path));
        } else {
            let _ = writeln!(out, "<li><a href=\"{path}\">{path}</a>: {what}</li>");
        }
    }
    out.push_str("</ul>\n");
    out
}

/// Percent-encode a path segment (run ids are free text on chain).
pub fn url_segment(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Escape text for HTML element content and attribute values; control
/// characters (upstream text may hold `\r` or ESC) show as `\u{1b}`.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_markup() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert_eq!(escape("a\r\u{1b}[0m"), "a\\u{d}\\u{1b}[0m");
    }

    #[test]
    fn url_segment_percent_encodes() {
        assert_eq!(url_segment("a b/ü"), "a%20b%2F%C3%BC");
    }
}
