//! Argument groups shared by several subcommands.

use crate::accountant::{AccountantConfig, AccountantKind, AccountantSettings, Report};
use crate::error::{Error, Result};
use crate::event::DpEvent;
use crate::mechanism::SubsampledLaplace;
use crate::mechanism::{Adjacency, Gaussian, Laplace, Mechanism, SubsampledGaussian};
use crate::mechanism::{DiscreteGaussian, DiscreteLaplace, RandomizedResponse};
use crate::precision::Precision;
use clap::{Args, ValueEnum};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Mechanism names on the CLI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MechanismName {
    /// Gaussian mechanism (`--sigma`).
    Gaussian,
    /// Laplace mechanism (`--scale`).
    Laplace,
    /// Poisson-subsampled Gaussian, one DP-SGD step (`--sigma`, `--sampling-rate`).
    SubsampledGaussian,
    /// Randomized response over k buckets (`--noise-parameter`, `--buckets`; replace-one).
    RandomizedResponse,
    /// Discrete Laplace (`--parameter`, integer `--sensitivity`; add/remove).
    DiscreteLaplace,
    /// Poisson-subsampled Laplace (`--scale`, `--sampling-rate`).
    SubsampledLaplace,
    /// Discrete Gaussian (`--sigma`, integer `--sensitivity`; add/remove).
    DiscreteGaussian,
    /// Mixture of Gaussians N(0, σ²) vs Σ p_i N(c_i, σ²) (`--sigma`, `--sensitivities`,
    /// `--probabilities`; add/remove).
    MixtureOfGaussians,
}

/// How records are sampled before the mechanism runs (`--sampling`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Sampling {
    /// Every record is used (the plain mechanism).
    None,
    /// Poisson sampling at rate `--sampling-rate`.
    Poisson,
    /// Truncated Poisson sampling: Poisson at `--sampling-rate` from `--dataset-size` records,
    /// cut to at most `--max-batch-size` (gaussian only; docs/math.md §17.8).
    TruncatedPoisson,
    /// Fixed-size batches drawn without replacement (`--dataset-size`, `--batch-size`;
    /// gaussian under `--adjacency replace-one`, docs/math.md §17.7).
    WithoutReplacement,
}

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum Format {
    /// Human-readable text.
    #[default]
    Text,
    /// One JSON document.
    Json,
}

/// The mechanism flags, the same for every subcommand that takes a mechanism.
#[derive(Debug, Clone, Args)]
pub struct MechanismFlags {
    /// The mechanism. When omitted it is inferred from the flags given: `--sampling-rate` →
    /// subsampled-gaussian, else `--sigma` → gaussian, else `--scale` → laplace.
    #[arg(long, value_enum)]
    pub mechanism: Option<MechanismName>,
    /// Noise multiplier σ > 0 (gaussian, subsampled-gaussian).
    #[arg(long, allow_hyphen_values = true)]
    pub sigma: Option<f64>,
    /// Poisson sampling rate q ∈ (0, 1] (subsampled-gaussian, subsampled-laplace, or any
    /// mechanism with `--sampling poisson`).
    #[arg(long, allow_hyphen_values = true)]
    pub sampling_rate: Option<f64>,
    /// Laplace scale b > 0 (laplace only).
    #[arg(long, allow_hyphen_values = true)]
    pub scale: Option<f64>,
    /// The lattice mechanisms' flags (randomized-response, discrete-laplace).
    #[command(flatten)]
    pub lattice: LatticeFlags,
    /// Sampling of records before the mechanism (default: poisson when
    /// `--sampling-rate` is given, else none). `poisson` turns gaussian into
    /// subsampled-gaussian and laplace into subsampled-laplace. `without-replacement` runs
    /// gaussian on fixed-size batches (`--batch-size` of `--dataset-size` records), accounted
    /// under replace-one adjacency only: give `--adjacency replace-one` (every accountant but
    /// gdp). `truncated-poisson` keeps Poisson batches of at most `--max-batch-size` records
    /// (gaussian only).
    #[arg(long, value_enum)]
    pub sampling: Option<Sampling>,
    /// Number of records n ≥ 1 (`--sampling without-replacement` and
    /// `--sampling truncated-poisson`).
    #[arg(long, value_parser = crate::cli::args::integer::<u64>, allow_hyphen_values = true)]
    pub dataset_size: Option<u64>,
    /// Fixed batch size b ∈ [1, n] (`--sampling without-replacement`: b of the n records drawn
    /// without replacement per step; requires `--adjacency replace-one`).
    #[arg(long, value_parser = crate::cli::args::integer::<u64>, allow_hyphen_values = true)]
    pub batch_size: Option<u64>,
    /// Largest batch B ≥ 1 kept by `--sampling truncated-poisson` (B ≥ n: no truncation).
    #[arg(long, value_parser = crate::cli::args::integer::<u64>, allow_hyphen_values = true)]
    pub max_batch_size: Option<u64>,
    /// The mixture-of-gaussians flags.
    #[command(flatten)]
    pub mixture: MixtureFlags,
}

/// The flags of `mixture-of-gaussians` (docs/math.md §17).
#[derive(Debug, Clone, Default, Args)]
pub struct MixtureFlags {
    /// Mixture of Gaussians: comma-separated sensitivities c_i ≥ 0, e.g. `0,1,2`.
    #[arg(long, allow_hyphen_values = true)]
    pub sensitivities: Option<String>,
    /// Mixture of Gaussians: comma-separated probabilities p_i ≥ 0 summing to 1, e.g.
    /// `0.6,0.3,0.1`.
    #[arg(long, allow_hyphen_values = true)]
    pub probabilities: Option<String>,
}

/// A comma-separated list of numbers, errors naming `flag`.
fn number_list(v: &str, flag: &'static str) -> Result<Vec<f64>> {
    v.split(',')
        .map(|t| {
            t.trim()
                .parse::<f64>()
                .map_err(|_| Error::invalid(flag, v, "must be a comma-separated list of numbers"))
        })
        .collect()
}

