//! A training run from a TOML configuration: data, head, σ (given or calibrated), the step
//! loop with JSONL logs and checkpoints, and the final report.
//!
//! Files written under `output.dir`:
//! * `steps.jsonl` — one [`StepRecord`] per logged step;
//! * `checkpoint/state.safetensors` + `checkpoint/state.json` — see [`crate::harness::checkpoint`];
//! * `report.json` — [`RunSummary`]: configuration, σ and how it was obtained, accuracies, ε by
//!   every accountant with its guarantee, timings.
//!
//! # Configuration (TOML; unknown keys are errors)
//! ```toml
//! [data]
//! source = "synthetic"        # or "embeddings" (path = FILE.emb), "rotten-tomatoes", "spam-assassin"
//! n = 2000                    # synthetic: examples, dim, classes, separation, data_seed
//! test_fraction = 0.2
//! split_seed = 0
//! [model]
//! head = "mlp"                # or "linear"
//! hidden = 64
//! [train]
//! steps = 200                 # or epochs = 5
//! batch_size = 64             # expected batch size, or sampling_rate = q
//! optimizer = "adam"          # or "sgd"; lr, beta1, beta2, adam_eps
//! lr = 0.002
//! clip_norm = 1.0
//! private = true              # false: sigma = 0 and C = inf on the same code path
//! seed = 0                    # Poisson batches, noise, initialisation
//! log_every = 1
//! checkpoint_every = 50
//! [privacy]
//! target_epsilon = 1.0        # or sigma = 1.1
//! delta = 1e-5
//! accountant = "contour"      # calibration and the per-step epsilon log (default: certified)
//! order = 1
//! [output]
//! dir = "runs/demo"
//! ```

use crate::accountant::{AccountantConfig, AccountantKind, AccountantSettings};
use crate::error::{Error, Result};
use crate::harness::checkpoint::{self, CheckpointMeta};
use crate::harness::cpu::CpuBackend;
use crate::harness::data::{self, Dataset};
/// The data section lives in [`data`] (the encoder reads it too); re-exported here, where the
/// rest of the configuration is.
pub use crate::harness::data::{DataConfig, DataSource};
use crate::harness::dpsgd::{poisson_batch, Backend, Optimizer, StepParams, TrainState};
use crate::harness::model::{Head, HeadKind};
use crate::harness::privacy::{self, Calibration, EpsilonRow};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The whole configuration file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    /// Data.
    pub data: DataConfig,
    /// Head.
    #[serde(default)]
    pub model: ModelConfig,
    /// Optimisation.
    pub train: TrainConfig,
    /// Privacy.
    #[serde(default)]
    pub privacy: PrivacyConfig,
    /// Output.
    pub output: OutputConfig,
}

/// `[model]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// linear or mlp.
    #[serde(default = "d_head")]
    pub head: HeadKind,
    /// Hidden width (mlp).
    #[serde(default = "d_hidden")]
    pub hidden: usize,
    /// Initialisation seed (defaults to the training seed when absent).
    #[serde(default)]
    pub init_seed: Option<u64>,
}
fn d_head() -> HeadKind {
    HeadKind::Linear
}
fn d_hidden() -> usize {
    64
}
impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            head: d_head(),
            hidden: d_hidden(),
            init_seed: None,
        }
    }
}

