//! Sweep configuration (TOML) and its expansion into an ordered list of jobs.

use crate::accountant::{AccountantConfig, AccountantKind, AccountantSettings};
use crate::calibrate::Solve;
use crate::error::{Error, Result};
use crate::event::{Composition, DpEvent};
use crate::mechanism::Adjacency;
use crate::precision::Precision;
use serde::Deserialize;
use std::sync::Arc;

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
    /// A DP event as [`DpEvent`] serialises it (`{ type = "mixture_of_gaussians", sigma =
    /// "$sigma", sensitivities = [0, 1, 2], probabilities = [0.6, 0.3, 0.1] }`), composed
    /// `steps` times in each row instead of DP-SGD's Poisson-sampled Gaussian. The strings
    /// `"$sigma"` and `"$sampling_rate"` stand for the row's σ and q (then those axes are
    /// required; without them they are not). Calibration solves for `"$sigma"`.
    pub event: Option<serde_json::Value>,
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
    /// Relative tolerance for the accountants that take one (contour, pld); unset, each uses
    /// its own default (contour 1e-9 on δ, pld 5e-3 on the ε bracket width).
    pub tolerance: Option<f64>,
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
            tolerance: None,
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

/// The largest step count a sweep accepts (10¹⁵, exactly representable in the f64 a TOML
/// number arrives as); larger values are refused instead of saturating.
pub const MAX_STEPS: u64 = crate::event::MAX_COUNT;

/// One method: an accountant with its parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Method {
    /// Label (`edgeworth-1`, `pld`, ...).
    pub label: String,
    /// Kind.
    pub kind: AccountantKind,
    /// Edgeworth order (for the `edgeworth-<order>` methods).
    pub order: Option<u8>,
    /// The accountant's typed configuration.
    pub config: AccountantConfig,
}

/// One row to compute.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    /// Global row index in the full grid.
    pub row: u64,
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
    /// The block's event template ([`Grid::event`]); `None` for DP-SGD.
    pub event: Option<Arc<serde_json::Value>>,
}

/// Where q comes from in a block.
#[derive(Debug, Clone, PartialEq)]
enum Rates {
    /// The listed values (one `None` when the block gives none).
    List(Vec<Option<f64>>),
    /// q = c·sqrt(ln m / m) for each step count m (one q per m).
    Scaling(f64),
}

/// One expanded grid block: its value lists, whose Cartesian product (σ, steps, q, δ, ε,
/// method, in that order) are its rows. Rows are produced on demand ([`Plan::job`]), so a
/// large grid costs nothing until its rows are computed.
#[derive(Debug, Clone, PartialEq)]
struct Block {
    label: String,
    sigmas: Vec<Option<f64>>,
    steps: Vec<Option<u64>>,
    rates: Rates,
    deltas: Vec<Option<f64>>,
    epsilons: Vec<Option<f64>>,
    methods: Vec<usize>,
    truth: bool,
    event: Option<Arc<serde_json::Value>>,
    /// Global index of the block's first row.
    first: u64,
    /// Rows in the block.
    rows: u64,
}

impl Block {
    /// The radices of the row index, outermost first: σ, steps, q, δ, ε, method.
    fn radices(&self) -> [u64; 6] {
        let nq = match &self.rates {
            Rates::List(v) => v.len(),
            Rates::Scaling(_) => 1,
        };
        [
            self.sigmas.len(),
            self.steps.len(),
            nq,
            self.deltas.len(),
            self.epsilons.len(),
            self.methods.len(),
        ]
        .map(|n| n as u64)
    }

    fn job(&self, row: u64) -> Job {
        let radices = self.radices();
        let mut rest = row - self.first;
        let mut digit = [0usize; 6];
        for k in (0..6).rev() {
            digit[k] = (rest % radices[k]) as usize;
            rest /= radices[k];
        }
        let steps = self.steps[digit[1]];
        let sampling_rate = match &self.rates {
            Rates::List(v) => v[digit[2]],
            Rates::Scaling(c) => steps.map(|m| scaled_rate(*c, m)),
        };
        Job {
            row,
            grid: self.label.clone(),
            sigma: self.sigmas[digit[0]],
            sampling_rate,
            steps,
            delta: self.deltas[digit[3]],
            epsilon: self.epsilons[digit[4]],
            method: self.methods[digit[5]],
            truth: self.truth,
            event: self.event.clone(),
        }
    }
}

