//! The crate's single error type.
//!
//! Every fallible public function returns [`Result<T>`]. Variants carry the data a caller needs
//! to explain the failure (the parameter's name, the value given, the accepted range), so the
//! CLI can print one clear line and exit with code 2 for bad input or 1 for a failed computation.

use thiserror::Error;

/// Shorthand for `std::result::Result<T, ewtune::Error>`.
pub type Result<T> = std::result::Result<T, Error>;

/// Everything that can go wrong in the library.
#[derive(Debug, Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// A parameter is outside its accepted range (NaN and infinities included).
    #[error("invalid {name} = {value}: {reason}")]
    InvalidParameter {
        /// The parameter's public name (`sigma`, `sampling_rate`, `delta`, ...).
        name: &'static str,
        /// The value given, as text.
        value: String,
        /// The accepted range or the reason it was rejected.
        reason: String,
    },
    /// An accountant was asked to compose an event it cannot account for.
    #[error("accountant `{accountant}` does not support the event {event}: {reason}")]
    UnsupportedEvent {
        /// The accountant's name.
        accountant: &'static str,
        /// The (sub-)event that is not supported, as text.
        event: String,
        /// Why.
        reason: String,
    },
    /// An iterative method did not converge.
    #[error("{what} did not converge after {iterations} iterations (residual {residual:e})")]
    NoConvergence {
        /// What was being computed.
        what: String,
        /// Iterations done.
        iterations: usize,
        /// The last residual.
        residual: f64,
    },
    /// The requested accuracy could not be certified at the given precision.
    #[error("precision exhausted: {what} (try more bits than {bits})")]
    PrecisionExhausted {
        /// What lost its accuracy.
        what: String,
        /// The working precision in bits.
        bits: u32,
    },
    /// A truncated series is not a valid distribution at the point asked for.
    #[error("the order-{order} Edgeworth series is invalid at {what} (its survival function is {value:e} <= 0); use a lower order or another accountant")]
    SeriesInvalid {
        /// Edgeworth order.
        order: u8,
        /// Where (side and argument).
        what: String,
        /// The (non-positive) value of the truncated survival function.
        value: f64,
    },
    /// The problem has no solution in the searched range (e.g. no σ reaches the target ε).
    #[error("no solution: {0}")]
    NoSolution(String),
    /// A request would exceed a configured resource budget (memory, grid size).
    #[error("resource budget exceeded: {what} needs {needed}, budget is {budget}")]
    BudgetExceeded {
        /// What was requested.
        what: String,
        /// What it would need.
        needed: String,
        /// The configured budget.
        budget: String,
    },
    /// A compute backend (CUDA) is not available.
    #[error("backend unavailable: {0}")]
    BackendUnavailable(String),
    /// Reading or writing a file failed.
    #[error("I/O error on {path}: {message}")]
    Io {
        /// The file.
        path: String,
        /// The OS message.
        message: String,
    },
    /// An input file could not be parsed.
    #[error("cannot parse {path}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
}

impl Error {
    /// Build an [`Error::InvalidParameter`].
    pub fn invalid(name: &'static str, value: impl ToString, reason: impl Into<String>) -> Self {
        Error::InvalidParameter {
            name,
            value: value.to_string(),
            reason: reason.into(),
        }
    }

    /// Whether the error is the caller's fault (bad input: parameters, unsupported events,
    /// unreadable or malformed files, a request over budget), as opposed to a failed
    /// computation. The CLI maps this to exit code 2 (otherwise 1).
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            Error::InvalidParameter { .. }
                | Error::UnsupportedEvent { .. }
                | Error::Parse { .. }
                | Error::Io { .. }
                | Error::BudgetExceeded { .. }
        )
    }
}

/// Check that a finite `value` lies in an interval; the error names the parameter and the range.
///
/// `lo_open`/`hi_open` say whether the ends are excluded.
pub fn check_range(
    name: &'static str,
    value: f64,
    lo: f64,
    lo_open: bool,
    hi: f64,
    hi_open: bool,
) -> Result<f64> {
    let range = format!(
        "{}{}, {}{}",
        if lo_open { "(" } else { "[" },
        fmt_end(lo),
        fmt_end(hi),
        if hi_open { ")" } else { "]" }
    );
    if !value.is_finite() {
        return Err(Error::invalid(
            name,
            value,
            format!("must be a finite number in {range}"),
        ));
    }
    let above = if lo_open { value > lo } else { value >= lo };
    let below = if hi_open { value < hi } else { value <= hi };
    if above && below {
        Ok(value)
    } else {
        Err(Error::invalid(name, value, format!("must lie in {range}")))
    }
}

fn fmt_end(x: f64) -> String {
    if x.is_infinite() {
        if x > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        }
    } else {
        format!("{x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_messages_name_parameter_and_range() {
        let e = check_range("delta", 1.5, 0.0, true, 1.0, true).unwrap_err();
        assert_eq!(e.to_string(), "invalid delta = 1.5: must lie in (0, 1)");
        let e = check_range("sigma", f64::NAN, 0.0, true, f64::INFINITY, true).unwrap_err();
        assert!(e.to_string().contains("finite"), "{e}");
        assert!(check_range("q", 1.0, 0.0, true, 1.0, false).is_ok());
        assert!(check_range("q", 0.0, 0.0, true, 1.0, false).is_err());
    }
}
