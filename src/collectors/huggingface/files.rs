//! The files of a repo's newest checkpoint commit: names and sizes from the Hub's
//! model API at that revision with `blobs=true`
//! (`GET /api/models/{repo}/revision/{sha}?blobs=true`, method `model_files`). One
//! request per new checkpoint commit; no file is ever downloaded.

use serde::Deserialize;

/// The files of one checkpoint commit, sorted by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckpointFiles {
    /// The commit they are at.
    pub sha: String,
    /// The files.
    pub files: Vec<RepoFile>,
}

impl CheckpointFiles {
    /// Bytes of every file whose size the Hub gave.
    pub fn total_bytes(&self) -> u64 {
        self.files
            .iter()
            .filter_map(|f| f.size)
            .fold(0, u64::saturating_add)
    }
}

/// One file of a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoFile {
    /// Its path in the repo.
    pub name: String,
    /// Its size in bytes (an LFS file's own size, not its pointer's), when given.
    pub size: Option<u64>,
}

/// The part of a model document at a revision that lists its files.
#[derive(Debug, Deserialize)]
pub(super) struct WireRevision {
    #[serde(default)]
    siblings: Vec<WireSibling>,
}

#[derive(Debug, Deserialize)]
struct WireSibling {
    rfilename: String,
    size: Option<u64>,
    lfs: Option<WireLfs>,
}

#[derive(Debug, Deserialize)]
struct WireLfs {
    size: Option<u64>,
}

impl WireRevision {
    pub(super) fn into_files(self, sha: &str) -> CheckpointFiles {
        let mut files: Vec<RepoFile> = self
            .siblings
            .into_iter()
            .map(|s| RepoFile {
                size: s.size.or_else(|| s.lfs.and_then(|l| l.size)),
                name: s.rfilename,
            })
            .collect();
        files.sort_by(|a, b| a.name.cmp(&b.name));
        files.dedup_by(|a, b| a.name == b.name);
        CheckpointFiles {
            sha: sha.to_owned(),
            files,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn siblings_as_the_hub_lists_them_with_blobs() {
        let wire: WireRevision = serde_json::from_value(serde_json::json!({
            "id": "o/r",
            "sha": "abc",
            "siblings": [
                {"rfilename": "model-00002-of-00002.safetensors", "size": 300,
                 "blobId": "b2", "lfs": {"sha256": "x", "size": 300, "pointerSize": 135}},
                {"rfilename": "config.json", "size": 700, "blobId": "b1"},
                {"rfilename": "model-00001-of-00002.safetensors",
                 "lfs": {"sha256": "y", "size": 5000, "pointerSize": 135}},
                {"rfilename": "README.md"}
            ]
        }))
        .unwrap();
        let files = wire.into_files("abc");
        let names: Vec<&str> = files.files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "README.md",
                "config.json",
                "model-00001-of-00002.safetensors",
                "model-00002-of-00002.safetensors"
            ]
        );
        assert_eq!(files.files[0].size, None);
        assert_eq!(files.files[2].size, Some(5000));
        assert_eq!(files.total_bytes(), 6000);
        assert_eq!(files.sha, "abc");
    }
}
