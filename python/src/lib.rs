//! Python bindings of ewtune: the whole Rust↔Python glue lives in this file.
//!
//! The Python package (`python/ewtune/`) wraps these low-level entry points in documented
//! classes and functions; this module only
//! - converts events (nested dicts `{"type": "gaussian", "sigma": 1.0}`, the serde shape of
//!   [`DpEvent`]) and accountant options (a dict with the CLI's option names) from Python,
//! - builds accountants through their `*Params` structs (the same settings as the CLI's
//!   `build`),
//! - runs every computation with the GIL released,
//! - returns reports as dicts with the fields of the CLI's `--format json` output, and
//! - maps [`Error`] to the Python exceptions of `ewtune._errors` (usage errors are
//!   `ValueError`s naming the parameter; failed computations are `ComputationError`s).

use ewtune::accountant::{build, Accountant, AccountantKind, AccountantSettings, Report};
use ewtune::calibrate::{CalibrationInfo, CalibrationParams, Solve};
use ewtune::event::DpEvent;
use ewtune::mechanism::Adjacency;
use ewtune::precision::Precision;
use ewtune::Error;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use std::sync::Mutex;
use std::time::Instant;

// ---------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------

/// The `ewtune._errors` class for an [`Error`], and the parameter it names (if any).
fn error_class(e: &Error) -> (&'static str, Option<&'static str>) {
    match e {
        Error::InvalidParameter { name, .. } => ("InvalidParameterError", Some(name)),
        Error::UnsupportedEvent { .. } => ("UnsupportedEventError", None),
        Error::BudgetExceeded { .. } => ("BudgetExceededError", None),
        Error::NotCertified(_) => ("CertificationError", None),
        Error::NoSolution(_) => ("NoSolutionError", None),
        e if e.is_usage() => ("InvalidParameterError", None),
        _ => ("ComputationError", None),
    }
}

/// Convert a library error into the matching Python exception.
fn py_err(py: Python<'_>, e: Error) -> PyErr {
    let (class, parameter) = error_class(&e);
    let build = || -> PyResult<PyErr> {
        let cls = py.import("ewtune._errors")?.getattr(class)?;
        let inst = cls.call1((e.to_string(),))?;
        if let Some(p) = parameter {
            inst.setattr("parameter", p)?;
        }
        Ok(PyErr::from_value(inst))
    };
    // If the Python side cannot be imported (a broken install), still raise something honest.
    build().unwrap_or_else(|imp| imp)
}

fn invalid(name: &'static str, value: impl ToString, reason: &str) -> Error {
    Error::invalid(name, value, reason)
}

// ---------------------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------------------

fn get_item<'py>(d: &Bound<'py, PyDict>, key: &str) -> PyResult<Option<Bound<'py, PyAny>>> {
    d.get_item(key)
}

fn f64_field(py: Python<'_>, d: &Bound<'_, PyDict>, key: &'static str) -> PyResult<f64> {
    match get_item(d, key)? {
        Some(v) => v
            .extract::<f64>()
            .map_err(|_| py_err(py, invalid(key, v, "must be a real number"))),
        None => Err(py_err(py, invalid(key, "(missing)", "is required"))),
    }
}

fn u64_field(py: Python<'_>, d: &Bound<'_, PyDict>, key: &'static str) -> PyResult<u64> {
    match get_item(d, key)? {
        Some(v) => v
            .extract::<u64>()
            .map_err(|_| py_err(py, invalid(key, v, "must be an integer in [0, 2^64)"))),
        None => Err(py_err(py, invalid(key, "(missing)", "is required"))),
    }
}

/// A required list of numbers.
fn f64_list(py: Python<'_>, d: &Bound<'_, PyDict>, key: &'static str) -> PyResult<Vec<f64>> {
    match get_item(d, key)? {
        Some(v) => v
            .extract::<Vec<f64>>()
            .map_err(|_| py_err(py, invalid(key, v, "must be a list of numbers"))),
        None => Err(py_err(py, invalid(key, "(missing)", "is required"))),
    }
}

/// A [`DpEvent`] from its dict form (the serde shape: `{"type": "poisson_sampled",
/// "sampling_rate": q, "event": {...}}`, ...).
fn event_from(py: Python<'_>, obj: &Bound<'_, PyAny>) -> PyResult<DpEvent> {
    event_at_depth(py, obj, 0)
}