/// The mixture of Gaussians from its flags (`sigma` required; the mechanism flags of other
/// mechanisms refused by name).
///
/// # Errors
/// Missing, inapplicable or invalid flags, named.
pub fn mixture_of_gaussians(
    sigma: Option<f64>,
    others: &[(&'static str, Option<f64>)],
    sensitivities: Option<&[f64]>,
    probabilities: Option<&[f64]>,
) -> Result<Mechanism> {
    let name = MechanismName::MixtureOfGaussians;
    for (flag, v) in others {
        refuse(*v, flag, name)?;
    }
    let c = sensitivities.ok_or_else(|| {
        Error::invalid(
            "sensitivities",
            "(missing)",
            "is required for --mechanism mixture-of-gaussians",
        )
    })?;
    let p = probabilities.ok_or_else(|| {
        Error::invalid(
            "probabilities",
            "(missing)",
            "is required for --mechanism mixture-of-gaussians",
        )
    })?;
    Ok(Mechanism::GaussianMixture(
        crate::mechanism::GaussianMixture::mixture_of_gaussians(need(sigma, "sigma", name)?, c, p)?,
    ))
}

/// The flags of the lattice mechanisms (docs/math.md §16).
#[derive(Debug, Clone, Default, Args)]
pub struct LatticeFlags {
    /// Randomized response: probability p ∈ [0, 1] of a uniformly random output.
    #[arg(long, allow_hyphen_values = true)]
    pub noise_parameter: Option<f64>,
    /// Randomized response: number of buckets k ≥ 1.
    #[arg(long, allow_hyphen_values = true)]
    pub buckets: Option<f64>,
    /// Discrete Laplace: parameter a > 0 (P(x) ∝ e^{−a|x|}).
    #[arg(long, allow_hyphen_values = true)]
    pub parameter: Option<f64>,
    /// Discrete Laplace and discrete Gaussian: integer sensitivity Δ ≥ 1 (default 1).
    #[arg(long, allow_hyphen_values = true)]
    pub sensitivity: Option<f64>,
}

impl LatticeFlags {
    /// The flags given, as (name, value).
    fn given(&self) -> Vec<(&'static str, f64)> {
        [
            ("noise_parameter", self.noise_parameter),
            ("buckets", self.buckets),
            ("parameter", self.parameter),
            ("sensitivity", self.sensitivity),
        ]
        .into_iter()
        .filter_map(|(n, v)| v.map(|v| (n, v)))
        .collect()
    }
}

/// A positive integer flag (`buckets`, `sensitivity`).
/// The value parser of the integer flags (`--steps`, `--precision`, `--dataset-size`, ...):
/// decimal digits, or a number in exponent form whose value is an exact integer (`1e6`,
/// `2.5e3`), so that `--steps 1e6` means a million steps; anything else is refused with a
/// message (clap adds the flag and the value). Each flag's own range is checked afterwards and
/// named in that message.
pub fn integer<T: TryFrom<i128>>(text: &str) -> std::result::Result<T, String> {
    let t = text.trim();
    let value: i128 = match t.parse::<i128>() {
        Ok(v) => v,
        Err(_) => match t.parse::<f64>() {
            // |x| < 2^63 converts exactly (an f64 with no fractional part is an integer).
            Ok(x) if x.is_finite() && x.fract() == 0.0 && x.abs() < 9.2e18 => x as i128,
            Ok(x) if x.is_finite() && x.fract() == 0.0 => {
                return Err("must be an integer of at most 9223372036854775807".into())
            }
            _ => return Err("must be an integer (such as 1000 or 1e3)".into()),
        },
    };
    T::try_from(value).map_err(|_| {
        // The type's largest value, 2^b − 1 for the largest b that converts.
        let max = (0..127)
            .rev()
            .map(|b| (1i128 << b) - 1)
            .find(|&m| T::try_from(m).is_ok())
            .unwrap_or(0);
        if value < 0 && T::try_from(-1i128).is_err() {
            "must be a non-negative integer".to_string()
        } else {
            format!("must be an integer of at most {max}")
        }
    })
}

fn integer_flag(v: f64, flag: &'static str, max: u64) -> Result<u64> {
    if v.is_finite() && v.fract() == 0.0 && v >= 1.0 && v <= max as f64 {
        Ok(v as u64)
    } else {
        Err(Error::invalid(
            flag,
            v,
            format!("must be an integer in [1, {max}]"),
        ))
    }
}

/// Build a mechanism from its CLI name, the flags of [`mechanism_from`] and the lattice flags;
/// a flag the mechanism has no use for is refused by name.
///
/// # Errors
/// Missing, inapplicable or invalid parameters, named by flag.
pub fn mechanism_with(
    name: MechanismName,
    sigma: Option<f64>,
    sampling_rate: Option<f64>,
    scale: Option<f64>,
    lattice: &LatticeFlags,
) -> Result<Mechanism> {
    if name == MechanismName::DiscreteGaussian {
        return discrete_gaussian_with(sigma, sampling_rate, scale, lattice);
    }
    let lattice_name = matches!(
        name,
        MechanismName::RandomizedResponse | MechanismName::DiscreteLaplace
    );
    if !lattice_name {
        if let Some((flag, v)) = lattice.given().first() {
            return Err(Error::invalid(
                flag,
                v,
                format!(
                    "does not apply to --mechanism {} (randomized-response takes \
                     --noise-parameter and --buckets, discrete-laplace --parameter and \
                     --sensitivity)",
                    name.cli_name()
                ),
            ));
        }
        return mechanism_from(name, sigma, sampling_rate, scale);
    }
    for (v, flag) in [
        (sigma, "sigma"),
        (sampling_rate, "sampling_rate"),
        (scale, "scale"),
    ] {
        refuse(v, flag, name)?;
    }
    let l = lattice;
    Ok(match name {
        MechanismName::RandomizedResponse => {
            refuse(l.parameter, "parameter", name)?;
            refuse(l.sensitivity, "sensitivity", name)?;
            let k = integer_flag(
                need(l.buckets, "buckets", name)?,
                "buckets",
                crate::mechanism::lattice::MAX_BUCKETS,
            )?;
            Mechanism::RandomizedResponse(RandomizedResponse::new(
                need(l.noise_parameter, "noise_parameter", name)?,
                k,
            )?)
        }
        _ => {
            refuse(l.noise_parameter, "noise_parameter", name)?;
            refuse(l.buckets, "buckets", name)?;
            let d = integer_flag(
                l.sensitivity.unwrap_or(1.0),
                "sensitivity",
                crate::mechanism::lattice::MAX_SENSITIVITY,
            )?;
            Mechanism::DiscreteLaplace(DiscreteLaplace::new(
                need(l.parameter, "parameter", name)?,
                d,
            )?)
        }
    })
}

/// The discrete Gaussian from `--sigma` and the integer `--sensitivity` (default 1); the other
/// flags are refused by name.
fn discrete_gaussian_with(
    sigma: Option<f64>,
    sampling_rate: Option<f64>,
    scale: Option<f64>,
    l: &LatticeFlags,
) -> Result<Mechanism> {
    let name = MechanismName::DiscreteGaussian;
    refuse(sampling_rate, "sampling_rate", name)?;
    refuse(scale, "scale", name)?;
    refuse(l.noise_parameter, "noise_parameter", name)?;
    refuse(l.buckets, "buckets", name)?;
    refuse(l.parameter, "parameter", name)?;
    let d = integer_flag(
        l.sensitivity.unwrap_or(1.0),
        "sensitivity",
        crate::mechanism::lattice::MAX_SENSITIVITY,
    )?;
    Ok(Mechanism::DiscreteGaussian(DiscreteGaussian::new(
        need(sigma, "sigma", name)?,
        d,
    )?))
}

impl MechanismFlags {
    /// The mechanism named (or inferred).
    ///
    /// # Errors
    /// Neither `--mechanism` nor a flag to infer it from.
    pub fn name(&self) -> Result<MechanismName> {
        match self.mechanism {
            Some(name) => Ok(name),
            None if self.mixture.sensitivities.is_some() => Ok(MechanismName::MixtureOfGaussians),
            None if self.sampling_rate.is_some()
                && self.scale.is_some()
                && self.sigma.is_none() =>
            {
                Ok(MechanismName::SubsampledLaplace)
            }
            None if self.sampling_rate.is_some() => Ok(MechanismName::SubsampledGaussian),
            None if self.sigma.is_some() && self.scale.is_none() => Ok(MechanismName::Gaussian),
            None if self.scale.is_some() && self.sigma.is_none() => Ok(MechanismName::Laplace),
            None if self.lattice.noise_parameter.is_some() => Ok(MechanismName::RandomizedResponse),
            None if self.lattice.parameter.is_some() => Ok(MechanismName::DiscreteLaplace),
            None => Err(Error::invalid(
                "mechanism",
                "(missing)",
                "give --mechanism gaussian|laplace|subsampled-gaussian (or --sigma, \
                 --sampling-rate, --scale to infer it), or --events",
            )),
        }
    }

    /// Refuse `--scale`, the lattice flags and the mixture lists, which no sampled Gaussian
    /// takes (`why` ends the mixture lists' message).
    ///
    /// # Errors
    /// The first such flag given, named.
    fn refuse_non_gaussian_flags(&self, name: MechanismName, why: &str) -> Result<()> {
        refuse(self.scale, "scale", name)?;
        if let Some((flag, v)) = self.lattice.given().first() {
            refuse(Some(*v), flag, name)?;
        }
        for (flag, v) in [
            ("sensitivities", &self.mixture.sensitivities),
            ("probabilities", &self.mixture.probabilities),
        ] {
            if let Some(v) = v {
                return Err(Error::invalid(flag, v, why));
            }
        }
        Ok(())
    }

    /// The single mechanism (errors name the missing flag, or a flag the mechanism has no use
    /// for, instead of ignoring it).
    ///
    /// # Errors
    /// Missing, inapplicable or invalid flags.
    pub fn mechanism(&self) -> Result<Mechanism> {
        if self.sampling == Some(Sampling::WithoutReplacement) {
            return self.without_replacement(self.sigma);
        }
        if let Some(b) = self.batch_size {
            return Err(Error::invalid(
                "batch_size",
                b,
                "applies to --sampling without-replacement only",
            ));
        }
        if self.sampling != Some(Sampling::TruncatedPoisson) {
            if let Some(n) = self.dataset_size {
                return Err(Error::invalid(
                    "dataset_size",
                    n,
                    "applies to --sampling without-replacement or truncated-poisson only",
                ));
            }
        }
        let name = self.apply_sampling(self.name()?)?;
        if self.sampling == Some(Sampling::TruncatedPoisson) {
            return self.truncated_poisson();
        }
        if let Some(b) = self.max_batch_size {
            return Err(Error::invalid(
                "max_batch_size",
                b,
                "applies to --sampling truncated-poisson only",
            ));
        }
        let m = &self.mixture;
        if name == MechanismName::MixtureOfGaussians {
            if let Some((flag, v)) = self.lattice.given().first() {
                refuse(Some(*v), flag, name)?;
            }
            let c = m
                .sensitivities
                .as_deref()
                .map(|v| number_list(v, "sensitivities"))
                .transpose()?;
            let p = m
                .probabilities
                .as_deref()
                .map(|v| number_list(v, "probabilities"))
                .transpose()?;
            return mixture_of_gaussians(
                self.sigma,
                &[("sampling_rate", self.sampling_rate), ("scale", self.scale)],
                c.as_deref(),
                p.as_deref(),
            );
        }
        for (flag, v) in [
            ("sensitivities", &m.sensitivities),
            ("probabilities", &m.probabilities),
        ] {
            if let Some(v) = v {
                return Err(Error::invalid(
                    flag,
                    v,
                    format!(
                        "does not apply to --mechanism {} (only mixture-of-gaussians takes it)",
                        name.cli_name()
                    ),
                ));
            }
        }
        mechanism_with(
            name,
            self.sigma,
            self.sampling_rate,
            self.scale,
            &self.lattice,
        )
    }

    /// The fixed-size-batch Gaussian of `--sampling without-replacement` (docs/math.md §17.7)
    /// with noise multiplier `sigma` (a placeholder when calibrating σ): `--mechanism`
    /// gaussian (or omitted), `--dataset-size`, `--batch-size`; every other mechanism flag is
    /// refused by name.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming the missing or inapplicable flag, or the bad value.
    pub fn without_replacement(&self, sigma: Option<f64>) -> Result<Mechanism> {
        let name = MechanismName::Gaussian;
        // The mechanism named, or the one the flags point at (`--scale` alone: laplace).
        let named = self.mechanism.or_else(|| {
            (self.scale.is_some() && self.sigma.is_none()).then_some(MechanismName::Laplace)
        });
        if let Some(other) = named.filter(|m| *m != name) {
            return Err(Error::invalid(
                "sampling",
                "without-replacement",
                format!(
                    "applies to --mechanism gaussian only (fixed-size batches of a Gaussian, \
                     as dp_accounting's SampledWithoutReplacementDpEvent), not {}",
                    other.cli_name()
                ),
            ));
        }
        if let Some(q) = self.sampling_rate {
            return Err(Error::invalid(
                "sampling_rate",
                q,
                "does not apply with --sampling without-replacement (the batch fraction is \
                 --batch-size / --dataset-size)",
            ));
        }
        if let Some(b) = self.max_batch_size {
            return Err(Error::invalid(
                "max_batch_size",
                b,
                "applies to --sampling truncated-poisson only (fixed-size batches take \
                 --batch-size)",
            ));
        }
        self.refuse_non_gaussian_flags(name, "does not apply with --sampling without-replacement")?;
        let missing = |flag: &'static str| {
            Error::invalid(
                flag,
                "(missing)",
                "is required with --sampling without-replacement",
            )
        };
        let n = self.dataset_size.ok_or_else(|| missing("dataset_size"))?;
        let b = self.batch_size.ok_or_else(|| missing("batch_size"))?;
        Ok(Mechanism::GaussianMixture(
            crate::mechanism::GaussianMixture::WithoutReplacement(
                crate::mechanism::WithoutReplacement::new(need(sigma, "sigma", name)?, b, n)?,
            ),
        ))
    }

    /// The mechanism after `--sampling`: `poisson` makes gaussian subsampled-gaussian and
    /// laplace subsampled-laplace; `none` refuses a subsampled mechanism; no `--sampling`
    /// leaves `name` as it is.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming `sampling` for `truncated-poisson`,
    /// `without-replacement` (not yet supported), `none` with a subsampled mechanism and
    /// `poisson` with a mechanism that has no Poisson-sampled form here.
    pub fn apply_sampling(&self, name: MechanismName) -> Result<MechanismName> {
        use MechanismName as N;
        match (self.sampling, name) {
            (None, n) => Ok(n),
            (Some(Sampling::Poisson), N::Gaussian | N::SubsampledGaussian) => {
                Ok(N::SubsampledGaussian)
            }
            (Some(Sampling::Poisson), N::Laplace | N::SubsampledLaplace) => {
                Ok(N::SubsampledLaplace)
            }
            (Some(Sampling::Poisson), n) => Err(Error::invalid(
                "sampling",
                "poisson",
                format!(
                    "is not supported for --mechanism {} (Poisson sampling applies to gaussian and laplace)",
                    n.cli_name()
                ),
            )),
            (Some(Sampling::None), N::SubsampledGaussian | N::SubsampledLaplace) => {
                Err(Error::invalid(
                    "sampling",
                    "none",
                    format!(
                        "contradicts --mechanism {} (Poisson-sampled); use --sampling poisson",
                        name.cli_name()
                    ),
                ))
            }
            (Some(Sampling::None), n) => Ok(n),
            (Some(Sampling::WithoutReplacement), n) => Err(Error::invalid(
                "sampling",
                "without-replacement",
                format!(
                    "has no single-name form for --mechanism {} here: fixed-size batches are \
                     built by MechanismFlags::mechanism from --dataset-size and --batch-size",
                    n.cli_name()
                ),
            )),
            (Some(Sampling::TruncatedPoisson), N::Gaussian | N::SubsampledGaussian) => {
                Ok(N::SubsampledGaussian)
            }
            (Some(Sampling::TruncatedPoisson), n) => Err(Error::invalid(
                "sampling",
                "truncated-poisson",
                format!(
                    "is not supported for --mechanism {} (truncated Poisson sampling applies to gaussian)",
                    n.cli_name()
                ),
            )),
        }
    }
}

impl MechanismFlags {
    /// The truncated-Poisson-sampled Gaussian from `--sigma`, `--sampling-rate`,
    /// `--dataset-size` and `--max-batch-size` (docs/math.md §17.8).
    ///
    /// # Errors
    /// A missing flag, a flag that does not apply, or invalid values (each named).
    fn truncated_poisson(&self) -> Result<Mechanism> {
        let name = MechanismName::SubsampledGaussian;
        self.refuse_non_gaussian_flags(name, "does not apply to --sampling truncated-poisson")?;
        truncated_poisson_with(
            self.sigma,
            self.sampling_rate,
            self.dataset_size,
            self.max_batch_size,
        )
    }
}

/// The truncated-Poisson-sampled Gaussian from optional flags, naming a missing one.
///
/// # Errors
/// A missing or invalid `sigma`, `sampling_rate`, `dataset_size`, `max_batch_size`.
pub fn truncated_poisson_with(
    sigma: Option<f64>,
    sampling_rate: Option<f64>,
    dataset_size: Option<u64>,
    max_batch_size: Option<u64>,
) -> Result<Mechanism> {
    let missing = |flag: &'static str| {
        Error::invalid(
            flag,
            "(missing)",
            "is required for --sampling truncated-poisson (--sigma, --sampling-rate, \
             --dataset-size, --max-batch-size)",
        )
    };
    crate::mechanism::TruncatedPoisson::mechanism(
        dataset_size.ok_or_else(|| missing("dataset_size"))?,
        sampling_rate.ok_or_else(|| missing("sampling_rate"))?,
        max_batch_size.ok_or_else(|| missing("max_batch_size"))?,
        sigma.ok_or_else(|| missing("sigma"))?,
    )
}

