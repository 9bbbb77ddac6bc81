//! `ewtune calibrate`: the smallest σ (or largest steps / sampling rate) meeting (ε, δ).

use super::args::{check_steps, fmt_num, AccountantArgs, Format, MechanismFlags, MechanismName};
use crate::calibrate::{calibrate, CalibrationInfo, CalibrationParams, Solve};
use crate::mechanism::Mechanism;
use clap::Args;

/// Arguments of `ewtune calibrate`.
#[derive(Debug, Args)]
pub struct CalibrateArgs {
    /// Target ε > 0.
    #[arg(long, allow_hyphen_values = true)]
    pub target_epsilon: f64,
    /// δ ∈ (0, 1).
    #[arg(long, allow_hyphen_values = true)]
    pub delta: f64,
    /// The mechanism flags of every subcommand. DP-SGD is the subsampled Gaussian
    /// (`--sigma`, `--sampling-rate`); `--mechanism gaussian` is q = 1. With --solve sigma,
    /// `--sigma` is the starting point; with --solve sampling-rate, `--sampling-rate` is.
    #[command(flatten)]
    pub mechanism: MechanismFlags,
    /// Number of DP-SGD steps, 1 to 10^15 (required unless --solve steps).
    #[arg(long, value_parser = crate::cli::args::integer::<i64>, allow_hyphen_values = true)]
    pub steps: Option<i64>,
    /// What to solve for: sigma (smallest), steps (largest) or sampling-rate (largest).
    #[arg(long, value_enum, default_value_t = SolveArg::Sigma)]
    pub solve: SolveArg,
    /// Relative tolerance on σ or q (steps are solved exactly).
    #[arg(long, default_value_t = 1e-4, allow_hyphen_values = true)]
    pub rel_tol: f64,
    /// Accountant options.
    #[command(flatten)]
    pub accountant: AccountantArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// `--solve` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SolveArg {
    /// The smallest noise multiplier σ.
    Sigma,
    /// The largest number of steps.
    Steps,
    /// The largest sampling rate q.
    #[value(alias = "sampling_rate")]
    SamplingRate,
    /// Randomized response: the smallest noise parameter p.
    #[value(alias = "noise_parameter")]
    NoiseParameter,
    /// Discrete Laplace: the largest parameter a.
    Parameter,
    /// Laplace and Poisson-subsampled Laplace: the smallest scale b (`--scale` is the starting
    /// point).
    Scale,
}

impl SolveArg {
    /// The DP-SGD quantity solved for.
    ///
    /// # Errors
    /// `noise-parameter` / `parameter` / `scale`, which belong to other mechanisms.
    fn dpsgd(self) -> crate::Result<Solve> {
        match self {
            SolveArg::Sigma => Ok(Solve::Sigma),
            SolveArg::Steps => Ok(Solve::Steps),
            SolveArg::SamplingRate => Ok(Solve::SamplingRate),
            SolveArg::NoiseParameter | SolveArg::Parameter | SolveArg::Scale => {
                let name = match self {
                    SolveArg::Parameter => "parameter",
                    SolveArg::Scale => "scale",
                    _ => "noise-parameter",
                };
                Err(crate::Error::invalid(
                    "solve",
                    name,
                    "applies to --mechanism randomized-response (noise-parameter), \
                     discrete-laplace (parameter), or laplace and subsampled-laplace (scale)",
                ))
            }
        }
    }
}