/// Deepest nesting of event dicts accepted ([`ewtune::event::MAX_EVENT_DEPTH`]): the
/// conversion recurses, and a dict nested ~8 000 deep overflowed the stack (SIGSEGV).
fn event_at_depth(py: Python<'_>, obj: &Bound<'_, PyAny>, depth: usize) -> PyResult<DpEvent> {
    if depth > ewtune::event::MAX_EVENT_DEPTH {
        return Err(py_err(
            py,
            ewtune::Error::invalid(
                "event",
                "(nested event dicts)",
                format!(
                    "must not be nested more than {} levels deep",
                    ewtune::event::MAX_EVENT_DEPTH
                ),
            ),
        ));
    }
    let event_from = |py: Python<'_>, o: &Bound<'_, PyAny>| event_at_depth(py, o, depth + 1);
    let d = obj.downcast::<PyDict>().map_err(|_| {
        py_err(
            py,
            invalid("event", obj, "must be an event dict with a \"type\" key"),
        )
    })?;
    let kind: String = match get_item(d, "type")? {
        Some(t) => t
            .extract()
            .map_err(|_| py_err(py, invalid("event", obj, "\"type\" must be a string")))?,
        None => return Err(py_err(py, invalid("event", obj, "has no \"type\" key"))),
    };
    let sub = |key: &'static str| -> PyResult<Bound<'_, PyAny>> {
        get_item(d, key)?.ok_or_else(|| py_err(py, invalid(key, "(missing)", "is required")))
    };
    Ok(match kind.as_str() {
        "gaussian" => DpEvent::Gaussian {
            sigma: f64_field(py, d, "sigma")?,
        },
        "laplace" => DpEvent::Laplace {
            scale: f64_field(py, d, "scale")?,
        },
        "poisson_sampled" => DpEvent::PoissonSampled {
            sampling_rate: f64_field(py, d, "sampling_rate")?,
            event: Box::new(event_from(py, &sub("event")?)?),
        },
        "self_composed" => DpEvent::SelfComposed {
            event: Box::new(event_from(py, &sub("event")?)?),
            count: u64_field(py, d, "count")?,
        },
        "composed" => {
            let list = sub("events")?;
            let list = list.downcast::<PyList>().map_err(|_| {
                py_err(py, invalid("events", &list, "must be a list of event dicts"))
            })?;
            let mut events = Vec::with_capacity(list.len());
            for e in list.iter() {
                events.push(event_from(py, &e)?);
            }
            DpEvent::Composed { events }
        }
        "no_op" => DpEvent::NoOp,
        "non_private" => DpEvent::NonPrivate,
        "randomized_response" => DpEvent::RandomizedResponse {
            noise_parameter: f64_field(py, d, "noise_parameter")?,
            buckets: u64_field(py, d, "buckets")?,
        },
        "discrete_laplace" => DpEvent::DiscreteLaplace {
            parameter: f64_field(py, d, "parameter")?,
            sensitivity: u64_field(py, d, "sensitivity")?,
        },
        "discrete_gaussian" => DpEvent::DiscreteGaussian {
            sigma: f64_field(py, d, "sigma")?,
            sensitivity: u64_field(py, d, "sensitivity")?,
        },
        "mixture_of_gaussians" => DpEvent::MixtureOfGaussians {
            sigma: f64_field(py, d, "sigma")?,
            sensitivities: f64_list(py, d, "sensitivities")?,
            probabilities: f64_list(py, d, "probabilities")?,
        },
        "sampled_without_replacement" => DpEvent::SampledWithoutReplacement {
            source_dataset_size: u64_field(py, d, "source_dataset_size")?,
            sample_size: u64_field(py, d, "sample_size")?,
            event: Box::new(event_from(py, &sub("event")?)?),
        },
        "truncated_subsampled_gaussian" => DpEvent::TruncatedSubsampledGaussian {
            dataset_size: u64_field(py, d, "dataset_size")?,
            sampling_probability: f64_field(py, d, "sampling_probability")?,
            truncated_batch_size: u64_field(py, d, "truncated_batch_size")?,
            noise_multiplier: f64_field(py, d, "noise_multiplier")?,
        },
        other => {
            return Err(py_err(
                py,
                invalid(
                    "event",
                    other,
                    "type must be one of gaussian, laplace, poisson_sampled, self_composed, composed, no_op, non_private, randomized_response, discrete_laplace, discrete_gaussian, mixture_of_gaussians, sampled_without_replacement, truncated_subsampled_gaussian",
                ),
            ))
        }
    })
}

/// Accountant choice and options, as the CLI's flags (same names, same defaults, same checks).
#[derive(Debug, Clone)]
struct Options {
    kind: AccountantKind,
    settings: AccountantSettings,
}

