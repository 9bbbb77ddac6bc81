//! Sweep configuration (TOML) and its expansion into an ordered list of jobs.

use crate::accountant::{AccountantKind, AccountantOptions};
use crate::calibrate::Solve;
use crate::error::{Error, Result};
use crate::mechanism::Adjacency;
use crate::precision::Precision;
use serde::Deserialize;

/// A list of values: either an explicit array or a range table
/// `{ start = 20, stop = 2000, num = 25, log = true }` (endpoints included; `log` spaces the
/// points geometrically).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Values {
    /// Explicit values.
    List(Vec<f64>),
    /// `num` points from `start` to `stop`.
    Range {
        /// First value.
        start: f64,
        /// Last value.
        stop: f64,
        /// Number of points (≥ 1).
        num: usize,
        /// Geometric spacing.
        #[serde(default)]
        log: bool,
    },
}

impl Default for Values {
    fn default() -> Self {
        Values::List(Vec::new())
    }
}

impl Values {
    /// The values, in order.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming `name` for `num` = 0 or a log range with a
    /// non-positive end.
    pub fn expand(&self, name: &'static str) -> Result<Vec<f64>> {
        match *self {
            Values::List(ref v) => Ok(v.clone()),
            Values::Range {
                start,
                stop,
                num,
                log,
            } => {
                if num == 0 {
                    return Err(Error::invalid(name, "num = 0", "a range needs num >= 1"));
                }
                if log && (start <= 0.0 || stop <= 0.0) {
                    return Err(Error::invalid(
                        name,
                        format!("{start}..{stop}"),
                        "a log range needs positive ends",
                    ));
                }
                Ok((0..num)
                    .map(|i| {
                        if num == 1 {
                            return start;
                        }
                        let t = i as f64 / (num - 1) as f64;
                        if i == num - 1 {
                            stop
                        } else if log {
                            start * (stop / start).powf(t)
                        } else {
                            start + (stop - start) * t
                        }
                    })
                    .collect())
            }
        }
    }
}

/// What each row computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SweepQuery {
    /// ε for each δ.
    #[default]
    Epsilon,
    /// δ for each ε.
    Delta,
    /// Calibrate (σ by default, see `solve`) for each (ε, δ).
    Calibrate,
}

impl SweepQuery {
    /// Name in the CSV.
    pub fn name(self) -> &'static str {
        match self {
            SweepQuery::Epsilon => "epsilon",
            SweepQuery::Delta => "delta",
            SweepQuery::Calibrate => "calibrate",
        }
    }
}

/// One block of the grid: the Cartesian product of its lists.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Grid {
    /// A label written in the `grid` column (e.g. `S1`, `SST-2`).
    pub label: String,
    /// Noise multipliers σ.
    pub sigma: Values,
    /// Sampling rates q.
    pub sampling_rate: Values,
    /// If set, q = c·sqrt(ln m / m) for each step count m (the EA paper's setting S3).
    pub sampling_rate_scaling: Option<f64>,
    /// Steps (rounded to integers).
    pub steps: Values,
    /// Training-set size N: with `batch_size` and `epochs`, q = B/N and steps = epochs·⌊N/B⌋.
    pub train_size: Option<u64>,
    /// Batch size B.
    pub batch_size: Option<u64>,
    /// Epochs.
    pub epochs: Option<u64>,
    /// δ values (for the epsilon and calibrate queries).
    pub delta: Values,
    /// ε values (for the delta and calibrate queries).
    pub epsilon: Values,
    /// If set, only these accountants (names) get rows in this block (e.g. to leave a slow
    /// accountant out of the largest step counts).
    pub accountants: Option<Vec<String>>,
    /// `false` leaves the truth columns empty in this block (when the truth is too slow there).
    pub truth: Option<bool>,
}

