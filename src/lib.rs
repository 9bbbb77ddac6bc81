//! ewtune: privacy accounting for differentially private training.
pub mod accountant;
pub mod cli;
pub mod cumulants;
pub mod edgeworth;
pub mod error;
pub mod event;
pub mod mechanism;
pub mod pld;
pub mod precision;
pub mod special;

pub use error::{Error, Result};