/// Largest `--steps` (10¹⁵, as in sweeps: [`crate::sweep::MAX_STEPS`]).
pub const MAX_STEPS: u64 = crate::sweep::MAX_STEPS;

/// Check a step count given as a signed integer (so that `-1` reaches this range check).
///
/// # Errors
/// [`Error::InvalidParameter`] naming `steps` outside [1, [`MAX_STEPS`]].
pub fn check_steps(steps: i64) -> Result<u64> {
    if steps < 1 || steps as u64 > MAX_STEPS {
        return Err(Error::invalid(
            "steps",
            steps,
            format!("must be an integer in [1, {MAX_STEPS:e}]"),
        ));
    }
    Ok(steps as u64)
}

/// What is being accounted for: one mechanism repeated `--steps` times, or an events file.
#[derive(Debug, Clone, Args)]
pub struct MechanismArgs {
    /// The mechanism and its parameters.
    #[command(flatten)]
    pub flags: MechanismFlags,
    /// Number of compositions, 1 to 10^15.
    #[arg(long, value_parser = crate::cli::args::integer::<i64>, default_value_t = 1, allow_hyphen_values = true)]
    pub steps: i64,
    /// A JSON or TOML file listing (mechanism, count) entries; replaces the mechanism flags.
    #[arg(long, conflicts_with_all = ["mechanism", "sigma", "sampling_rate", "scale", "noise_parameter", "buckets", "parameter", "sensitivity", "sampling", "sensitivities", "probabilities", "dataset_size", "batch_size", "max_batch_size"])]
    pub events: Option<PathBuf>,
}