/// q = c·sqrt(ln m / m) (the EA paper's setting S3).
fn scaled_rate(c: f64, m: u64) -> f64 {
    let mf = m as f64;
    c * (mf.ln() / mf).sqrt()
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
    /// Relative tolerance of calibration.
    pub rel_tol: f64,
    blocks: Vec<Block>,
    rows: u64,
}

impl Plan {
    /// Rows in the whole grid.
    pub fn len(&self) -> u64 {
        self.rows
    }

    /// Whether the grid has no rows.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Whether a block composes its own event ([`Grid::event`]): the CSV then has an `event`
    /// column.
    pub fn has_events(&self) -> bool {
        self.blocks.iter().any(|b| b.event.is_some())
    }

    /// Row `row` (< [`Plan::len`]) of the grid.
    pub fn job(&self, row: u64) -> Job {
        let b = self
            .blocks
            .iter()
            .find(|b| row < b.first + b.rows)
            .expect("invariant: row < Plan::len");
        b.job(row)
    }

    /// The rows `[lo, hi)`, produced one at a time.
    pub fn jobs(&self, lo: u64, hi: u64) -> impl Iterator<Item = Job> + '_ {
        (lo..hi.min(self.rows)).map(|i| self.job(i))
    }
}

/// One axis of a block: its values, or one `None` when the block gives none.
type Axis = Vec<Option<f64>>;

fn list_or_none<T>(v: Vec<T>) -> Vec<Option<T>> {
    if v.is_empty() {
        vec![None]
    } else {
        v.into_iter().map(Some).collect()
    }
}

impl SweepConfig {
    /// Parse a TOML configuration (feature `cli`; the engine itself takes the deserialised
    /// [`SweepConfig`] from any serde source).
    ///
    /// # Errors
    /// [`Error::Parse`] naming `path`.
    #[cfg(feature = "cli")]
    pub fn from_toml(text: &str, path: &str) -> Result<Self> {
        toml::from_str(text).map_err(|e| Error::Parse {
            path: path.to_string(),
            message: e.to_string(),
        })
    }

    /// The settings shared by every method.
    ///
    /// # Errors
    /// Invalid adjacency or precision.
    pub fn settings(&self) -> Result<AccountantSettings> {
        // The tolerance's range is each accountant's own: checked in `methods` for the kinds
        // listed, and again when each accountant is built.
        Ok(AccountantSettings {
            adjacency: Adjacency::parse(&self.adjacency)?,
            precision: if self.precision == 53 {
                None
            } else {
                Some(Precision::new(self.precision)?)
            },
            tolerance: self.tolerance,
            bracket: self.bracket,
            ..AccountantSettings::default()
        })
    }

    /// The methods: every requested kind, Edgeworth once per order.
    ///
    /// # Errors
    /// Unknown accountant names or bad orders.
    pub fn methods(&self) -> Result<Vec<Method>> {
        let base = self.settings()?;
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
        if let Some(t) = self.tolerance {
            if kinds.contains(&AccountantKind::Contour) {
                crate::accountant::contour::TOLERANCE_RANGE.check("tolerance", t)?;
            }
            if kinds.contains(&AccountantKind::Pld) {
                crate::accountant::pld::TOLERANCE_RANGE.check("tolerance", t)?;
            }
        }
        let method = |label: String, kind, order, settings: AccountantSettings| Method {
            label,
            kind,
            order,
            config: settings.config(kind),
        };
        let mut out = Vec::new();
        for k in kinds {
            if k != AccountantKind::Edgeworth {
                out.push(method(k.name().to_string(), k, None, base.clone()));
                continue;
            }
            if self.orders.is_empty() {
                return Err(Error::invalid("orders", "[]", "list at least one order"));
            }
            for &o in &self.orders {
                if o > 3 {
                    return Err(Error::invalid("orders", o, "must be 0, 1, 2 or 3"));
                }
                let s = AccountantSettings {
                    order: Some(o),
                    ..base.clone()
                };
                out.push(method(format!("{k}-{o}"), k, Some(o), s));
            }
        }
        if kolmogorov_only {
            let s = AccountantSettings {
                kolmogorov_only: true,
                ..base.clone()
            };
            let k = AccountantKind::Saddlepoint;
            out.push(method(SADDLEPOINT_KOLMOGOROV.to_string(), k, None, s));
        }
        Ok(out)
    }