/// `[train]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// Number of steps (or give `epochs`).
    #[serde(default)]
    pub steps: Option<u64>,
    /// Epochs: steps = ceil(epochs / q).
    #[serde(default)]
    pub epochs: Option<f64>,
    /// Poisson rate q (or give `batch_size`).
    #[serde(default)]
    pub sampling_rate: Option<f64>,
    /// Expected batch size: q = batch_size / n_train.
    #[serde(default)]
    pub batch_size: Option<f64>,
    /// Optimizer.
    #[serde(default = "d_opt")]
    pub optimizer: OptimizerName,
    /// Learning rate.
    pub lr: f64,
    /// Adam β1.
    #[serde(default = "d_b1")]
    pub beta1: f64,
    /// Adam β2.
    #[serde(default = "d_b2")]
    pub beta2: f64,
    /// Adam ε.
    #[serde(default = "d_eps")]
    pub adam_eps: f64,
    /// Run seed: sampling and noise (Philox key).
    #[serde(default)]
    pub seed: u64,
    /// Clipping norm C.
    #[serde(default = "d_clip")]
    pub clip_norm: f64,
    /// false: σ = 0 and C = ∞ on the same code path (no privacy).
    #[serde(default = "d_true")]
    pub private: bool,
    /// Log every k steps (the last step is always logged).
    #[serde(default = "d_one")]
    pub log_every: u64,
    /// Checkpoint every k steps (0 = only at the end).
    #[serde(default)]
    pub checkpoint_every: u64,
}
fn d_opt() -> OptimizerName {
    OptimizerName::Sgd
}
fn d_b1() -> f64 {
    0.9
}
fn d_b2() -> f64 {
    0.999
}
fn d_eps() -> f64 {
    1e-8
}
fn d_clip() -> f64 {
    1.0
}
fn d_true() -> bool {
    true
}
fn d_one() -> u64 {
    1
}

/// Optimizer names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OptimizerName {
    /// SGD.
    Sgd,
    /// Adam.
    Adam,
}

/// `[privacy]`: every key is optional; a missing one takes its value from
/// [`PrivacyConfig::default`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PrivacyConfig {
    /// Noise multiplier σ (or give `target_epsilon`).
    pub sigma: Option<f64>,
    /// Target ε: σ is calibrated by `accountant`.
    pub target_epsilon: Option<f64>,
    /// δ.
    pub delta: f64,
    /// Accountant used for calibration and the per-step log (default `contour`: certified).
    pub accountant: String,
    /// Edgeworth order.
    pub order: u8,
}
fn d_delta() -> f64 {
    1e-5
}
fn d_acc() -> String {
    // Certified by default: σ calibrated to a target ε must not understate ε (order-1
    // Edgeworth, EW-Tune's choice, does at small δ). Other accountants are a config key away.
    "contour".into()
}
fn d_order() -> u8 {
    1
}
impl Default for PrivacyConfig {
    fn default() -> Self {
        PrivacyConfig {
            sigma: None,
            target_epsilon: None,
            delta: d_delta(),
            accountant: d_acc(),
            order: d_order(),
        }
    }
}

/// `[output]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputConfig {
    /// Run directory (relative paths are relative to the working directory).
    pub dir: PathBuf,
}

impl RunConfig {
    /// Parse a TOML file.
    ///
    /// # Errors
    /// [`Error::Io`], [`Error::Parse`].
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        toml::from_str(&text).map_err(|e| Error::Parse {
            path: path.display().to_string(),
            message: e.to_string(),
        })
    }

    /// sha256 of the canonical JSON form (identifies the run for resumes).
    pub fn sha256(&self) -> String {
        data::sha256_hex(serde_json::to_string(self).unwrap_or_default().as_bytes())
    }

    fn optimizer(&self) -> Optimizer {
        let t = &self.train;
        match t.optimizer {
            OptimizerName::Sgd => Optimizer::Sgd { lr: t.lr },
            OptimizerName::Adam => Optimizer::Adam {
                lr: t.lr,
                beta1: t.beta1,
                beta2: t.beta2,
                eps: t.adam_eps,
            },
        }
    }
}

/// Which backend to use (the values of `ewtune train --backend`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum BackendChoice {
    /// CUDA when available, else the CPU (with a message).
    #[default]
    Auto,
    /// The CPU.
    Cpu,
    /// CUDA or fail.
    Cuda,
}