fn need(v: Option<f64>, flag: &'static str, mech: MechanismName) -> Result<f64> {
    v.ok_or_else(|| {
        Error::invalid(
            flag,
            "(missing)",
            format!("is required for --mechanism {}", mech.cli_name()),
        )
    })
}

fn refuse(v: Option<f64>, flag: &'static str, mech: MechanismName) -> Result<()> {
    match v {
        None => Ok(()),
        Some(x) => Err(Error::invalid(
            flag,
            x,
            format!(
                "does not apply to --mechanism {} (subsampled-gaussian takes --sigma and \
                 --sampling-rate, gaussian --sigma, laplace --scale, subsampled-laplace --scale and --sampling-rate)",
                mech.cli_name()
            ),
        )),
    }
}

impl MechanismName {
    /// The CLI and events-file spelling.
    pub fn cli_name(self) -> &'static str {
        match self {
            MechanismName::Gaussian => "gaussian",
            MechanismName::Laplace => "laplace",
            MechanismName::SubsampledGaussian => "subsampled-gaussian",
            MechanismName::SubsampledLaplace => "subsampled-laplace",
            MechanismName::RandomizedResponse => "randomized-response",
            MechanismName::DiscreteLaplace => "discrete-laplace",
            MechanismName::DiscreteGaussian => "discrete-gaussian",
            MechanismName::MixtureOfGaussians => "mixture-of-gaussians",
        }
    }
}