    /// The truth accountant: the first available of `truth`, with its certified bracket.
    fn truth_method(&self) -> Result<Option<Method>> {
        let base = AccountantSettings {
            bracket: true,
            ..self.settings()?
        };
        Ok(self
            .truth
            .iter()
            .find_map(|t| AccountantKind::parse(t).ok())
            .map(|k| Method {
                label: k.name().to_string(),
                kind: k,
                order: None,
                config: base.config(k),
            }))
    }

    /// Expand the grid (deterministic order: block, σ, steps, q, δ, ε, method). Only the value
    /// lists are expanded; rows are produced on demand ([`Plan::jobs`]).
    ///
    /// # Errors
    /// Invalid values, named by key; a grid of more than `u64::MAX` rows.
    pub fn plan(&self) -> Result<Plan> {
        let methods = self.methods()?;
        let solve = Solve::parse(&self.solve)?;
        let truth = self.truth_method()?;
        if self.grid.is_empty() {
            return Err(Error::invalid(
                "grid",
                "[]",
                "add at least one [[grid]] block",
            ));
        }
        let mut blocks = Vec::new();
        let mut first = 0u64;
        for g in &self.grid {
            let mut b = self.block(g, &methods, solve)?;
            b.first = first;
            b.rows = b
                .radices()
                .iter()
                .try_fold(1u64, |acc, &n| acc.checked_mul(n))
                .ok_or_else(|| too_many_rows(&g.label))?;
            first = first
                .checked_add(b.rows)
                .ok_or_else(|| too_many_rows(&g.label))?;
            blocks.push(b);
        }
        Ok(Plan {
            query: self.query,
            solve,
            methods,
            truth,
            rel_tol: self.rel_tol,
            blocks,
            rows: first,
        })
    }

    /// One block's value lists, checked.
    fn block(&self, g: &Grid, methods: &[Method], solve: Solve) -> Result<Block> {
        let sigmas = g.sigma.expand("sigma")?;
        for &s in &sigmas {
            crate::error::Range::above(0.0).check("sigma", s)?;
        }
        let (qs, steps) = block_rates_and_steps(g)?;
        let rates = match g.sampling_rate_scaling {
            Some(c) => {
                crate::error::Range::above(0.0).check("sampling_rate_scaling", c)?;
                if !qs.is_empty() {
                    return Err(Error::invalid(
                        "sampling_rate_scaling",
                        c,
                        "give either sampling_rate or sampling_rate_scaling",
                    ));
                }
                if steps.is_empty() {
                    return Err(Error::invalid(
                        "sampling_rate_scaling",
                        "(no steps)",
                        "needs steps",
                    ));
                }
                for &m in &steps {
                    crate::error::Range::left_open(0.0, 1.0)
                        .check("sampling_rate", scaled_rate(c, m))?;
                }
                Rates::Scaling(c)
            }
            None => Rates::List(list_or_none(qs)),
        };
        let (deltas, epsilons) = self.block_queries(g)?;
        let b = Block {
            label: g.label.clone(),
            sigmas: list_or_none(sigmas),
            steps: list_or_none(steps),
            rates,
            deltas,
            epsilons,
            methods: allowed_methods(g, methods)?,
            truth: g.truth.unwrap_or(true),
            event: g.event.clone().map(Arc::new),
            first: 0,
            rows: 0,
        };
        self.check_block_has_inputs(&b, solve)?;
        Ok(b)
    }

    /// δ and ε lists of a block, as the query needs them.
    fn block_queries(&self, g: &Grid) -> Result<(Axis, Axis)> {
        let deltas = g.delta.expand("delta")?;
        for &d in &deltas {
            crate::accountant::check_delta(d)?;
        }
        let epsilons = g.epsilon.expand("epsilon")?;
        for &e in &epsilons {
            crate::error::Range::at_least(0.0).check("epsilon", e)?;
        }
        let missing = |name: &'static str, why: &str| Err(Error::invalid(name, "[]", why));
        match self.query {
            SweepQuery::Epsilon if deltas.is_empty() => {
                missing("delta", "the epsilon query needs delta values")
            }
            SweepQuery::Delta if epsilons.is_empty() => {
                missing("epsilon", "the delta query needs epsilon values")
            }
            SweepQuery::Calibrate if epsilons.is_empty() || deltas.is_empty() => missing(
                "epsilon",
                "the calibrate query needs epsilon (targets) and delta values",
            ),
            SweepQuery::Epsilon => Ok((list_or_none(deltas), vec![None])),
            SweepQuery::Delta => Ok((vec![None], list_or_none(epsilons))),
            SweepQuery::Calibrate => Ok((list_or_none(deltas), list_or_none(epsilons))),
        }
    }