fn options_from(py: Python<'_>, d: &Bound<'_, PyDict>) -> PyResult<Options> {
    let e = |err: Error| py_err(py, err);
    let kind: String = match get_item(d, "accountant")? {
        Some(v) => v
            .extract()
            .map_err(|_| e(invalid("accountant", &v, "must be a string")))?,
        None => "contour".into(),
    };
    let kind = AccountantKind::parse(&kind).map_err(e)?;
    let adjacency: String = match get_item(d, "adjacency")? {
        Some(v) => v
            .extract()
            .map_err(|_| e(invalid("adjacency", &v, "must be a string")))?,
        None => "add-remove".into(),
    };
    let order: Option<u8> = match get_item(d, "order")? {
        Some(v) => Some(
            v.extract::<u8>()
                .ok()
                .filter(|o| *o <= 3)
                .ok_or_else(|| e(invalid("order", &v, "must be 0, 1, 2 or 3")))?,
        ),
        None => None,
    };
    let bits: u32 = match get_item(d, "precision")? {
        Some(v) => v
            .extract()
            .map_err(|_| e(invalid("precision", &v, "must be a number of bits")))?,
        None => 256,
    };
    let precision = if bits == 53 {
        None
    } else {
        Some(Precision::new(bits).map_err(e)?)
    };
    let tolerance = match get_item(d, "tolerance")? {
        // The range is the accountant's own (contour (0, 1), pld [1e-6, 0.5]), checked when it
        // is built.
        Some(v) => Some(
            v.extract::<f64>()
                .map_err(|_| e(invalid("tolerance", &v, "must be a real number")))?,
        ),
        None => None,
    };
    let flag = |key: &'static str| -> PyResult<bool> {
        match get_item(d, key)? {
            Some(v) => v
                .extract::<bool>()
                .map_err(|_| e(invalid(key, &v, "must be True or False"))),
            None => Ok(false),
        }
    };
    let grid_budget = match get_item(d, "grid_budget")? {
        Some(v) => Some(
            v.extract::<usize>()
                .map_err(|_| e(invalid("grid_budget", &v, "must be a positive integer")))?,
        ),
        None => None,
    };
    Ok(Options {
        kind,
        settings: AccountantSettings {
            adjacency: Adjacency::parse(&adjacency).map_err(e)?,
            order,
            precision,
            tolerance,
            bracket: flag("bracket")?,
            grid_budget,
            kolmogorov_only: flag("kolmogorov_only")?,
        },
    })
}

/// The accountant for `o`, built from the settings exactly as the CLI builds it.
fn make_accountant(o: &Options) -> ewtune::Result<Box<dyn Accountant>> {
    build(&o.settings.config(o.kind))
}

// ---------------------------------------------------------------------------------------
// Outputs
// ---------------------------------------------------------------------------------------

fn query_name(r: &Report) -> &'static str {
    match r.query {
        ewtune::accountant::Query::Epsilon => "epsilon",
        ewtune::accountant::Query::Delta => "delta",
    }
}

/// A report as a dict with the CLI's JSON field names (numbers stay floats, ±∞ included).
fn report_dict<'py>(py: Python<'py>, r: &Report) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("accountant", &r.accountant)?;
    d.set_item("query", query_name(r))?;
    d.set_item("epsilon", r.epsilon)?;
    d.set_item("delta", r.delta)?;
    d.set_item("log10_delta", r.log10_delta)?;
    d.set_item("guarantee", r.guarantee.name())?;
    d.set_item("adjacency", r.adjacency.name())?;
    d.set_item("order", r.order)?;
    d.set_item("lower", r.lower)?;
    d.set_item("upper", r.upper)?;
    d.set_item("vacuous", r.vacuous)?;
    d.set_item("valid", r.valid)?;
    let orderings = PyList::empty(py);
    for o in &r.orderings {
        let od = PyDict::new(py);
        od.set_item("direction", o.direction.name())?;
        od.set_item("value", o.value)?;
        od.set_item("lower", o.lower)?;
        od.set_item("upper", o.upper)?;
        orderings.append(od)?;
    }
    d.set_item("orderings", orderings)?;
    d.set_item("notes", r.notes.clone())?;
    d.set_item("seconds", r.seconds)?;
    Ok(d)
}