/// Options that are not part of the run's identity; also the flags of `ewtune train` that set
/// them (the doc comments are their help).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct RunOptions {
    /// Compute backend.
    #[arg(long, value_enum, default_value = "auto")]
    pub backend: BackendChoice,
    /// Continue from the checkpoint in the run directory.
    #[arg(long)]
    pub resume: bool,
    /// Stop after this many steps in total, with a checkpoint (resume later with --resume).
    #[arg(long, allow_hyphen_values = true)]
    pub stop_after: Option<u64>,
}

/// One line of `steps.jsonl`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepRecord {
    /// Step index (0-based).
    pub step: u64,
    /// Mean loss over the batch (null for an empty batch).
    pub loss: Option<f64>,
    /// Mean per-example gradient norm (null when clipping is off).
    pub mean_norm: Option<f64>,
    /// Fraction of examples clipped.
    pub frac_clipped: f64,
    /// Realised batch size.
    pub batch_size: usize,
    /// ε spent after this step by the chosen accountant (null when non-private).
    pub epsilon: Option<f64>,
    /// Its guarantee.
    pub guarantee: Option<String>,
    /// Whether the accountant considers that ε valid (see the final report's notes).
    #[serde(default)]
    pub epsilon_valid: Option<bool>,
    /// Examples per second of this step.
    pub examples_per_second: f64,
    /// Wall time of this step in seconds.
    pub step_seconds: f64,
}

fn fin(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

/// The final report.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    /// ewtune version.
    pub version: String,
    /// The configuration.
    pub config: RunConfig,
    /// Backend used.
    pub backend: String,
    /// Why another backend than asked was used (CUDA unavailable).
    pub backend_note: Option<String>,
    /// Training examples.
    pub n_train: usize,
    /// Test examples.
    pub n_test: usize,
    /// Sampling rate q.
    pub sampling_rate: f64,
    /// Steps.
    pub steps: u64,
    /// Noise multiplier used.
    pub sigma: f64,
    /// The calibration, when σ came from a target ε.
    pub calibration: Option<Calibration>,
    /// δ.
    pub delta: f64,
    /// ε by every accountant (empty when non-private).
    pub epsilon: Vec<EpsilonRow>,
    /// Training accuracy.
    pub train_accuracy: f64,
    /// Test accuracy.
    pub test_accuracy: f64,
    /// Mean training loss of the final parameters.
    pub train_loss: f64,
    /// Wall time of the step loop (this invocation).
    pub train_seconds: f64,
    /// Whether the run stopped early (`stop_after`).
    pub stopped_early: bool,
    /// Final parameters (not serialised; in the checkpoint).
    #[serde(skip)]
    pub params: Vec<f64>,
}

/// Load the data of a configuration: (train, test).
///
/// # Errors
/// Missing files, a missing `encoder` feature for text sources without a cache.
pub fn load_data(cfg: &DataConfig) -> Result<(Dataset, Dataset)> {
    let full = match cfg.source {
        DataSource::Synthetic => {
            data::synthetic(cfg.n, cfg.dim, cfg.classes, cfg.separation, cfg.data_seed)?
        }
        DataSource::Embeddings => {
            let p = cfg.path.as_ref().ok_or_else(|| {
                Error::invalid("data.path", "(missing)", "required for source = embeddings")
            })?;
            data::read_embeddings(p)?.1
        }
        DataSource::RottenTomatoes => crate::harness::encoder::rotten_tomatoes_embeddings(cfg)?,
        DataSource::SpamAssassin => crate::harness::encoder::spam_assassin_embeddings(cfg)?,
    };
    let full = if cfg.limit > 0 && cfg.limit < full.len() {
        let perm = data::permutation(full.len(), cfg.split_seed ^ 0x5eed_0000_0000_0001);
        full.subset(&perm[..cfg.limit])
    } else {
        full
    };
    full.split(cfg.split_seed, cfg.test_fraction)
}

