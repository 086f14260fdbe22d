//! The Hub families: every `psyche_hf_*` series of one snapshot's repos.
//! Pure: it sees only the snapshot (see the table in the README).

use std::fmt;

use prometheus_client::encoding::DescriptorEncoder;
use prometheus_client::registry::Unit;

use super::{HuggingFaceSnapshot, Model, Repo, RepoState};
use crate::exposition::gauge;

/// A per-repo gauge of the repos the Hub answered for.
fn per_model<V: prometheus_client::encoding::EncodeGaugeValue>(
    out: &mut DescriptorEncoder<'_>,
    repos: &[Repo],
    name: &str,
    help: &str,
    unit: Option<&Unit>,
    value: impl Fn(&Model) -> Option<V>,
) -> fmt::Result {
    gauge(
        out,
        name,
        help,
        unit,
        repos.iter().filter_map(|r| {
            let v = value(r.state.model()?)?;
            Some(([("repo", r.id.as_str())], v))
        }),
    )
}

pub(super) fn encode_repos(
    s: &HuggingFaceSnapshot,
    out: &mut DescriptorEncoder<'_>,
) -> fmt::Result {
    let repos = &s.repos;
    gauge(
        out,
        "psyche_hf_model_info",
        "A HuggingFace model of a watched author or named by a run's checkpoint (polled every --hf.interval); always 1",
        None,
        repos.iter().filter_map(|r| {
            let m = r.state.model()?;
            Some((
                [
                    ("repo", r.id.as_str()),
                    ("pipeline_tag", m.pipeline_tag.as_deref().unwrap_or("")),
                    ("library", m.library.as_deref().unwrap_or("")),
                ],
                1i64,
            ))
        }),
    )?;
    gauge(
        out,
        "psyche_hf_model_state",
        "1 for what the Hub answered about the repo (ok; unauthorized: 401/403, private, gated or missing; not_found: 404), 0 for the others (polled every --hf.interval)",
        None,
        repos.iter().flat_map(|r| {
            RepoState::NAMES.iter().map(move |state| {
                (
                    [("repo", r.id.as_str()), ("state", *state)],
                    i64::from(*state == r.state.as_str()),
                )
            })
        }),
    )?;
    per_model(
        out,
        repos,
        "psyche_hf_model_last_modified_timestamp",
        "When the model repo last changed (lastModified, Unix time; polled every --hf.interval)",
        Some(&Unit::Seconds),
        |m| m.last_modified,
    )?;
    per_model(
        out,
        repos,
        "psyche_hf_model_downloads",
        "Downloads in the last 30 days, as the Hub counts them (polled every --hf.interval)",
        None,
        |m| m.downloads,
    )?;
    per_model(
        out,
        repos,
        "psyche_hf_model_likes",
        "Likes of the model (polled every --hf.interval)",
        None,
        |m| m.likes,
    )?;
    per_model(
        out,
        repos,
        "psyche_hf_model_storage",
        "Storage the repo uses, all revisions (usedStorage; polled every --hf.interval)",
        Some(&Unit::Bytes),
        |m| m.storage_bytes,
    )?;
    per_model(
        out,
        repos,
        "psyche_hf_model_parameters",
        "Parameters in the model's safetensors files (safetensors.total; polled every --hf.interval)",
        None,
        |m| m.parameters,
    )?;
    per_model(
        out,
        repos,
        "psyche_hf_model_commits",
        "Commits on the main branch (read when the repo's sha changes; polled every --hf.interval)",
        None,
        |m| Some(m.history.as_ref()?.total),
    )?;
    per_model(
        out,
        repos,
        "psyche_hf_checkpoint_timestamp",
        "Commit time of the newest commit titled 'step N' on main (Unix time; polled every --hf.interval)",
        Some(&Unit::Seconds),
        |m| m.history.as_ref()?.newest_checkpoint()?.timestamp,
    )?;
    per_model(
        out,
        repos,
        "psyche_hf_checkpoint_step",
        "N of the newest commit titled 'step N' on main (polled every --hf.interval)",
        None,
        |m| m.history.as_ref()?.newest_checkpoint()?.step,
    )?;
    per_model(
        out,
        repos,
        "psyche_hf_model_files",
        "Files in the newest commit titled 'step N' on main (the Hub's model API at that revision; read when it changes; polled every --hf.interval)",
        None,
        |m| Some(m.files.as_ref()?.files.len() as u64),
    )?;
    gauge(
        out,
        "psyche_hf_rate_limit_remaining",
        "Requests left in the Hub's current rate-limit window (RateLimit header r=; polled every --hf.interval)",
        None,
        s.rate_limit_remaining
            .map(|r| (Vec::<(&str, &str)>::new(), r)),
    )
}