impl MechanismArgs {
    /// The single mechanism (errors name the missing flag).
    ///
    /// # Errors
    /// Missing or invalid flags.
    pub fn mechanism(&self) -> Result<Mechanism> {
        self.flags.mechanism()
    }

    /// The steps count, in [1, [`MAX_STEPS`]].
    ///
    /// # Errors
    /// `steps` out of range.
    pub fn steps(&self) -> Result<u64> {
        check_steps(self.steps)
    }

    /// The event to compose (once).
    ///
    /// # Errors
    /// Missing/invalid flags, unreadable or malformed events file.
    pub fn event(&self) -> Result<DpEvent> {
        if let Some(path) = &self.events {
            return read_events(path);
        }
        let m = self.mechanism()?;
        let steps = self.steps()?;
        Ok(DpEvent::SelfComposed {
            event: Box::new(DpEvent::from(m)),
            count: steps,
        })
    }
}

/// Build a mechanism from its CLI name and flags.
///
/// # Errors
/// Missing, inapplicable or invalid parameters, named by flag.
pub fn mechanism_from(
    name: MechanismName,
    sigma: Option<f64>,
    sampling_rate: Option<f64>,
    scale: Option<f64>,
) -> Result<Mechanism> {
    Ok(match name {
        MechanismName::Gaussian => {
            refuse(sampling_rate, "sampling_rate", name)?;
            refuse(scale, "scale", name)?;
            Mechanism::Gaussian(Gaussian::new(need(sigma, "sigma", name)?)?)
        }
        MechanismName::Laplace => {
            refuse(sigma, "sigma", name)?;
            refuse(sampling_rate, "sampling_rate", name)?;
            Mechanism::Laplace(Laplace::new(need(scale, "scale", name)?)?)
        }
        MechanismName::SubsampledGaussian => {
            refuse(scale, "scale", name)?;
            Mechanism::SubsampledGaussian(SubsampledGaussian::new(
                need(sigma, "sigma", name)?,
                need(sampling_rate, "sampling_rate", name)?,
            )?)
        }
        MechanismName::RandomizedResponse | MechanismName::DiscreteLaplace => {
            mechanism_with(name, sigma, sampling_rate, scale, &LatticeFlags::default())?
        }
        MechanismName::SubsampledLaplace => {
            refuse(sigma, "sigma", name)?;
            Mechanism::SubsampledLaplace(SubsampledLaplace::new(
                need(scale, "scale", name)?,
                need(sampling_rate, "sampling_rate", name)?,
            )?)
        }
        MechanismName::DiscreteGaussian => {
            discrete_gaussian_with(sigma, sampling_rate, scale, &LatticeFlags::default())?
        }
        MechanismName::MixtureOfGaussians => mixture_of_gaussians(
            sigma,
            &[("sampling_rate", sampling_rate), ("scale", scale)],
            None,
            None,
        )?,
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EventsFile {
    events: Vec<EventEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EventEntry {
    mechanism: String,
    #[serde(alias = "noise_multiplier")]
    sigma: Option<f64>,
    #[serde(alias = "sampling_probability")]
    sampling_rate: Option<f64>,
    /// Truncated Poisson sampling (`truncated_subsampled_gaussian` entries) and fixed-size
    /// batches (`sampled_without_replacement` entries).
    #[serde(
        alias = "source_dataset_size",
        default,
        deserialize_with = "entry_dataset_size"
    )]
    dataset_size: Option<u64>,
    /// Fixed-size batches (`sampled_without_replacement` entries).
    #[serde(alias = "sample_size", default, deserialize_with = "entry_batch_size")]
    batch_size: Option<u64>,
    /// Truncated Poisson sampling (`truncated_subsampled_gaussian` entries).
    #[serde(
        alias = "truncated_batch_size",
        default,
        deserialize_with = "entry_max_batch_size"
    )]
    max_batch_size: Option<u64>,
    scale: Option<f64>,
    #[serde(deserialize_with = "entry_count")]
    count: u64,
    noise_parameter: Option<f64>,
    buckets: Option<f64>,
    parameter: Option<f64>,
    sensitivity: Option<f64>,
    sensitivities: Option<Vec<f64>>,
    probabilities: Option<Vec<f64>>,
}