fn calibration_dict<'py>(py: Python<'py>, c: &CalibrationInfo) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("solve", c.solve.name())?;
    d.set_item("sigma", c.sigma)?;
    d.set_item("steps", c.steps)?;
    d.set_item("sampling_rate", c.sampling_rate)?;
    d.set_item("target_epsilon", c.target_epsilon)?;
    d.set_item("delta", c.delta)?;
    d.set_item("epsilon", c.epsilon)?;
    d.set_item("accountant", &c.accountant)?;
    d.set_item("guarantee", c.guarantee.name())?;
    d.set_item("iterations", c.iterations)?;
    d.set_item("evaluations", c.evaluations)?;
    d.set_item("lower", c.bracket.0)?;
    d.set_item("upper", c.bracket.1)?;
    d.set_item("monotone", c.monotone)?;
    d.set_item("notes", c.notes.clone())?;
    d.set_item("report", report_dict(py, &c.report)?)?;
    d.set_item("seconds", c.seconds)?;
    Ok(d)
}

// ---------------------------------------------------------------------------------------
// Entry points
// ---------------------------------------------------------------------------------------

/// A Rust accountant (low level; use `ewtune.Accountant`). Queries release the GIL; queries
/// on one object are serialised by a lock, queries on different objects run in parallel.
#[pyclass(module = "ewtune._ewtune", name = "RawAccountant", frozen)]
struct RawAccountant {
    inner: Mutex<Box<dyn Accountant>>,
    name: &'static str,
}

impl RawAccountant {
    fn run<T: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&mut dyn Accountant) -> ewtune::Result<T> + Send,
    ) -> PyResult<T> {
        let res = py.allow_threads(|| {
            let mut guard = self
                .inner
                .lock()
                .map_err(|_| Error::Internal("accountant lock poisoned by a panic".into()))?;
            f(guard.as_mut())
        });
        res.map_err(|e| py_err(py, e))
    }
}

#[pymethods]
impl RawAccountant {
    #[new]
    fn new(py: Python<'_>, options: &Bound<'_, PyDict>) -> PyResult<Self> {
        let o = options_from(py, options)?;
        let acc = py
            .allow_threads(|| make_accountant(&o))
            .map_err(|e| py_err(py, e))?;
        Ok(RawAccountant {
            name: acc.name(),
            inner: Mutex::new(acc),
        })
    }

    #[getter]
    fn name(&self) -> &'static str {
        self.name
    }

    /// Raise if `event` (dict form) cannot be composed.
    fn supports(&self, py: Python<'_>, event: &Bound<'_, PyAny>) -> PyResult<()> {
        let ev = event_from(py, event)?;
        self.run(py, move |a| a.supports(&ev))
    }

    /// Compose `count` copies of `event` (dict form); on error nothing is composed.
    fn compose(&self, py: Python<'_>, event: &Bound<'_, PyAny>, count: u64) -> PyResult<()> {
        let ev = event_from(py, event)?;
        self.run(py, move |a| a.compose(&ev, count))
    }

    /// ε for δ, as a report dict.
    fn epsilon<'py>(&self, py: Python<'py>, delta: f64) -> PyResult<Bound<'py, PyDict>> {
        let r = self.run(py, move |a| timed(|| a.epsilon(delta)))?;
        report_dict(py, &r)
    }

    /// δ for ε, as a report dict.
    fn delta<'py>(&self, py: Python<'py>, epsilon: f64) -> PyResult<Bound<'py, PyDict>> {
        let r = self.run(py, move |a| timed(|| a.delta(epsilon)))?;
        report_dict(py, &r)
    }
}

fn timed(f: impl FnOnce() -> ewtune::Result<Report>) -> ewtune::Result<Report> {
    let start = Instant::now();
    let mut r = f()?;
    r.seconds = start.elapsed().as_secs_f64();
    Ok(r)
}

/// Calibrate σ, steps or q (`ewtune.calibrate` documents the arguments).
#[pyfunction]
#[pyo3(signature = (options, target_epsilon, delta, solve, sigma, sampling_rate, steps, rel_tol, envelope_points, max_evaluations))]
#[allow(clippy::too_many_arguments)]
fn calibrate<'py>(
    py: Python<'py>,
    options: &Bound<'py, PyDict>,
    target_epsilon: f64,
    delta: f64,
    solve: &str,
    sigma: Option<f64>,
    sampling_rate: Option<f64>,
    steps: Option<u64>,
    rel_tol: f64,
    envelope_points: usize,
    max_evaluations: usize,
) -> PyResult<Bound<'py, PyDict>> {
    let o = options_from(py, options)?;
    let solve = Solve::parse(solve).map_err(|e| py_err(py, e))?;
    let p = CalibrationParams {
        accountant: o.settings.config(o.kind),
        target_epsilon,
        delta,
        solve,
        sigma,
        sampling_rate,
        steps,
        rel_tol,
        envelope_points,
        max_evaluations,
    };
    let info = py
        .allow_threads(|| ewtune::calibrate::calibrate(&p))
        .map_err(|e| py_err(py, e))?;
    calibration_dict(py, &info)
}

