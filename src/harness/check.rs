//! Device checks for `ewtune harness-check` (run by `scripts/gpu-check.sh` on a GPU machine):
//! CPU-vs-CUDA parameter parity over K private steps, and the throughput of a private step
//! (ghost norms, clipping, noise) against a non-private step (σ = 0, C = ∞: no norms, no noise)
//! on the same backend. Speed is measured here and written to results, never asserted in tests.

use crate::error::Result;
use crate::harness::cpu::CpuBackend;
use crate::harness::cuda::CudaBackend;
use crate::harness::data;
use crate::harness::dpsgd::{poisson_batch, Backend, Optimizer, StepParams, TrainState};
use crate::harness::model::{Head, HeadKind};
use serde::Serialize;
use std::time::Instant;

/// Parity of one configuration.
#[derive(Debug, Clone, Serialize)]
pub struct Parity {
    /// Head.
    pub head: HeadKind,
    /// Optimizer name.
    pub optimizer: String,
    /// Steps run.
    pub steps: u64,
    /// max_i |θ_cpu − θ_cuda| / (1 + |θ_cpu|).
    pub max_scaled_diff: f64,
    /// Whether max_scaled_diff ≤ 1e-5.
    pub pass: bool,
    /// The device and where its kernels came from (NVRTC or the committed PTX).
    pub device: String,
}

/// CPU vs CUDA over `steps` private steps for the linear/SGD and MLP/Adam heads on synthetic
/// embeddings (n = 4,096, dim = 384, hidden = 256, q = 0.05, C = 1, σ = 1).
///
/// # Errors
/// [`crate::Error::BackendUnavailable`] without CUDA.
pub fn parity(steps: u64) -> Result<Vec<Parity>> {
    let d = data::synthetic(4096, 384, 2, 2.0, 7)?;
    let mut out = Vec::new();
    for (kind, opt) in [
        (HeadKind::Linear, Optimizer::Sgd { lr: 0.5 }),
        (
            HeadKind::Mlp,
            Optimizer::Adam {
                lr: 1e-3,
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
            },
        ),
    ] {
        let head = Head::new(kind, 384, 256, 2)?;
        let st = TrainState::new(head.init(1), &opt);
        let mut gpu = CudaBackend::new(head, &d.x, &d.y, &st)?;
        let mut cpu = CpuBackend::new(head, d.x.clone(), d.y.clone(), st)?;
        for t in 0..steps {
            let batch = poisson_batch(3, t, d.len(), 0.05);
            let p = StepParams {
                step: t,
                seed: 3,
                clip: 1.0,
                noise_std: 1.0,
                denominator: 0.05 * d.len() as f64,
                optimizer: opt,
            };
            cpu.step(&batch, &p)?;
            gpu.step(&batch, &p)?;
        }
        let (a, b) = (cpu.state()?.params, gpu.state()?.params);
        let m = a
            .iter()
            .zip(&b)
            .map(|(x, y)| (x - y).abs() / (1.0 + x.abs()))
            .fold(0.0, f64::max);
        out.push(Parity {
            head: kind,
            optimizer: match opt {
                Optimizer::Sgd { .. } => "sgd".into(),
                Optimizer::Adam { .. } => "adam".into(),
            },
            steps,
            max_scaled_diff: m,
            pass: m <= 1e-5,
            device: gpu.info.clone(),
        });
    }
    Ok(out)
}

/// Throughput of one backend and head.
#[derive(Debug, Clone, Serialize)]
pub struct Throughput {
    /// `cpu` or `cuda`.
    pub backend: String,
    /// Head.
    pub head: HeadKind,
    /// Expected batch size.
    pub batch: f64,
    /// Steps timed (after 3 warm-up steps).
    pub steps: u64,
    /// Seconds per private step.
    pub private_step_seconds: f64,
    /// Seconds per non-private step.
    pub nonprivate_step_seconds: f64,
    /// private / non-private.
    pub overhead: f64,
    /// Examples per second, private.
    pub private_examples_per_second: f64,
}

fn time_steps(
    b: &mut dyn Backend,
    n: usize,
    q: f64,
    steps: u64,
    private: bool,
) -> Result<(f64, usize)> {
    let opt = Optimizer::Sgd { lr: 0.1 };
    let mut ex = 0usize;
    let mut secs = 0.0;
    for t in 0..steps + 3 {
        let batch = poisson_batch(5, t, n, q);
        let p = StepParams {
            step: t,
            seed: 5,
            clip: if private { 1.0 } else { f64::INFINITY },
            noise_std: if private { 1.0 } else { 0.0 },
            denominator: q * n as f64,
            optimizer: opt,
        };
        let t0 = Instant::now();
        b.step(&batch, &p)?; // returns after copying the batch statistics back (synchronises)
        if t >= 3 {
            secs += t0.elapsed().as_secs_f64();
            ex += batch.len();
        }
    }
    Ok((secs / steps as f64, ex))
}

/// Private vs non-private step time on `backend` (`cpu` or `cuda`) for a head of width
/// `hidden` on n = 65,536 synthetic 384-d embeddings with expected batch `batch`.
///
/// # Errors
/// Backend unavailable.
pub fn throughput(
    backend: &str,
    kind: HeadKind,
    hidden: usize,
    batch: f64,
    steps: u64,
) -> Result<Throughput> {
    let n = 65_536;
    let d = data::synthetic(n, 384, 2, 2.0, 9)?;
    let head = Head::new(kind, 384, hidden, 2)?;
    let opt = Optimizer::Sgd { lr: 0.1 };
    let q = batch / n as f64;
    let mk = |_: ()| -> Result<Box<dyn Backend>> {
        let st = TrainState::new(head.init(2), &opt);
        Ok(if backend == "cuda" {
            Box::new(CudaBackend::new(head, &d.x, &d.y, &st)?)
        } else {
            Box::new(CpuBackend::new(head, d.x.clone(), d.y.clone(), st)?)
        })
    };
    let mut b = mk(())?;
    let (np, _) = time_steps(b.as_mut(), n, q, steps, false)?;
    let mut b = mk(())?;
    let (pr, ex) = time_steps(b.as_mut(), n, q, steps, true)?;
    Ok(Throughput {
        backend: backend.into(),
        head: kind,
        batch,
        steps,
        private_step_seconds: pr,
        nonprivate_step_seconds: np,
        overhead: pr / np,
        private_examples_per_second: ex as f64 / (pr * steps as f64),
    })
}