/// A sweep configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SweepConfig {
    /// Output stem (`results/<name>/<name>.csv`); defaults to the config's directory name.
    pub name: Option<String>,
    /// What each row computes.
    pub query: SweepQuery,
    /// For `calibrate`: sigma (default), steps or sampling-rate.
    pub solve: String,
    /// Relative tolerance of calibration.
    pub rel_tol: f64,
    /// Accountant names, or `["all"]` for every kind this build has.
    pub accountants: Vec<String>,
    /// Edgeworth orders (other accountants ignore this and give one row).
    pub orders: Vec<u8>,
    /// Adjacency.
    pub adjacency: String,
    /// MPFR precision in bits for certified cumulants; 53 = the f64 path.
    pub precision: u32,
    /// Accountant tolerance.
    pub tolerance: f64,
    /// Request certified brackets where an accountant offers them.
    pub bracket: bool,
    /// Add the wall-clock time columns (makes the CSV differ from run to run).
    pub timing: bool,
    /// Truth accountants, first available wins: its ε at each row's σ fills `truth_*` columns.
    pub truth: Vec<String>,
    /// Grid blocks.
    pub grid: Vec<Grid>,
}

impl Default for SweepConfig {
    fn default() -> Self {
        SweepConfig {
            name: None,
            query: SweepQuery::Epsilon,
            solve: "sigma".into(),
            rel_tol: 1e-4,
            accountants: vec!["all".into()],
            orders: vec![1],
            adjacency: "add-remove".into(),
            precision: 53,
            tolerance: 1e-9,
            bracket: false,
            timing: false,
            truth: Vec::new(),
            grid: Vec::new(),
        }
    }
}

/// Method name, in `accountants`, of the saddle-point accountant with its Kolmogorov-distance
/// (Berry–Esseen / DGG) bracket alone (`--kolmogorov-only` on the CLI).
pub const SADDLEPOINT_KOLMOGOROV: &str = "saddlepoint-kolmogorov";

/// One method: an accountant kind with its options.
#[derive(Debug, Clone, PartialEq)]
pub struct Method {
    /// Label (`edgeworth-1`, `pld`, ...).
    pub label: String,
    /// Kind.
    pub kind: AccountantKind,
    /// Edgeworth order (when meaningful).
    pub order: Option<u8>,
    /// Options.
    pub options: AccountantOptions,
}

/// One row to compute.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    /// Global row index in the full grid.
    pub row: usize,
    /// Grid label.
    pub grid: String,
    /// σ (the starting point when solving for σ).
    pub sigma: Option<f64>,
    /// q.
    pub sampling_rate: Option<f64>,
    /// Steps.
    pub steps: Option<u64>,
    /// δ (given for epsilon/calibrate queries).
    pub delta: Option<f64>,
    /// ε (given for delta/calibrate queries).
    pub epsilon: Option<f64>,
    /// Index into the method list.
    pub method: usize,
    /// Whether to fill the truth columns.
    pub truth: bool,
}

/// The expanded sweep.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The query.
    pub query: SweepQuery,
    /// Calibration target.
    pub solve: Solve,
    /// Methods.
    pub methods: Vec<Method>,
    /// The truth accountant, if one was requested and is available.
    pub truth: Option<Method>,
    /// Every row, in output order.
    pub jobs: Vec<Job>,
    /// Options shared by all methods.
    pub base: AccountantOptions,
    /// Relative tolerance of calibration.
    pub rel_tol: f64,
}

fn list_or_none(v: Vec<f64>) -> Vec<Option<f64>> {
    if v.is_empty() {
        vec![None]
    } else {
        v.into_iter().map(Some).collect()
    }
}

impl SweepConfig {
    /// Parse a TOML configuration.
    ///
    /// # Errors
    /// [`Error::Parse`] naming `path`.
    pub fn from_toml(text: &str, path: &str) -> Result<Self> {
        toml::from_str(text).map_err(|e| Error::Parse {
            path: path.to_string(),
            message: e.to_string(),
        })
    }

    /// Options shared by every method.
    ///
    /// # Errors
    /// Invalid adjacency, precision or tolerance.
    pub fn base_options(&self) -> Result<AccountantOptions> {
        crate::error::Range::left_open(0.0, 0.1).check("tolerance", self.tolerance)?;
        Ok(AccountantOptions {
            adjacency: Adjacency::parse(&self.adjacency)?,
            order: 1,
            precision: if self.precision == 53 {
                None
            } else {
                Some(Precision::new(self.precision)?)
            },
            tolerance: self.tolerance,
            bracket: self.bracket,
            ..AccountantOptions::default()
        })
    }