/// Calibrate the noise knob of a per-step event (`ewtune.calibrate_noise` documents it).
#[pyfunction]
#[pyo3(signature = (options, event, steps, target_epsilon, delta, rel_tol))]
fn calibrate_event<'py>(
    py: Python<'py>,
    options: &Bound<'py, PyDict>,
    event: &Bound<'py, PyAny>,
    steps: u64,
    target_epsilon: f64,
    delta: f64,
    rel_tol: f64,
) -> PyResult<Bound<'py, PyDict>> {
    let o = options_from(py, options)?;
    let ev = event_from(py, event)?;
    let cfg = o.settings.config(o.kind);
    let start = Instant::now();
    let c = py
        .allow_threads(|| {
            ewtune::calibrate_lattice::calibrate_event(
                &cfg,
                &ev,
                steps,
                (target_epsilon, delta, rel_tol),
            )
        })
        .map_err(|e| py_err(py, e))?;
    let d = PyDict::new(py);
    d.set_item("knob", c.knob)?;
    d.set_item("value", c.value)?;
    d.set_item("other_end", c.other_end)?;
    d.set_item("steps", steps)?;
    d.set_item("target_epsilon", target_epsilon)?;
    d.set_item("delta", delta)?;
    d.set_item("evaluations", c.evaluations)?;
    d.set_item("report", report_dict(py, &c.report)?)?;
    d.set_item("seconds", start.elapsed().as_secs_f64())?;
    Ok(d)
}

/// Every accountant on one event: a list of `(name, report dict or None, reason or None)`,
/// as `ewtune compare` (an accountant that does not apply or fails gives its reason).
#[pyfunction]
#[pyo3(signature = (options, event, delta=None, epsilon=None))]
fn compare<'py>(
    py: Python<'py>,
    options: &Bound<'py, PyDict>,
    event: &Bound<'py, PyAny>,
    delta: Option<f64>,
    epsilon: Option<f64>,
) -> PyResult<Bound<'py, PyList>> {
    let ev = event_from(py, event)?;
    let base = options_from(py, options)?;
    let ask = match (delta, epsilon) {
        (Some(d), None) => Ok(ewtune::accountant::check_delta(d).map_err(|e| py_err(py, e))?),
        (None, Some(e)) => Err(ewtune::accountant::check_epsilon(e).map_err(|e| py_err(py, e))?),
        _ => {
            return Err(PyValueError::new_err(
                "give exactly one of delta (to compare epsilon) or epsilon (to compare delta)",
            ))
        }
    };
    let outcomes: Vec<(&'static str, Result<Report, String>)> = py.allow_threads(|| {
        AccountantKind::ALL
            .iter()
            .map(|&kind| {
                let o = Options {
                    kind,
                    settings: base.settings.clone(),
                };
                let res = make_accountant(&o).and_then(|mut acc| {
                    acc.supports(&ev)?;
                    acc.compose(&ev, 1)?;
                    timed(|| match ask {
                        Ok(d) => acc.epsilon(d),
                        Err(e) => acc.delta(e),
                    })
                });
                let res = res.map_err(|e| match e {
                    e @ Error::UnsupportedEvent { .. } => format!("not applicable: {e}"),
                    e => format!("failed: {e}"),
                });
                (kind.name(), res)
            })
            .collect()
    });
    let out = PyList::empty(py);
    for (name, res) in outcomes {
        match res {
            Ok(r) => out.append((name, report_dict(py, &r)?, py.None()))?,
            Err(reason) => out.append((name, py.None(), reason))?,
        }
    }
    Ok(out)
}

/// The native module `ewtune._ewtune`.
#[pymodule]
fn _ewtune(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<RawAccountant>()?;
    m.add_function(wrap_pyfunction!(calibrate, m)?)?;
    m.add_function(wrap_pyfunction!(compare, m)?)?;
    m.add_function(wrap_pyfunction!(calibrate_event, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add(
        "ACCOUNTANTS",
        AccountantKind::ALL
            .iter()
            .map(|k| k.name())
            .collect::<Vec<_>>(),
    )?;
    Ok(())
}
