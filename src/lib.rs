//! ewtune: privacy accounting for differentially private training.
pub mod accountant;
pub mod calibrate;
pub mod cli;
pub mod cumulants;
pub mod edgeworth;
pub mod error;
pub mod event;
pub mod mechanism;
pub mod plot;
pub mod precision;
pub mod special;
pub mod sweep;

pub use error::{Error, Result};