/// Accuracy and mean loss of `params` on `data`.
pub fn evaluate(head: &Head, params: &[f64], data: &Dataset) -> (f64, f64) {
    use rayon::prelude::*;
    if data.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let (hits, loss) = (0..data.len())
        .into_par_iter()
        .map(|i| {
            let e = head.example(params, data.row(i), data.y[i] as usize);
            let hit = head.predict(params, data.row(i)) == data.y[i] as usize;
            (hit as usize, e.loss)
        })
        .reduce(|| (0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1));
    (hits as f64 / data.len() as f64, loss / data.len() as f64)
}

/// Build the requested backend; `Auto` falls back to the CPU and returns the reason.
///
/// # Errors
/// `Cuda` requested and unavailable: [`Error::BackendUnavailable`].
pub fn make_backend(
    choice: BackendChoice,
    head: Head,
    train: &Dataset,
    state: TrainState,
) -> Result<(Box<dyn Backend>, Option<String>)> {
    let cpu = |state: TrainState| -> Result<Box<dyn Backend>> {
        Ok(Box::new(CpuBackend::new(
            head,
            train.x.clone(),
            train.y.clone(),
            state,
        )?))
    };
    match choice {
        BackendChoice::Cpu => Ok((cpu(state)?, None)),
        BackendChoice::Cuda => Ok((
            Box::new(crate::harness::cuda::CudaBackend::new(
                head, &train.x, &train.y, &state,
            )?),
            None,
        )),
        BackendChoice::Auto => {
            match crate::harness::cuda::CudaBackend::new(head, &train.x, &train.y, &state) {
                Ok(b) => Ok((Box::new(b), None)),
                Err(e) => Ok((
                    cpu(state)?,
                    Some(format!("CUDA unavailable, using the CPU: {e}")),
                )),
            }
        }
    }
}