    /// The parameters the query needs are present (or solved for).
    fn check_block_has_inputs(&self, b: &Block, solve: Solve) -> Result<()> {
        let solving = |s: Solve| self.query == SweepQuery::Calibrate && solve == s;
        let has_q = match &b.rates {
            Rates::List(v) => v[0].is_some(),
            Rates::Scaling(_) => true,
        };
        let (need_sigma, need_q) = match &b.event {
            None => (true, true),
            Some(t) => self.check_event_block(b, t, solve)?,
        };
        let checks = [
            (
                !need_sigma || b.sigmas[0].is_some() || solving(Solve::Sigma),
                "sigma",
            ),
            (
                !need_q || has_q || solving(Solve::SamplingRate),
                "sampling_rate",
            ),
            (b.steps[0].is_some() || solving(Solve::Steps), "steps"),
        ];
        for (ok, name) in checks {
            if !ok {
                return Err(Error::invalid(
                    name,
                    "(missing)",
                    format!("grid `{}` needs {name} values", b.label),
                ));
            }
        }
        Ok(())
    }
}

impl SweepConfig {
    /// An event block: which placeholders it uses, checked against the query (calibration
    /// solves for `"$sigma"` only) and instantiated once at the block's first values so that a
    /// bad event fails at plan time, naming `event`.
    fn check_event_block(
        &self,
        b: &Block,
        template: &serde_json::Value,
        solve: Solve,
    ) -> Result<(bool, bool)> {
        let (uses_sigma, uses_q) = (
            uses(template, SIGMA_SLOT),
            uses(template, SAMPLING_RATE_SLOT),
        );
        if self.query == SweepQuery::Calibrate && (solve != Solve::Sigma || !uses_sigma) {
            return Err(Error::invalid(
                "event",
                format!("grid `{}`", b.label),
                "an event block calibrates sigma only: use solve = \"sigma\" and \"$sigma\" in \
                 the event",
            ));
        }
        if matches!(b.rates, Rates::Scaling(_)) && !uses_q {
            return Err(Error::invalid(
                "sampling_rate_scaling",
                format!("grid `{}`", b.label),
                "the block's event has no \"$sampling_rate\"",
            ));
        }
        let q = match &b.rates {
            Rates::List(v) => v[0],
            Rates::Scaling(c) => b.steps[0].map(|m| scaled_rate(*c, m)),
        };
        let e = instantiate(template, b.sigmas[0].or(Some(1.0)), q.or(Some(0.5)))?;
        Composition::from_event(&e, 1, "sweep")?;
        Ok((uses_sigma, uses_q))
    }
}

/// The placeholder of the row's σ in an event template.
pub const SIGMA_SLOT: &str = "$sigma";
/// The placeholder of the row's sampling rate in an event template.
pub const SAMPLING_RATE_SLOT: &str = "$sampling_rate";

/// Whether `slot` occurs as a string anywhere in `v`.
fn uses(v: &serde_json::Value, slot: &str) -> bool {
    match v {
        serde_json::Value::String(s) => s == slot,
        serde_json::Value::Array(a) => a.iter().any(|x| uses(x, slot)),
        serde_json::Value::Object(o) => o.values().any(|x| uses(x, slot)),
        _ => false,
    }
}

