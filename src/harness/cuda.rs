//! The CUDA backend (feature `cuda`).
//!
//! Without the feature this twin only reports that CUDA is unavailable.

#[cfg(not(feature = "cuda"))]
mod twin {
    use crate::error::{Error, Result};
    use crate::harness::dpsgd::{Backend, StepParams, StepStats, TrainState};
    use crate::harness::model::Head;

    /// Placeholder type: never constructed without the `cuda` feature.
    #[derive(Debug)]
    pub struct CudaBackend {
        _never: std::convert::Infallible,
    }

    impl CudaBackend {
        /// Always [`Error::BackendUnavailable`]: the binary was built without `cuda`.
        ///
        /// # Errors
        /// Always.
        pub fn new(_head: Head, _x: &[f64], _y: &[u32], _state: &TrainState) -> Result<Self> {
            Err(Error::BackendUnavailable(
                "built without the `cuda` feature (cargo build --release --features cuda)".into(),
            ))
        }
    }

    impl Backend for CudaBackend {
        fn name(&self) -> &'static str {
            "cuda"
        }
        fn step(&mut self, _batch: &[u32], _params: &StepParams) -> Result<StepStats> {
            match self._never {}
        }
        fn state(&self) -> Result<TrainState> {
            match self._never {}
        }
        fn load_state(&mut self, _state: &TrainState) -> Result<()> {
            match self._never {}
        }
    }
}

#[cfg(not(feature = "cuda"))]
pub use twin::CudaBackend;