    /// The methods: every requested kind, Edgeworth once per order.
    ///
    /// # Errors
    /// Unknown accountant names or bad orders.
    pub fn methods(&self) -> Result<Vec<Method>> {
        let base = self.base_options()?;
        let mut kinds = Vec::new();
        let mut kolmogorov_only = false;
        for a in &self.accountants {
            if a == "all" {
                kinds.extend_from_slice(AccountantKind::ALL);
            } else if a == SADDLEPOINT_KOLMOGOROV {
                kolmogorov_only = true;
            } else {
                kinds.push(AccountantKind::parse(a)?);
            }
        }
        if kinds.is_empty() && !kolmogorov_only {
            return Err(Error::invalid(
                "accountants",
                "[]",
                "list at least one accountant",
            ));
        }
        let mut out = Vec::new();
        for k in kinds {
            if k == AccountantKind::Edgeworth {
                if self.orders.is_empty() {
                    return Err(Error::invalid("orders", "[]", "list at least one order"));
                }
                for &o in &self.orders {
                    if o > 3 {
                        return Err(Error::invalid("orders", o, "must be 0, 1, 2 or 3"));
                    }
                    out.push(Method {
                        label: format!("{}-{o}", k.name()),
                        kind: k,
                        order: Some(o),
                        options: AccountantOptions {
                            order: o,
                            ..base.clone()
                        },
                    });
                }
            } else {
                out.push(Method {
                    label: k.name().to_string(),
                    kind: k,
                    order: None,
                    options: base.clone(),
                });
            }
        }
        if kolmogorov_only {
            out.push(Method {
                label: SADDLEPOINT_KOLMOGOROV.to_string(),
                kind: AccountantKind::Saddlepoint,
                order: None,
                options: AccountantOptions {
                    kolmogorov_only: true,
                    ..base.clone()
                },
            });
        }
        Ok(out)
    }