impl CalibrateArgs {
    /// σ and q from the mechanism flags: the subsampled Gaussian (either may be the solved
    /// one, then it is only a starting point), or the Gaussian mechanism (q = 1).
    ///
    /// # Errors
    /// Laplace (not DP-SGD), or flags the mechanism has no use for.
    fn sigma_and_rate(&self, solve: Solve) -> crate::Result<(Option<f64>, Option<f64>)> {
        let f = &self.mechanism;
        let name = match f.mechanism {
            Some(n) => n,
            None if f.scale.is_some() => MechanismName::Laplace,
            None => MechanismName::SubsampledGaussian,
        };
        if f.mechanism.is_none()
            && f.sampling.is_none()
            && f.sampling_rate.is_none()
            && name == MechanismName::SubsampledGaussian
            && solve != Solve::SamplingRate
        {
            // `epsilon` infers the Gaussian from --sigma alone; calibrate solves DP-SGD unless
            // told otherwise, so it says how to ask for the Gaussian.
            return Err(crate::Error::invalid(
                "sampling_rate",
                "(missing)",
                "is required: calibrate solves DP-SGD (the Poisson-subsampled Gaussian) unless \
                 --mechanism says otherwise; give --mechanism gaussian for the Gaussian \
                 mechanism (q = 1)",
            ));
        }
        let name = f.apply_sampling(name)?;
        if f.sampling == Some(super::args::Sampling::TruncatedPoisson) {
            return Err(crate::Error::invalid(
                "sampling",
                "truncated-poisson",
                "calibrate does not solve for truncated Poisson sampling yet; use epsilon or \
                 delta with --sampling truncated-poisson",
            ));
        }
        // Fill the solved parameter with a placeholder so that the shared checks run.
        let sigma = f.sigma.or((solve == Solve::Sigma).then_some(1.0));
        let rate = match (name, solve) {
            (MechanismName::SubsampledGaussian, Solve::SamplingRate) => {
                f.sampling_rate.or(Some(0.5))
            }
            _ => f.sampling_rate,
        };
        let m = super::args::mechanism_with(name, sigma, rate, f.scale, &f.lattice)?;
        match m {
            Mechanism::Laplace(_) => Err(crate::Error::invalid(
                "mechanism",
                name.cli_name(),
                "calibrate solves laplace with --solve scale",
            )),
            Mechanism::Gaussian(_) if solve == Solve::SamplingRate => Err(crate::Error::invalid(
                "solve",
                "sampling-rate",
                "needs --mechanism subsampled-gaussian (gaussian has q = 1)",
            )),
            Mechanism::Gaussian(_) => Ok((f.sigma, Some(1.0))),
            Mechanism::RandomizedResponse(_) | Mechanism::DiscreteLaplace(_) => {
                Err(crate::Error::invalid(
                    "mechanism",
                    name.cli_name(),
                    "calibrate solves DP-SGD: subsampled-gaussian, or gaussian (q = 1); the \
                     lattice mechanisms' noise parameter is not calibrated here",
                ))
            }
            Mechanism::SubsampledLaplace(_) => Err(crate::Error::invalid(
                "mechanism",
                name.cli_name(),
                "calibrate solves subsampled-laplace with --solve scale",
            )),
            Mechanism::DiscreteGaussian(_) => Err(crate::Error::Internal(
                "calibrate: the discrete Gaussian is calibrated by the lattice path".into(),
            )),
            Mechanism::GaussianMixture(_) => Err(crate::Error::Internal(
                "calibrate: a mixture of Gaussians is calibrated by the noise-knob path".into(),
            )),
            Mechanism::TruncatedPoisson(_) => Err(crate::Error::invalid(
                "sampling",
                "truncated-poisson",
                "calibrate does not solve for truncated Poisson sampling yet; use epsilon or \
                 delta with --sampling truncated-poisson",
            )),
            _ => Ok((f.sigma, f.sampling_rate)),
        }
    }

    /// The library parameters.
    ///
    /// # Errors
    /// Invalid flags.
    pub fn params(&self) -> crate::Result<CalibrationParams> {
        let steps = self.steps.map(check_steps).transpose()?;
        let solve = self.solve.dpsgd()?;
        let (sigma, sampling_rate) = self.sigma_and_rate(solve)?;
        Ok(CalibrationParams {
            accountant: self.accountant.config()?,
            target_epsilon: self.target_epsilon,
            delta: self.delta,
            solve,
            sigma,
            sampling_rate,
            steps,
            rel_tol: self.rel_tol,
            ..CalibrationParams::default()
        })
    }
}