/// An integer field of an events entry: an integer, or a number whose value is an exact
/// non-negative integer (`1e3`, `1000.0`: what `json.dump` writes for a count computed as a
/// float); anything else is refused naming the field. Ranges are checked afterwards.
/// A JSON `null` is `None` (an absent optional field).
fn entry_integer<'de, D: serde::Deserializer<'de>>(
    d: D,
    field: &str,
) -> std::result::Result<Option<u64>, D::Error> {
    use serde::de::Error as _;
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Number {
        Null(()),
        Unsigned(u64),
        Signed(i64),
        Real(f64),
        Text(String),
    }
    match Number::deserialize(d)? {
        Number::Null(()) => Ok(None),
        Number::Unsigned(u) => Ok(Some(u)),
        // Below 2^64 an f64 with no fractional part converts exactly.
        Number::Real(x) if x >= 0.0 && x.fract() == 0.0 && x < 18_446_744_073_709_551_616.0 => {
            Ok(Some(x as u64))
        }
        Number::Signed(i) => Err(D::Error::custom(format!(
            "{field} = {i}: must be a non-negative integer"
        ))),
        Number::Real(x) if x.fract() == 0.0 && x > 0.0 => Err(D::Error::custom(format!(
            "{field} = {x:e}: must be an integer below 2^64{}",
            if field == "count" {
                " (a count at most 1e15)"
            } else {
                ""
            }
        ))),
        Number::Real(x) => Err(D::Error::custom(format!(
            "{field} = {}: must be a non-negative integer",
            crate::error::short_number(&x.to_string())
        ))),
        Number::Text(t) => Err(D::Error::custom(format!(
            "{field} = {t:?}: must be a number, not text"
        ))),
    }
}

fn entry_count<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<u64, D::Error> {
    use serde::de::Error as _;
    entry_integer(d, "count")?
        .ok_or_else(|| D::Error::custom("count = null: must be a non-negative integer"))
}

fn entry_dataset_size<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<u64>, D::Error> {
    entry_integer(d, "dataset_size")
}

fn entry_batch_size<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<u64>, D::Error> {
    entry_integer(d, "batch_size")
}

fn entry_max_batch_size<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<u64>, D::Error> {
    entry_integer(d, "max_batch_size")
}

/// A `sampled_without_replacement` entry (fixed-size batches of a Gaussian, docs/math.md
/// §17.7): `sigma`, `dataset_size` (or `source_dataset_size`), `batch_size` (or
/// `sample_size`) and `count`, nothing else.
fn without_replacement_entry(e: &EventEntry) -> Result<DpEvent> {
    if e.mechanism.replace('-', "_") != "sampled_without_replacement" {
        return Err(Error::invalid(
            "batch_size",
            e.batch_size.unwrap_or(0),
            "applies to sampled_without_replacement entries only",
        ));
    }
    if e.count == 0 {
        return Err(Error::invalid("count", 0, "must be >= 1"));
    }
    let others = [
        ("sampling_rate", e.sampling_rate),
        ("scale", e.scale),
        ("max_batch_size", e.max_batch_size.map(|b| b as f64)),
        ("noise_parameter", e.noise_parameter),
        ("buckets", e.buckets),
        ("parameter", e.parameter),
        ("sensitivity", e.sensitivity),
    ];
    if let Some((flag, Some(v))) = others.iter().find(|(_, v)| v.is_some()) {
        return Err(Error::invalid(
            flag,
            v,
            "does not apply to sampled_without_replacement entries",
        ));
    }
    if e.sensitivities.is_some() || e.probabilities.is_some() {
        return Err(Error::invalid(
            "sensitivities",
            "(given)",
            "does not apply to sampled_without_replacement entries",
        ));
    }
    let missing = |flag: &'static str| {
        Error::invalid(
            flag,
            "(missing)",
            "is required in a sampled_without_replacement entry",
        )
    };
    let sigma = e.sigma.ok_or_else(|| missing("sigma"))?;
    let n = e.dataset_size.ok_or_else(|| missing("dataset_size"))?;
    let b = e.batch_size.ok_or_else(|| missing("batch_size"))?;
    crate::mechanism::WithoutReplacement::new(sigma, b, n)?;
    Ok(DpEvent::SelfComposed {
        event: Box::new(DpEvent::SampledWithoutReplacement {
            source_dataset_size: n,
            sample_size: b,
            event: Box::new(DpEvent::Gaussian { sigma }),
        }),
        count: e.count,
    })
}