    /// Expand the grid into jobs (deterministic order: block, σ, steps, q, δ, ε, method).
    ///
    /// # Errors
    /// Invalid values, named by key.
    pub fn plan(&self) -> Result<Plan> {
        let methods = self.methods()?;
        let base = self.base_options()?;
        let solve = Solve::parse(&self.solve)?;
        let truth = self
            .truth
            .iter()
            .find_map(|t| AccountantKind::parse(t).ok())
            .map(|k| Method {
                label: k.name().to_string(),
                kind: k,
                order: None,
                options: AccountantOptions {
                    bracket: true,
                    ..base.clone()
                },
            });
        if self.grid.is_empty() {
            return Err(Error::invalid(
                "grid",
                "[]",
                "add at least one [[grid]] block",
            ));
        }
        let mut jobs = Vec::new();
        for g in &self.grid {
            let sigmas = g.sigma.expand("sigma")?;
            for &s in &sigmas {
                crate::error::Range::above(0.0).check("sigma", s)?;
            }
            let (mut qs, mut steps) = (
                g.sampling_rate.expand("sampling_rate")?,
                g.steps.expand("steps")?,
            );
            match (g.train_size, g.batch_size, g.epochs) {
                (Some(n), Some(b), Some(e)) => {
                    if b == 0 || e == 0 || n < b {
                        return Err(Error::invalid(
                            "train_size",
                            n,
                            "needs batch_size >= 1, epochs >= 1 and train_size >= batch_size",
                        ));
                    }
                    qs = vec![b as f64 / n as f64];
                    steps = vec![(e * (n / b)) as f64];
                }
                (None, None, None) => {}
                _ => {
                    return Err(Error::invalid(
                        "train_size",
                        "(partial)",
                        "give all of train_size, batch_size and epochs, or none",
                    ))
                }
            }
            let mut steps_u: Vec<u64> = Vec::new();
            for &m in &steps {
                if !(m.is_finite() && m >= 1.0) {
                    return Err(Error::invalid("steps", m, "must be >= 1"));
                }
                steps_u.push(m.round() as u64);
            }
            for &q in &qs {
                crate::error::Range::left_open(0.0, 1.0).check("sampling_rate", q)?;
            }
            if let Some(c) = g.sampling_rate_scaling {
                crate::error::Range::above(0.0).check("sampling_rate_scaling", c)?;
                if !qs.is_empty() {
                    return Err(Error::invalid(
                        "sampling_rate_scaling",
                        c,
                        "give either sampling_rate or sampling_rate_scaling",
                    ));
                }
            }
            let allowed: Vec<usize> = match &g.accountants {
                None => (0..methods.len()).collect(),
                Some(names) => {
                    for n in names.iter().filter(|n| *n != SADDLEPOINT_KOLMOGOROV) {
                        AccountantKind::parse(n)?;
                    }
                    // A kind name allows every method of that kind; a method label (e.g.
                    // `saddlepoint-kolmogorov`) allows that method.
                    (0..methods.len())
                        .filter(|&i| {
                            names
                                .iter()
                                .any(|n| n == methods[i].kind.name() || *n == methods[i].label)
                        })
                        .collect()
                }
            };
            let deltas = g.delta.expand("delta")?;
            for &d in &deltas {
                crate::accountant::check_delta(d)?;
            }
            let epsilons = g.epsilon.expand("epsilon")?;
            for &e in &epsilons {
                crate::error::Range::at_least(0.0).check("epsilon", e)?;
            }
            match self.query {
                SweepQuery::Epsilon if deltas.is_empty() => {
                    return Err(Error::invalid(
                        "delta",
                        "[]",
                        "the epsilon query needs delta values",
                    ))
                }
                SweepQuery::Delta if epsilons.is_empty() => {
                    return Err(Error::invalid(
                        "epsilon",
                        "[]",
                        "the delta query needs epsilon values",
                    ))
                }
                SweepQuery::Calibrate if epsilons.is_empty() || deltas.is_empty() => {
                    return Err(Error::invalid(
                        "epsilon",
                        "[]",
                        "the calibrate query needs epsilon (targets) and delta values",
                    ))
                }
                _ => {}
            }
            let (deltas, epsilons) = match self.query {
                SweepQuery::Epsilon => (list_or_none(deltas), vec![None]),
                SweepQuery::Delta => (vec![None], list_or_none(epsilons)),
                SweepQuery::Calibrate => (list_or_none(deltas), list_or_none(epsilons)),
            };
            let steps_opt: Vec<Option<u64>> = if steps_u.is_empty() {
                vec![None]
            } else {
                steps_u.iter().copied().map(Some).collect()
            };
            for &s in &list_or_none(sigmas) {
                for &m in &steps_opt {
                    let q_list: Vec<Option<f64>> = match (g.sampling_rate_scaling, m) {
                        (Some(c), Some(m)) => {
                            let mf = m as f64;
                            let q = c * (mf.ln() / mf).sqrt();
                            crate::error::Range::left_open(0.0, 1.0).check("sampling_rate", q)?;
                            vec![Some(q)]
                        }
                        (Some(_), None) => {
                            return Err(Error::invalid(
                                "sampling_rate_scaling",
                                "(no steps)",
                                "needs steps",
                            ))
                        }
                        _ => list_or_none(qs.clone()),
                    };
                    for &q in &q_list {
                        for &d in &deltas {
                            for &e in &epsilons {
                                for mi in allowed.iter().copied() {
                                    jobs.push(Job {
                                        row: jobs.len(),
                                        grid: g.label.clone(),
                                        sigma: s,
                                        sampling_rate: q,
                                        steps: m,
                                        delta: d,
                                        epsilon: e,
                                        method: mi,
                                        truth: g.truth.unwrap_or(true),
                                    });
                                }
                            }
                        }
                    }
                }
            }
        }
        // Parameters a query needs.
        for j in &jobs {
            let need = |ok: bool, name: &'static str| {
                if ok {
                    Ok(())
                } else {
                    Err(Error::invalid(
                        name,
                        "(missing)",
                        format!("grid `{}` needs {name} values", j.grid),
                    ))
                }
            };
            let solving = self.query == SweepQuery::Calibrate;
            need(
                j.sigma.is_some() || (solving && solve == Solve::Sigma),
                "sigma",
            )?;
            need(
                j.sampling_rate.is_some() || (solving && solve == Solve::SamplingRate),
                "sampling_rate",
            )?;
            need(
                j.steps.is_some() || (solving && solve == Solve::Steps),
                "steps",
            )?;
        }
        Ok(Plan {
            query: self.query,
            solve,
            methods,
            truth,
            jobs,
            base,
            rel_tol: self.rel_tol,
        })
    }
}