/// The answer as JSON: the solved value under its own name plus the context.
pub fn info_json(info: &CalibrationInfo) -> serde_json::Value {
    let mut v = serde_json::json!({
        "solve": info.solve.name(),
        "sigma": info.sigma,
        "steps": info.steps,
        "sampling_rate": info.sampling_rate,
        "target_epsilon": info.target_epsilon,
        "delta": info.delta,
        "log10_delta": info.delta.log10(),
        "epsilon": super::args::json_num(info.epsilon),
        "accountant": info.accountant,
        "order": info.report.order,
        "adjacency": info.report.adjacency.to_string(),
        "guarantee": info.guarantee.name(),
        "iterations": info.iterations,
        "evaluations": info.evaluations,
        "monotone": info.monotone,
        "bracket": [info.bracket.0, info.bracket.1],
        "notes": info.notes,
        "report": super::args::report_json(&info.report),
        "seconds": info.seconds,
    });
    v["value"] = v[info.solve.name()].clone();
    v
}

/// The answer as text.
pub fn info_text(info: &CalibrationInfo) -> String {
    let mut s = String::new();
    let kind = match info.report.order {
        Some(o) => format!("{} (order {o})", info.accountant),
        None => info.accountant.clone(),
    };
    s.push_str(&format!("accountant      {kind}\n"));
    s.push_str(&format!("adjacency       {}\n", info.report.adjacency));
    s.push_str(&format!("solved for      {}\n", info.solve.name()));
    s.push_str(&format!("sigma           {}\n", fmt_num(info.sigma)));
    s.push_str(&format!(
        "sampling_rate   {}\n",
        fmt_num(info.sampling_rate)
    ));
    s.push_str(&format!("steps           {}\n", info.steps));
    s.push_str(&format!("delta           {}\n", fmt_num(info.delta)));
    s.push_str(&format!(
        "epsilon         {}  (target {})\n",
        fmt_num(info.epsilon),
        fmt_num(info.target_epsilon)
    ));
    s.push_str(&format!("guarantee       {}\n", info.guarantee.name()));
    s.push_str(&format!(
        "iterations      {} ({} evaluations)\n",
        info.iterations, info.evaluations
    ));
    for n in &info.notes {
        s.push_str(&format!("note            {}\n", super::args::plain_text(n)));
    }
    s.push_str(&format!("seconds         {:.6}\n", info.seconds));
    s
}

/// Run `ewtune calibrate`.
///
/// # Errors
/// Bad input or a failed computation.
pub fn run(a: CalibrateArgs) -> anyhow::Result<()> {
    if let Some(mechanism) = a.mechanism.mechanism.filter(|m| {
        matches!(
            m,
            MechanismName::RandomizedResponse
                | MechanismName::DiscreteLaplace
                | MechanismName::DiscreteGaussian
                | MechanismName::MixtureOfGaussians
        )
    }) {
        return run_lattice(&a, mechanism);
    }
    if matches!(
        a.mechanism.sampling,
        Some(super::args::Sampling::WithoutReplacement | super::args::Sampling::TruncatedPoisson)
    ) {
        return run_sampled(&a);
    }
    if a.solve == SolveArg::Scale || is_laplace(&a.mechanism) {
        return run_scale(&a);
    }
    let info = calibrate(&a.params()?)?;
    match a.format {
        Format::Json => println!("{}", info_json(&info)),
        Format::Text => print!("{}", info_text(&info)),
    }
    Ok(())
}

