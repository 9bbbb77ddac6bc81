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
    /// A request would exceed a resource budget that the caller sets or sizes (PLD's grid
    /// budget, a sweep's grid, the harness's data), checked before allocating. Exit code 2.
    /// A method's own work limit (certified quadrature nodes, contour nodes per transform,
    /// binomial tail terms) is [`Error::NotCertified`] instead: a limit of the method, not bad
    /// input.
    #[error("resource budget exceeded: {what} needs {needed}, budget is {budget}")]
    BudgetExceeded {
        /// What was requested.
        what: String,
        /// What it would need.
        needed: String,
        /// The configured budget.
        budget: String,
    },
    /// A certified answer could not be produced (the bracket could not be made valid, or the
    /// required work exceeds what the method can do). The call refuses instead of printing a
    /// number; the message says what could not be certified and why. Exit code 1.
    #[error("not certified: {0}")]
    NotCertified(String),
    /// An internal consistency check failed (a bug or a numerical breakdown, never the
    /// caller's input). Exit code 1.
    #[error("internal error: {0}")]
    Internal(String),
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
            value: short_number(&value.to_string()),
            reason: reason.into(),
        }
    }

    /// Whether this is [`Error::BudgetExceeded`]: a usage error that depends on the point a
    /// search evaluates (a PLD grid over its budget at a small σ), which a calibration counts
    /// as a failure at that point, not as bad input.
    pub fn is_budget(&self) -> bool {
        matches!(self, Error::BudgetExceeded { .. })
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

/// An interval of accepted values for a parameter, with each end open or closed.
///
/// [`Range::check`] accepts finite values inside it and otherwise returns an
/// [`Error::InvalidParameter`] that names the parameter and prints the interval.
///
/// # Examples
/// ```
/// use ewtune::error::Range;
/// assert_eq!(Range::open(0.0, 1.0).check("delta", 1e-5), Ok(1e-5));
/// let e = Range::open(0.0, 1.0).check("delta", 1.5).unwrap_err();
/// assert_eq!(e.to_string(), "invalid delta = 1.5: must lie in (0, 1)");
/// assert!(Range::above(0.0).check("sigma", f64::NAN).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Range {
    lo: f64,
    lo_open: bool,
    hi: f64,
    hi_open: bool,
}

impl Range {
    /// (lo, hi).
    pub const fn open(lo: f64, hi: f64) -> Self {
        Range {
            lo,
            lo_open: true,
            hi,
            hi_open: true,
        }
    }

    /// [lo, hi].
    pub const fn closed(lo: f64, hi: f64) -> Self {
        Range {
            lo,
            lo_open: false,
            hi,
            hi_open: false,
        }
    }

    /// (lo, hi].
    pub const fn left_open(lo: f64, hi: f64) -> Self {
        Range {
            lo,
            lo_open: true,
            hi,
            hi_open: false,
        }
    }

    /// [lo, hi).
    pub const fn right_open(lo: f64, hi: f64) -> Self {
        Range {
            lo,
            lo_open: false,
            hi,
            hi_open: true,
        }
    }

    /// (lo, ∞): finite values above `lo`.
    pub const fn above(lo: f64) -> Self {
        Range::open(lo, f64::INFINITY)
    }

    /// [lo, ∞): finite values at least `lo`.
    pub const fn at_least(lo: f64) -> Self {
        Range::right_open(lo, f64::INFINITY)
    }

    /// Any finite number.
    pub const fn finite() -> Self {
        Range::open(f64::NEG_INFINITY, f64::INFINITY)
    }

    /// Whether `value` is finite and inside the interval.
    pub fn contains(&self, value: f64) -> bool {
        let above = if self.lo_open {
            value > self.lo
        } else {
            value >= self.lo
        };
        let below = if self.hi_open {
            value < self.hi
        } else {
            value <= self.hi
        };
        value.is_finite() && above && below
    }