/// The event of a template with `"$sigma"` and `"$sampling_rate"` replaced by `sigma` and
/// `sampling_rate`.
///
/// # Errors
/// [`Error::InvalidParameter`] naming `event` for a placeholder without a value, a value that
/// is not a finite number, or a template that is not a DP event.
pub fn instantiate(
    template: &serde_json::Value,
    sigma: Option<f64>,
    sampling_rate: Option<f64>,
) -> Result<DpEvent> {
    fn fill(v: &serde_json::Value, slots: &[(&str, Option<f64>)]) -> Result<serde_json::Value> {
        Ok(match v {
            serde_json::Value::String(s) => match slots.iter().find(|(k, _)| k == s) {
                Some((k, Some(x))) => serde_json::Number::from_f64(*x)
                    .map(serde_json::Value::Number)
                    .ok_or_else(|| Error::invalid("event", k, "needs a finite value"))?,
                Some((k, None)) => {
                    return Err(Error::invalid(
                        "event",
                        k,
                        "the row has no value for this placeholder",
                    ))
                }
                None => v.clone(),
            },
            serde_json::Value::Array(a) => {
                serde_json::Value::Array(a.iter().map(|x| fill(x, slots)).collect::<Result<_>>()?)
            }
            serde_json::Value::Object(o) => serde_json::Value::Object(
                o.iter()
                    .map(|(k, x)| Ok((k.clone(), fill(x, slots)?)))
                    .collect::<Result<_>>()?,
            ),
            _ => v.clone(),
        })
    }
    let slots = [(SIGMA_SLOT, sigma), (SAMPLING_RATE_SLOT, sampling_rate)];
    let v = fill(template, &slots)?;
    serde_json::from_value(v.clone()).map_err(|e| {
        Error::invalid(
            "event",
            v,
            format!("is not a DpEvent (`type` plus snake_case fields): {e}"),
        )
    })
}

/// `steps` compositions of the event of `template` at (σ, q), or DP-SGD's (σ, q, steps) without
/// a template.
///
/// # Errors
/// A missing DP-SGD parameter or a bad event ([`instantiate`]).
pub fn composed_event(
    template: Option<&serde_json::Value>,
    sigma: Option<f64>,
    sampling_rate: Option<f64>,
    steps: u64,
) -> Result<DpEvent> {
    match template {
        Some(t) => Ok(DpEvent::SelfComposed {
            event: Box::new(instantiate(t, sigma, sampling_rate)?),
            count: steps,
        }),
        None => match (sigma, sampling_rate) {
            (Some(s), Some(q)) => Ok(DpEvent::dpsgd(s, q, steps)),
            _ => Err(Error::Internal(
                "sweep: a DP-SGD row without sigma or sampling rate".into(),
            )),
        },
    }
}

fn too_many_rows(label: &str) -> Error {
    Error::BudgetExceeded {
        what: format!("sweep grid (block `{label}`)"),
        needed: "more than 2^64 rows".into(),
        budget: format!("{} rows", u64::MAX),
    }
}

/// The sampling rates and step counts of a block (from `train_size`/`batch_size`/`epochs`
/// when given), checked: q ∈ (0, 1], steps integers in [1, [`MAX_STEPS`]].
fn block_rates_and_steps(g: &Grid) -> Result<(Vec<f64>, Vec<u64>)> {
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
            let m = e
                .checked_mul(n / b)
                .filter(|&m| m <= MAX_STEPS)
                .ok_or_else(|| {
                    Error::invalid(
                        "epochs",
                        e,
                        format!("epochs * floor(train_size / batch_size) must be <= {MAX_STEPS:e}"),
                    )
                })?;
            steps = vec![m as f64];
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
    for &q in &qs {
        crate::error::Range::left_open(0.0, 1.0).check("sampling_rate", q)?;
    }
    let steps_u = steps
        .iter()
        .map(|&m| {
            crate::error::Range::closed(1.0, MAX_STEPS as f64).check("steps", m)?;
            Ok(m.round() as u64)
        })
        .collect::<Result<Vec<u64>>>()?;
    Ok((qs, steps_u))
}

/// The methods allowed in a block: all, or those named by kind or label in `accountants`.
fn allowed_methods(g: &Grid, methods: &[Method]) -> Result<Vec<usize>> {
    let Some(names) = &g.accountants else {
        return Ok((0..methods.len()).collect());
    };
    for n in names.iter().filter(|n| *n != SADDLEPOINT_KOLMOGOROV) {
        AccountantKind::parse(n)?;
    }
    // A kind name allows every method of that kind; a method label (e.g.
    // `saddlepoint-kolmogorov`) allows that method.
    Ok((0..methods.len())
        .filter(|&i| {
            names
                .iter()
                .any(|n| n == methods[i].kind.name() || *n == methods[i].label)
        })
        .collect())
}