/// Run (or resume) a training run. `observe` sees every logged record (the CLI draws its
/// progress bar from it) and the backend note.
///
/// # Errors
/// Bad configuration (named by key), I/O, accountant or backend failures.
pub fn run(
    cfg: &RunConfig,
    opts: &RunOptions,
    observe: &mut dyn FnMut(Event<'_>),
) -> Result<RunSummary> {
    let kind = AccountantKind::parse(&cfg.privacy.accountant)?;
    let acc_settings = AccountantSettings {
        order: Some(cfg.privacy.order),
        ..AccountantSettings::default()
    };
    let acc_config = acc_settings.config(kind);
    crate::accountant::check_delta(cfg.privacy.delta)?;
    let (train, test) = load_data(&cfg.data)?;
    if train.is_empty() {
        return Err(Error::invalid("data", 0, "the training set is empty"));
    }
    let n = train.len();
    let (q, steps) = schedule(cfg, n)?;
    let (sigma, calibration) = noise(cfg, &acc_config, q, steps)?;
    let clip = if cfg.train.private {
        cfg.train.clip_norm
    } else {
        f64::INFINITY
    };
    let head = Head::new(cfg.model.head, train.dim, cfg.model.hidden, train.classes)?;
    let optimizer = cfg.optimizer();
    optimizer.validate()?;
    let config_sha = cfg.sha256();
    let dir = &cfg.output.dir;
    let ckdir = dir.join("checkpoint");
    std::fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
    let state = initial_state(cfg, opts, &head, &optimizer, &ckdir, &config_sha)?;
    let start = state.steps_done;
    let (mut backend, note) = make_backend(opts.backend, head, &train, state)?;
    if let Some(n) = &note {
        observe(Event::Note(n));
    }
    let (log_path, mut log) = open_step_log(dir, opts.resume, start)?;
    let meta = |steps_done: u64| CheckpointMeta {
        steps_done,
        config_sha256: config_sha.clone(),
        sigma,
        version: env!("CARGO_PKG_VERSION").into(),
    };
    let end = opts.stop_after.map_or(steps, |s| s.min(steps));
    observe(Event::Start {
        start,
        end,
        total: steps,
    });
    let t0 = Instant::now();
    for t in start..end {
        let batch = poisson_batch(cfg.train.seed, t, n, q);
        let p = StepParams {
            step: t,
            seed: cfg.train.seed,
            clip,
            noise_std: sigma * if clip.is_finite() { clip } else { 0.0 },
            denominator: q * n as f64,
            optimizer,
        };
        let ts = Instant::now();
        let st = backend.step(&batch, &p)?;
        let secs = ts.elapsed().as_secs_f64();
        let last = t + 1 == steps;
        if last || (t + 1) % cfg.train.log_every.max(1) == 0 {
            let spent = (cfg.train.private)
                .then(|| {
                    crate::calibrate::dpsgd_epsilon(&acc_config, sigma, q, t + 1, cfg.privacy.delta)
                })
                .transpose()?;
            let rec = step_record(t, &st, spent.as_ref(), secs);
            let line = serde_json::to_string(&rec).map_err(|e| Error::Parse {
                path: log_path.display().to_string(),
                message: e.to_string(),
            })?;
            writeln!(log, "{line}").map_err(|e| io_err(&log_path, e))?;
            observe(Event::Step(&rec));
        }
        let every = cfg.train.checkpoint_every;
        if every > 0 && (t + 1) % every == 0 && t + 1 < end {
            checkpoint::save(&ckdir, &backend.state()?, &meta(t + 1))?;
        }
    }
    let train_seconds = t0.elapsed().as_secs_f64();
    let state = backend.state()?;
    checkpoint::save(&ckdir, &state, &meta(state.steps_done))?;
    let (train_accuracy, train_loss) = evaluate(&head, &state.params, &train);
    let (test_accuracy, _) = evaluate(&head, &state.params, &test);
    let epsilon = if cfg.train.private && end == steps {
        privacy::epsilon_all(&acc_settings, sigma, q, steps, cfg.privacy.delta)
    } else {
        Vec::new()
    };
    let summary = RunSummary {
        version: env!("CARGO_PKG_VERSION").into(),
        config: cfg.clone(),
        backend: backend.name().into(),
        backend_note: note,
        n_train: n,
        n_test: test.len(),
        sampling_rate: q,
        steps,
        sigma,
        calibration,
        delta: cfg.privacy.delta,
        epsilon,
        train_accuracy,
        test_accuracy,
        train_loss,
        train_seconds,
        stopped_early: end < steps,
        params: state.params,
    };
    write_report(dir, &summary)?;
    Ok(summary)
}

fn io_err(p: &Path, e: std::io::Error) -> Error {
    Error::Io {
        path: p.display().to_string(),
        message: e.to_string(),
    }
}

/// The Poisson rate q and the number of steps, from the configuration (exactly one of
/// `sampling_rate`/`batch_size` and of `steps`/`epochs`).
fn schedule(cfg: &RunConfig, n: usize) -> Result<(f64, u64)> {
    let q = match (cfg.train.sampling_rate, cfg.train.batch_size) {
        (Some(q), None) => q,
        (None, Some(b)) => b / n as f64,
        _ => {
            return Err(Error::invalid(
                "train.sampling_rate",
                "(missing or both)",
                "give exactly one of train.sampling_rate and train.batch_size",
            ))
        }
    };
    crate::error::Range::left_open(0.0, 1.0).check("train.sampling_rate", q)?;
    let steps = match (cfg.train.steps, cfg.train.epochs) {
        (Some(s), None) if s >= 1 => s,
        (None, Some(e)) if e > 0.0 && e.is_finite() => (e / q).ceil() as u64,
        _ => {
            return Err(Error::invalid(
                "train.steps",
                "(missing or both)",
                "give exactly one of train.steps (>= 1) and train.epochs (> 0)",
            ))
        }
    };
    Ok((q, steps))
}

/// The noise multiplier: 0 for a non-private run, the configured σ, or σ calibrated to the
/// target ε by the configured accountant.
fn noise(
    cfg: &RunConfig,
    accountant: &AccountantConfig,
    q: f64,
    steps: u64,
) -> Result<(f64, Option<Calibration>)> {
    if !cfg.train.private {
        return Ok((0.0, None));
    }
    match (cfg.privacy.sigma, cfg.privacy.target_epsilon) {
        (Some(s), None) => {
            crate::error::Range::above(0.0).check("privacy.sigma", s)?;
            Ok((s, None))
        }
        (None, Some(eps)) => {
            let c = privacy::calibrate_sigma(accountant, eps, cfg.privacy.delta, q, steps, 1e-6)?;
            Ok((c.sigma, Some(c)))
        }
        _ => Err(Error::invalid(
            "privacy.sigma",
            "(missing or both)",
            "give exactly one of privacy.sigma and privacy.target_epsilon (or set train.private = false)",
        )),
    }
}

/// A fresh training state, or the checkpoint's when resuming (which must come from the same
/// configuration).
fn initial_state(
    cfg: &RunConfig,
    opts: &RunOptions,
    head: &Head,
    optimizer: &Optimizer,
    ckdir: &Path,
    config_sha: &str,
) -> Result<TrainState> {
    if !opts.resume {
        let seed = cfg.model.init_seed.unwrap_or(cfg.train.seed);
        return Ok(TrainState::new(head.init(seed), optimizer));
    }
    let (st, meta) = checkpoint::load(ckdir)?;
    if meta.config_sha256 != config_sha {
        return Err(Error::invalid(
            "resume",
            ckdir.display(),
            "the checkpoint was written by a different configuration",
        ));
    }
    Ok(st)
}

/// `steps.jsonl`, opened for appending; on resume the records before `start` are kept.
fn open_step_log(dir: &Path, resume: bool, start: u64) -> Result<(PathBuf, std::fs::File)> {
    let log_path = dir.join("steps.jsonl");
    let mut kept = String::new();
    if resume {
        if let Ok(text) = std::fs::read_to_string(&log_path) {
            for line in text.lines() {
                if let Ok(r) = serde_json::from_str::<StepRecord>(line) {
                    if r.step < start {
                        kept.push_str(line);
                        kept.push('\n');
                    }
                }
            }
        }
    }
    std::fs::write(&log_path, kept).map_err(|e| io_err(&log_path, e))?;
    let log = std::fs::OpenOptions::new()
        .append(true)
        .open(&log_path)
        .map_err(|e| io_err(&log_path, e))?;
    Ok((log_path, log))
}

/// The logged record of step `t` (with the ε spent so far for a private run).
fn step_record(
    t: u64,
    st: &crate::harness::dpsgd::StepStats,
    spent: Option<&crate::accountant::Report>,
    secs: f64,
) -> StepRecord {
    StepRecord {
        step: t,
        loss: fin(st.loss),
        mean_norm: fin(st.mean_norm),
        frac_clipped: st.frac_clipped,
        batch_size: st.batch_size,
        epsilon: spent.map(|r| r.epsilon),
        guarantee: spent.map(|r| r.guarantee.name().to_string()),
        epsilon_valid: spent.map(|r| r.valid),
        examples_per_second: st.batch_size as f64 / secs.max(1e-12),
        step_seconds: secs,
    }
}

/// `report.json` in the run directory.
fn write_report(dir: &Path, summary: &RunSummary) -> Result<()> {
    let rp = dir.join("report.json");
    let json = serde_json::to_vec_pretty(summary).map_err(|e| Error::Parse {
        path: rp.display().to_string(),
        message: e.to_string(),
    })?;
    std::fs::write(&rp, json).map_err(|e| io_err(&rp, e))
}

/// Progress events for a front end.
#[derive(Debug)]
pub enum Event<'a> {
    /// The loop starts at `start` and runs to `end` (of `total`).
    Start {
        /// First step.
        start: u64,
        /// One past the last step of this invocation.
        end: u64,
        /// Steps of the whole run.
        total: u64,
    },
    /// A logged step.
    Step(&'a StepRecord),
    /// A message (backend fallback).
    Note(&'a str),
}