/// Read an events file: `{"events": [{"mechanism": "subsampled-gaussian", "sigma": 0.8,
/// "sampling_rate": 0.01, "count": 1000}, ...]}` in JSON, or the same as TOML
/// `[[events]]` tables. The format is chosen by extension (`.toml`, else JSON).
///
/// # Errors
/// [`Error::Io`] when unreadable, [`Error::Parse`] when malformed (naming the entry).
pub fn read_events(path: &Path) -> Result<DpEvent> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    let parse_err = |m: String| Error::Parse {
        path: path.display().to_string(),
        message: m,
    };
    // A UTF-8 byte-order mark (as some editors write) is not part of the document.
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let file: EventsFile = if path.extension().and_then(|e| e.to_str()) == Some("toml") {
        toml::from_str(text).map_err(|e| parse_err(e.to_string()))?
    } else {
        serde_json::from_str(text).map_err(|e| parse_err(e.to_string()))?
    };
    if file.events.is_empty() {
        return Err(parse_err("the events list is empty".into()));
    }
    let mut events = Vec::new();
    for (i, e) in file.events.iter().enumerate() {
        if e.count > crate::event::MAX_COUNT {
            return Err(parse_err(format!(
                "events[{i}]: count = {} must be at most 10^15",
                e.count
            )));
        }
        if e.batch_size.is_some() || e.mechanism.replace('-', "_") == "sampled_without_replacement"
        {
            events.push(
                without_replacement_entry(e)
                    .map_err(|err| parse_err(format!("events[{i}]: {err}")))?,
            );
            continue;
        }
        if e.mechanism.replace('-', "_") == "truncated_subsampled_gaussian" {
            if e.count == 0 {
                return Err(parse_err(format!("events[{i}]: count must be >= 1")));
            }
            let m =
                truncated_poisson_with(e.sigma, e.sampling_rate, e.dataset_size, e.max_batch_size)
                    .map_err(|err| parse_err(format!("events[{i}]: {err}")))?;
            events.push(DpEvent::SelfComposed {
                event: Box::new(DpEvent::from(m)),
                count: e.count,
            });
            continue;
        }
        if e.dataset_size.is_some() || e.max_batch_size.is_some() {
            return Err(parse_err(format!(
                "events[{i}]: dataset_size and max_batch_size apply to \
                 truncated_subsampled_gaussian (dataset_size also to sampled_without_replacement) \
                 entries only"
            )));
        }
        let name = MechanismName::from_str(&e.mechanism, false).map_err(|_| {
            parse_err(format!(
                "events[{i}]: unknown mechanism {:?} (gaussian, laplace, subsampled-gaussian, \
                 randomized-response, discrete-laplace, subsampled-laplace, discrete-gaussian, \
                 mixture-of-gaussians, truncated_subsampled_gaussian, \
                 sampled_without_replacement)",
                e.mechanism
            ))
        })?;
        if e.count == 0 {
            return Err(parse_err(format!("events[{i}]: count must be >= 1")));
        }
        let lattice = LatticeFlags {
            noise_parameter: e.noise_parameter,
            buckets: e.buckets,
            parameter: e.parameter,
            sensitivity: e.sensitivity,
        };
        let m = if name == MechanismName::MixtureOfGaussians {
            let mut others = vec![("sampling_rate", e.sampling_rate), ("scale", e.scale)];
            others.extend(lattice.given().into_iter().map(|(n, v)| (n, Some(v))));
            mixture_of_gaussians(
                e.sigma,
                &others,
                e.sensitivities.as_deref(),
                e.probabilities.as_deref(),
            )
        } else if e.sensitivities.is_some() || e.probabilities.is_some() {
            Err(Error::invalid(
                "sensitivities",
                e.mechanism.as_str(),
                "sensitivities and probabilities apply to mixture-of-gaussians only",
            ))
        } else {
            mechanism_with(name, e.sigma, e.sampling_rate, e.scale, &lattice)
        }
        .map_err(|err| parse_err(format!("events[{i}]: {err}")))?;
        events.push(DpEvent::SelfComposed {
            event: Box::new(DpEvent::from(m)),
            count: e.count,
        });
    }
    let all = DpEvent::Composed { events };
    // The entries' counts add per mechanism: the total is checked here, by file.
    crate::event::Composition::from_event(&all, 1, "events")
        .map_err(|err| parse_err(err.to_string()))?;
    Ok(all)
}

/// Accountant selection and its parameters. A flag that is not a parameter of the chosen
/// accountant is refused (for `compare`, each accountant takes the flags that apply to it).
#[derive(Debug, Clone, Args)]
pub struct AccountantArgs {
    /// Accountant (default edgeworth).
    #[arg(long, value_enum)]
    pub accountant: Option<AccountantKind>,
    /// Edgeworth order 0–3 (0 = CLT) for edgeworth and saddlepoint (default 1).
    #[arg(long, value_parser = crate::cli::args::integer::<i64>, allow_hyphen_values = true)]
    pub order: Option<i64>,
    /// Adjacency: add-remove (max of both orderings), remove or add.
    #[arg(long, value_enum, default_value_t = Adjacency::AddRemove)]
    pub adjacency: Adjacency,
    /// MPFR precision in bits for certified cumulants (edgeworth, saddlepoint); 53 selects
    /// the fast f64 path.
    #[arg(long, value_parser = crate::cli::args::integer::<i64>, default_value_t = 256, allow_hyphen_values = true)]
    pub precision: i64,
    /// Relative tolerance: contour (on δ, in (0, 1); default 1e-9) and pld (target width of
    /// the ε bracket, in [1e-6, 0.5]; default 5e-3). Passed on as given: pld refuses one its
    /// grid budget cannot honour.
    #[arg(long, allow_hyphen_values = true)]
    pub tolerance: Option<f64>,
    /// Add the certified Edgeworth error bracket (lower/upper; edgeworth only).
    #[arg(long)]
    pub bracket: bool,
    /// Most grid points the PLD accountant may use per distribution (memory ≈ 40 bytes each;
    /// pld only; default 2^22).
    #[arg(long, value_parser = crate::cli::args::integer::<i64>, allow_hyphen_values = true)]
    pub grid_budget: Option<i64>,
    /// Saddle-point accountant: the Kolmogorov-distance (Berry–Esseen / DGG) bracket alone,
    /// without the Fourier part added where that bracket is loose.
    #[arg(long)]
    pub kolmogorov_only: bool,
}

impl AccountantArgs {
    /// The accountant kind (edgeworth unless `--accountant` names another).
    pub fn kind(&self) -> AccountantKind {
        self.accountant.unwrap_or(AccountantKind::Edgeworth)
    }

    /// The flags as settings for every accountant (each takes those that apply).
    ///
    /// # Errors
    /// Out-of-range order, precision, tolerance or grid budget.
    pub fn settings(&self) -> Result<AccountantSettings> {
        let precision = match self.precision {
            53 => None,
            p if (1..=i64::from(u32::MAX)).contains(&p) => Some(Precision::new(p as u32)?),
            p => return Err(Error::invalid("precision", p, "must be 53 or a bit count")),
        };
        let order = match self.order {
            None => None,
            Some(o @ 0..=3) => Some(o as u8),
            Some(o) => return Err(Error::invalid("order", o, "must be 0, 1, 2 or 3")),
        };
        // The range is each accountant's own (contour (0, 1), pld [1e-6, 0.5]), checked when
        // it is built, so that a message never states a range the accountant does not have.
        let grid_budget = match self.grid_budget {
            None => None,
            Some(g) if g >= 2 => Some(usize::try_from(g).unwrap_or(usize::MAX)),
            Some(g) => return Err(Error::invalid("grid_budget", g, "must be an integer >= 2")),
        };
        Ok(AccountantSettings {
            adjacency: self.adjacency,
            order,
            precision,
            tolerance: self.tolerance,
            bracket: self.bracket,
            grid_budget,
            kolmogorov_only: self.kolmogorov_only,
        })
    }

    /// The chosen accountant's typed configuration.
    ///
    /// # Errors
    /// Out-of-range values, or a flag that is not a parameter of the chosen accountant.
    pub fn config(&self) -> Result<AccountantConfig> {
        let s = self.settings()?;
        let kind = self.kind();
        if let Some((flag, value)) = s.inapplicable(kind).into_iter().next() {
            return Err(Error::invalid(
                flag,
                value,
                format!("is not a parameter of --accountant {kind}"),
            ));
        }
        Ok(s.config(kind))
    }
}