/// `ewtune calibrate` for a lattice mechanism: the smallest noise parameter of randomized
/// response (`--solve noise-parameter`) or the largest parameter a of the discrete Laplace
/// mechanism (`--solve parameter`).
///
/// # Errors
/// Bad input (a flag that does not apply, a missing `--steps`), or a failed computation.
fn run_lattice(a: &CalibrateArgs, name: MechanismName) -> anyhow::Result<()> {
    use crate::calibrate_lattice::{calibrate_lattice, LatticeKnob};
    let f = &a.mechanism;
    let l = &f.lattice;
    // Fill the solved knob with a placeholder so that the shared flag checks run.
    let mut flags = l.clone();
    let rr = name == MechanismName::RandomizedResponse;
    flags.noise_parameter = flags.noise_parameter.or(rr.then_some(0.5));
    let dg = name == MechanismName::DiscreteGaussian;
    let mog = name == MechanismName::MixtureOfGaussians;
    flags.parameter = flags.parameter.or((!rr && !dg && !mog).then_some(1.0));
    let sigma = f.sigma.or((dg || mog).then_some(1.0));
    let mechanism = if mog {
        // The mixture's flags are checked by the shared parser; σ is only a placeholder.
        let mut g = f.clone();
        g.sigma = sigma;
        g.mechanism()?
    } else {
        super::args::mechanism_with(name, sigma, f.sampling_rate, f.scale, &flags)?
    };
    let (knob, want) = match mechanism {
        Mechanism::RandomizedResponse(r) => (
            LatticeKnob::NoiseParameter {
                buckets: r.buckets(),
            },
            SolveArg::NoiseParameter,
        ),
        Mechanism::DiscreteLaplace(d) => (
            LatticeKnob::Parameter {
                sensitivity: d.sensitivity(),
            },
            SolveArg::Parameter,
        ),
        Mechanism::DiscreteGaussian(g) => (
            LatticeKnob::Sigma {
                sensitivity: g.sensitivity(),
            },
            SolveArg::Sigma,
        ),
        Mechanism::GaussianMixture(mixture) => {
            (LatticeKnob::MixtureSigma { mixture }, SolveArg::Sigma)
        }
        other => {
            return Err(crate::Error::Internal(format!(
                "calibrate: {} has no noise knob here",
                other.describe()
            ))
            .into())
        }
    };
    if a.solve != want {
        return Err(crate::Error::invalid(
            "solve",
            format!("{:?}", a.solve).to_lowercase(),
            format!(
                "--mechanism {} calibrates {}",
                name.cli_name(),
                match want {
                    SolveArg::Parameter => "--solve parameter",
                    SolveArg::Sigma => "--solve sigma",
                    _ => "--solve noise-parameter",
                }
            ),
        )
        .into());
    }
    let steps = match a.steps {
        Some(s) => check_steps(s)?,
        None => {
            return Err(crate::Error::invalid("steps", "(missing)", "is required").into());
        }
    };
    let c = calibrate_lattice(
        &a.accountant.config()?,
        knob,
        steps,
        a.target_epsilon,
        a.delta,
        a.rel_tol,
    )?;
    let key = match want {
        SolveArg::Parameter => "parameter",
        SolveArg::Sigma => "sigma",
        _ => "noise_parameter",
    };
    print_solved(
        a,
        &Solved {
            key,
            value: c.value,
            other_end: serde_json::json!(c.other_end),
            fields: &[],
            report: &c.report,
            evaluations: c.evaluations,
            steps,
        },
    );
    Ok(())
}

/// The per-step event at a noise multiplier σ.
type SigmaEvent = Box<dyn Fn(f64) -> crate::Result<crate::event::DpEvent>>;

/// `ewtune calibrate --sampling truncated-poisson` or `--sampling without-replacement`: the
/// smallest σ (`--solve sigma` only; `--sigma` is the starting point) for truncated Poisson
/// sampling (docs/math.md §17.8) or fixed-size batches (docs/math.md §17.7, under
/// `--adjacency replace-one`), by [`crate::calibrate_lattice::calibrate_sigma`]: ε is
/// non-increasing in σ for both (a larger σ is a post-processing of a smaller one; the
/// truncation weights do not depend on σ).
///
/// # Errors
/// Bad input (another `--solve`, a flag that does not apply, a missing `--steps`), or a
/// failed computation.
fn run_sampled(a: &CalibrateArgs) -> anyhow::Result<()> {
    use super::args::Sampling;
    use crate::event::DpEvent;
    let f = &a.mechanism;
    let scheme = match f.sampling {
        Some(Sampling::TruncatedPoisson) => "truncated-poisson",
        _ => "without-replacement",
    };
    if a.solve != SolveArg::Sigma {
        return Err(crate::Error::invalid(
            "solve",
            format!("{:?}", a.solve).to_lowercase(),
            format!("--sampling {scheme} calibrates --solve sigma only"),
        )
        .into());
    }
    let start = f.sigma.unwrap_or(1.0);
    let (m, steps) = at_start(a, |g| g.sigma = Some(start))?;
    // The per-step event at σ and the scheme's parameters for the output.
    let (event, fields): (SigmaEvent, Vec<(&str, String)>) = match m {
        Mechanism::GaussianMixture(crate::mechanism::GaussianMixture::WithoutReplacement(w)) => {
            let (b, n) = (w.batch_size(), w.dataset_size());
            (
                Box::new(move |sigma| {
                    Ok(DpEvent::SampledWithoutReplacement {
                        source_dataset_size: n,
                        sample_size: b,
                        event: Box::new(DpEvent::Gaussian { sigma }),
                    })
                }),
                vec![
                    ("batch_size", b.to_string()),
                    ("dataset_size", n.to_string()),
                ],
            )
        }
        Mechanism::TruncatedPoisson(_) | Mechanism::SubsampledGaussian(_)
            if scheme == "truncated-poisson" =>
        {
            // B ≥ n flattens to the Poisson-subsampled Gaussian; the event keeps (n, q, B).
            let (n, q, b) = (
                f.dataset_size.unwrap_or(1),
                f.sampling_rate.unwrap_or(1.0),
                f.max_batch_size.unwrap_or(1),
            );
            (
                Box::new(move |sigma| {
                    Ok(DpEvent::TruncatedSubsampledGaussian {
                        dataset_size: n,
                        sampling_probability: q,
                        truncated_batch_size: b,
                        noise_multiplier: sigma,
                    })
                }),
                vec![
                    ("dataset_size", n.to_string()),
                    ("sampling_rate", q.to_string()),
                    ("max_batch_size", b.to_string()),
                ],
            )
        }
        other => {
            return Err(crate::Error::Internal(format!(
                "calibrate: {} is not a --sampling {scheme} Gaussian",
                other.describe()
            ))
            .into())
        }
    };
    solve_knob(a, "sigma", &*event, (start, steps), &fields)
}

