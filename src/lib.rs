//! ewtune: privacy accounting for differentially private training.

// Numerical loops index several arrays in step; iterator chains would hide the formulas.
#![allow(clippy::needless_range_loop)]

pub mod accountant;
pub mod cli;
pub mod cumulants;
pub mod edgeworth;
pub mod error;
pub mod event;
pub mod mechanism;
pub mod precision;
pub mod special;

pub use error::{Error, Result};
