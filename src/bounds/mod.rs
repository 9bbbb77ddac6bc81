//! Certified error terms for normal and Edgeworth approximations of a standardised sum.
//!
//! - [`dgg`]: the Derumigny–Girard–Guyonvarch bounds on the distance between the CDF of a
//!   standardised sum of independent centred variables and its first-order Edgeworth expansion
//!   (docs/math.md §5), and the Berry–Esseen-type bound derived from them;
//! - [`berry_esseen`]: the classical Berry–Esseen bound with Shevtsova's constants.
//!
//! Every bound is computed in MPFR interval arithmetic with outward rounding and returned as an
//! f64 rounded up; constants are built from decimal strings, never from f64 literals.

pub mod berry_esseen;
pub mod dgg;
mod iv;

pub use berry_esseen::{berry_esseen_iid, berry_esseen_inid, BE_IID, BE_INID};
pub use dgg::{dgg_bound, dgg_bound_optimized, DggBound, DggInputs, DggSetup, DEFAULT_ETA};