    /// `Ok(value)` if it is finite and inside the interval.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming `name`, the value and the interval.
    pub fn check(&self, name: &'static str, value: f64) -> Result<f64> {
        if self.contains(value) {
            Ok(value)
        } else if !value.is_finite() {
            Err(Error::invalid(
                name,
                value,
                format!("must be a finite number in {self}"),
            ))
        } else {
            Err(Error::invalid(name, value, format!("must lie in {self}")))
        }
    }
}

impl std::fmt::Display for Range {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}{}, {}{}",
            if self.lo_open { "(" } else { "[" },
            fmt_end(self.lo),
            fmt_end(self.hi),
            if self.hi_open { ")" } else { "]" }
        )
    }
}

/// `text` with each maximal run of token characters replaced by `f(run)`: a character extends
/// the run when `in_token(run so far, c)` holds; everything else is copied as it is.
pub(crate) fn map_tokens(
    text: &str,
    in_token: impl Fn(&str, char) -> bool,
    f: impl Fn(&str) -> String,
) -> String {
    let mut out = String::with_capacity(text.len());
    let mut token = String::new();
    for c in text.chars() {
        if in_token(&token, c) {
            token.push(c);
        } else {
            out.push_str(&f(&token));
            token.clear();
            out.push(c);
        }
    }
    out.push_str(&f(&token));
    out
}

/// `text` with every number longer than 20 characters (as `{}` prints 1e−300 or 1e300) written
/// as [`crate::mechanism::compact`] does (`1e-300`).
pub(crate) fn compact_numbers(text: &str) -> String {
    map_tokens(
        text,
        |token, c| {
            c.is_ascii_digit()
                || c == '.'
                || (c == 'e' && !token.is_empty())
                || (c == '-' && token.ends_with('e'))
        },
        crate::mechanism::compact,
    )
}

fn fmt_end(x: f64) -> String {
    if x.is_infinite() {
        if x > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        }
    } else {
        short_number(&x.to_string())
    }
}

/// A number as a person reads it in a message: a decimal text whose value is below 1e−4 or at
/// least 1e16 in magnitude is written in exponent form with the shortest round-trip digits
/// (`0.000001` → `1e-6`, 1e300 → `1e300` rather than 301 digits); any other text (a smaller
/// number, a word, a list) is kept as it is.
pub(crate) fn short_number(text: &str) -> String {
    match text.parse::<f64>() {
        Ok(x) if x.is_finite() && x != 0.0 && (x.abs() < 1e-4 || x.abs() >= 1e16) => {
            format!("{x:e}")
        }
        _ => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_messages_name_parameter_and_range() {
        let e = Range::open(0.0, 1.0).check("delta", 1.5).unwrap_err();
        assert_eq!(e.to_string(), "invalid delta = 1.5: must lie in (0, 1)");
        let e = Range::above(0.0).check("sigma", f64::NAN).unwrap_err();
        assert!(e.to_string().contains("finite"), "{e}");
        assert!(Range::left_open(0.0, 1.0).check("q", 1.0).is_ok());
        assert!(Range::left_open(0.0, 1.0).check("q", 0.0).is_err());
    }

    /// Tiny and huge numbers read in exponent form, in the value and in the range (before:
    /// "--tolerance = 0.0000001: must lie in [0.000001, 0.5]", and 1e300 as 301 digits).
    #[test]
    fn messages_write_tiny_and_huge_numbers_in_exponent_form() {
        let e = Range::closed(1e-6, 0.5)
            .check("tolerance", 1e-7)
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid tolerance = 1e-7: must lie in [1e-6, 0.5]"
        );
        let e = Range::closed(1.0, 1e100).check("sigma", 1e300).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid sigma = 1e300: must lie in [1, 1e100]"
        );
        assert_eq!(short_number("12345"), "12345");
        assert_eq!(short_number("0.001"), "0.001");
        assert_eq!(short_number("(missing)"), "(missing)");
        assert_eq!(short_number("0.6,0.3,0.1"), "0.6,0.3,0.1");
    }
}