/// The mechanism with the solved knob at its starting value (`set` puts it into the flags),
/// which validates every flag and refuses those that do not apply, and the required `--steps`.
///
/// # Errors
/// Bad flags or a missing `--steps`.
fn at_start(
    a: &CalibrateArgs,
    set: impl FnOnce(&mut super::args::MechanismFlags),
) -> crate::Result<(Mechanism, u64)> {
    let mut g = a.mechanism.clone();
    set(&mut g);
    let m = g.mechanism()?;
    let steps = match a.steps {
        Some(s) => check_steps(s)?,
        None => return Err(crate::Error::invalid("steps", "(missing)", "is required")),
    };
    Ok((m, steps))
}

/// Whether the flags name a Laplace mechanism (`laplace`, `subsampled-laplace`, or one
/// inferred from `--scale`).
fn is_laplace(f: &super::args::MechanismFlags) -> bool {
    matches!(
        f.name(),
        Ok(MechanismName::Laplace | MechanismName::SubsampledLaplace)
    )
}

/// `ewtune calibrate --solve scale`: the smallest Laplace scale b (`--scale` is the starting
/// point, default 1) at which `laplace` or its Poisson-sampled form `subsampled-laplace` meets
/// the target after `--steps` compositions, by [`crate::calibrate_lattice::calibrate_sigma`]
/// on the accountant's certified upper end (contour and pld certify both, docs/math.md §15.5,
/// §15.6).
///
/// # Errors
/// Bad input (another `--solve` for a Laplace mechanism, `--solve scale` for another one, a
/// missing `--steps`), or a failed computation.
fn run_scale(a: &CalibrateArgs) -> anyhow::Result<()> {
    use crate::event::DpEvent;
    let f = &a.mechanism;
    if !is_laplace(f) {
        return Err(crate::Error::invalid(
            "solve",
            "scale",
            "applies to --mechanism laplace or subsampled-laplace",
        )
        .into());
    }
    if a.solve != SolveArg::Scale {
        return Err(crate::Error::invalid(
            "solve",
            format!("{:?}", a.solve).to_lowercase(),
            "laplace and subsampled-laplace calibrate --solve scale (the Laplace scale b)",
        )
        .into());
    }
    let start = f.scale.unwrap_or(1.0);
    let (m, steps) = at_start(a, |g| g.scale = Some(start))?;
    let q = match m {
        Mechanism::Laplace(_) => None,
        Mechanism::SubsampledLaplace(s) => Some(s.sampling_rate()),
        other => {
            return Err(crate::Error::Internal(format!(
                "calibrate: {} is not a Laplace mechanism",
                other.describe()
            ))
            .into())
        }
    };
    let event = move |scale: f64| -> crate::Result<DpEvent> {
        let lap = DpEvent::Laplace { scale };
        Ok(match q {
            Some(rate) if rate < 1.0 => DpEvent::PoissonSampled {
                sampling_rate: rate,
                event: Box::new(lap),
            },
            _ => lap,
        })
    };
    let fields: Vec<(&str, String)> = q
        .map(|rate| vec![("sampling_rate", rate.to_string())])
        .unwrap_or_default();
    solve_knob(a, "scale", &event, (start, steps), &fields)
}