/// Print one report as text or JSON.
pub fn print_report(r: &Report, format: Format) {
    match format {
        Format::Json => println!("{}", report_json(r)),
        Format::Text => print!("{}", report_text(r)),
    }
}

/// A number for JSON: finite numbers as numbers (−0 as 0), +∞ / −∞ as the strings `"inf"` /
/// `"-inf"` (an unbounded ε, a vacuous end, log10 of δ = 0), NaN as `"nan"`. JSON has no
/// infinity; a string keeps the document valid and unambiguous (`null` means "not known").
pub fn json_num(x: f64) -> serde_json::Value {
    if x.is_finite() {
        serde_json::json!(if x == 0.0 { 0.0 } else { x })
    } else if x.is_nan() {
        serde_json::Value::String("nan".into())
    } else if x > 0.0 {
        serde_json::Value::String("inf".into())
    } else {
        serde_json::Value::String("-inf".into())
    }
}

fn json_opt(x: Option<f64>) -> serde_json::Value {
    x.map_or(serde_json::Value::Null, json_num)
}

/// A report as a JSON value; numbers as [`json_num`] writes them.
pub fn report_json(r: &Report) -> serde_json::Value {
    let mut v = serde_json::to_value(r).expect("invariant: Report serialises");
    v["epsilon"] = json_num(r.epsilon);
    v["delta"] = json_num(r.delta);
    v["log10_delta"] = json_num(r.log10_delta);
    v["lower"] = json_opt(r.lower);
    v["upper"] = json_opt(r.upper);
    for (i, o) in r.orderings.iter().enumerate() {
        v["orderings"][i]["value"] = json_num(o.value);
        v["orderings"][i]["lower"] = json_opt(o.lower);
        v["orderings"][i]["upper"] = json_opt(o.upper);
    }
    v
}

/// A report as aligned text. No number prints as `inf` or `NaN`: an infinite value is
/// "unbounded" (ε) and log10 of δ = 0 is left out.
pub fn report_text(r: &Report) -> String {
    let mut s = String::new();
    let kind = match r.order {
        Some(o) => format!("{} (order {o})", r.accountant),
        None => r.accountant.clone(),
    };
    s.push_str(&format!("accountant  {kind}\n"));
    s.push_str(&format!(
        "guarantee   {}{}\n",
        r.guarantee.name(),
        if r.vacuous { " (vacuous)" } else { "" }
    ));
    s.push_str(&format!("adjacency   {}\n", r.adjacency));
    s.push_str(&format!("epsilon     {}\n", fmt_num(r.epsilon)));
    if r.log10_delta.is_finite() {
        s.push_str(&format!(
            "delta       {}  (log10 {})\n",
            fmt_num(r.delta),
            fmt_num(r.log10_delta)
        ));
    } else {
        s.push_str(&format!("delta       {}\n", fmt_num(r.delta)));
    }
    if r.lower.is_some() || r.upper.is_some() {
        s.push_str(&format!(
            "bracket     [{}, {}]\n",
            r.lower.map(fmt_num).unwrap_or_else(|| "-".into()),
            r.upper.map(fmt_num).unwrap_or_else(|| "-".into())
        ));
    }
    for o in &r.orderings {
        s.push_str(&format!("  {:<8}  {}\n", o.direction, fmt_num(o.value)));
    }
    if !r.valid {
        s.push_str("WARNING     the approximation is invalid at this point (see notes)\n");
    }
    for n in &r.notes {
        s.push_str(&format!("note        {}\n", plain_text(n)));
    }
    if r.seconds > 0.0 {
        s.push_str(&format!("seconds     {:.6}\n", r.seconds));
    }
    s
}

/// Format a number compactly with enough digits; +∞ is "unbounded", −∞ "-unbounded", NaN
/// "undefined", −0 prints as 0.
pub fn fmt_num(x: f64) -> String {
    if x.is_nan() {
        return "undefined".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "unbounded" } else { "-unbounded" }.into();
    }
    let x = if x == 0.0 { 0.0 } else { x };
    if x != 0.0 && (x.abs() < 1e-4 || x.abs() >= 1e6) {
        format!("{x:.10e}")
    } else {
        format!("{x:.10}")
    }
}

/// Text for people: the words `inf`, `-inf`, `infinity` and `NaN` (as Rust prints non-finite
/// numbers inside library messages) become `unbounded` and `undefined`, and numbers longer than
/// 20 characters (an f64 printed with `{}`, 1e300 as 301 digits) are written in exponent form.
/// Not for digits that must stay as they are ([`plain_words`]).
pub fn plain_text(s: &str) -> String {
    plain_words(&crate::error::compact_numbers(s))
}

/// [`plain_text`]'s word replacement alone: for text whose long numbers must keep every digit
/// (the 40-digit ends of a certified enclosure, rounded outward).
pub fn plain_words(s: &str) -> String {
    replace_words(s, |w| match w {
        "inf" | "infinity" | "Infinity" => Some("unbounded"),
        "NaN" | "nan" => Some("undefined"),
        _ => None,
    })
}

/// An error message for people: non-finite numbers as `∞`, `-∞` and "not a number" (an
/// interval reads `[0, ∞)`).
pub fn error_text(s: &str) -> String {
    replace_words(s, |w| match w {
        "inf" | "infinity" | "Infinity" => Some("∞"),
        "NaN" | "nan" => Some("not-a-number"),
        _ => None,
    })
}

/// Replace whole words (runs of letters, digits and `_`) by `f`'s answer. A word inside a
/// path or file name is not a word of the message: runs joined by `/`, `\` or a `.` followed by
/// a letter or digit stay whole (`/tmp/inf/nan.toml` is kept; before it read `/tmp/∞/not-a-number.toml`).
pub fn replace_words(s: &str, f: impl Fn(&str) -> Option<&'static str>) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut token = String::new();
    let word = |c: char| c.is_alphanumeric() || c == '_';
    for (i, &c) in chars.iter().enumerate() {
        let joins_path = c == '/'
            || c == '\\'
            || (c == '.' && !token.is_empty() && chars.get(i + 1).is_some_and(|&n| word(n)));
        if word(c) || joins_path {
            token.push(c);
        } else {
            out.push_str(f(&token).unwrap_or(&token));
            token.clear();
            out.push(c);
        }
    }
    out.push_str(f(&token).unwrap_or(&token));
    out
}
