//! ewtune: privacy accounting for differentially private training.
pub mod cumulants;
pub mod error;
pub mod mechanism;
pub mod precision;
pub mod special;

pub use error::{Error, Result};
