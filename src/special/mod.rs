//! Special functions in f64: normal tails in log space, the Mills ratio, Hermite polynomials,
//! a bracketed root finder, Neumaier-compensated summation.
//!
//! The certified (MPFR) quadrature lives in [`quadrature`].

pub mod hermite;
pub mod normal;
pub mod quadrature;
pub mod roots;
pub mod sum;