/// Solve the noise knob `key` of `event` by [`crate::calibrate_lattice::calibrate_sigma`] from
/// `start` at `steps` steps, and print it with the scheme's `fields`.
fn solve_knob(
    a: &CalibrateArgs,
    key: &'static str,
    event: &dyn Fn(f64) -> crate::Result<crate::event::DpEvent>,
    (start, steps): (f64, u64),
    fields: &[(&str, String)],
) -> anyhow::Result<()> {
    let c = crate::calibrate_lattice::calibrate_sigma(
        &a.accountant.config()?,
        event,
        steps,
        (a.target_epsilon, a.delta, a.rel_tol),
        start,
        key,
    )?;
    print_solved(
        a,
        &Solved {
            key,
            value: c.sigma,
            other_end: serde_json::json!(c.other_end),
            fields,
            report: &c.report,
            evaluations: c.evaluations,
            steps,
        },
    );
    Ok(())
}

/// A solved noise knob, as [`print_solved`] prints it.
struct Solved<'a> {
    /// Name of the solved knob (`sigma`, `parameter`, `noise_parameter`).
    key: &'a str,
    /// Its value.
    value: f64,
    /// The other end of the final bracket (`null` when there is none).
    other_end: serde_json::Value,
    /// The scheme's parameters, printed after the value (numbers where they parse).
    fields: &'a [(&'a str, String)],
    /// The accountant's report at `value`.
    report: &'a crate::accountant::Report,
    /// Accountant evaluations.
    evaluations: usize,
    /// Steps.
    steps: u64,
}

impl Solved<'_> {
    /// The ε the search decided on: the certified upper end where the accountant certifies one
    /// (the value is then the bracket's midpoint, which may be far below it when the bracket is
    /// wide), else the accountant's value.
    fn epsilon(&self) -> f64 {
        crate::calibrate::calibration_epsilon(self.report).0
    }
}

/// Print a solved noise knob in the requested format (the lattice, mixture and sampling-scheme
/// calibrations share it).
fn print_solved(a: &CalibrateArgs, s: &Solved) {
    match a.format {
        Format::Json => {
            let mut j = serde_json::json!({
                "solve": s.key,
                "value": s.value,
                s.key: s.value,
                "other_end": s.other_end,
                "steps": s.steps,
                "target_epsilon": a.target_epsilon,
                "delta": a.delta,
                "epsilon": super::args::json_num(s.epsilon()),
                "evaluations": s.evaluations,
                "report": super::args::report_json(s.report),
            });
            for (k, v) in s.fields {
                j[*k] = match (v.parse::<u64>(), v.parse::<f64>()) {
                    (Ok(n), _) => serde_json::json!(n),
                    (_, Ok(x)) => serde_json::json!(x),
                    _ => serde_json::json!(v),
                };
            }
            println!("{j}");
        }
        Format::Text => {
            println!("accountant      {}", s.report.accountant);
            println!("guarantee       {}", s.report.guarantee.name());
            println!("adjacency       {}", s.report.adjacency);
            println!("solved for      {}", s.key);
            println!("{:<16}{}", s.key, fmt_num(s.value));
            for (k, v) in s.fields {
                println!("{k:<16}{v}");
            }
            println!("steps           {}", s.steps);
            println!("delta           {}", fmt_num(a.delta));
            println!(
                "epsilon         {}  (target {})",
                fmt_num(s.epsilon()),
                fmt_num(a.target_epsilon)
            );
            if let (Some(lo), Some(up)) = (s.report.lower, s.report.upper) {
                println!("bracket         [{}, {}]", fmt_num(lo), fmt_num(up));
            }
            println!("evaluations     {}", s.evaluations);
            for n in &s.report.notes {
                println!("note            {}", super::args::plain_text(n));
            }
        }
    }
}
