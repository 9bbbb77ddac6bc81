//! The CPU backend: per-example forward/backward in parallel (rayon), ghost norms, clip
//! factors, the clipped sum by book-keeping (Σ_b c_b g_b a_bᵀ from the cached g_b, a_b), then
//! noise and the optimizer per coordinate.
//!
//! Every sum over the batch is taken sequentially in batch order by the thread that owns the
//! output coordinate, so results do not depend on the number of threads (resumed and
//! uninterrupted runs agree bit for bit).

use crate::error::{Error, Result};
use crate::harness::dpsgd::{update_coordinate, Backend, StepParams, StepStats, TrainState};
use crate::harness::model::{clip_factor, Example, Head, HeadKind};
use rayon::prelude::*;

/// DP-SGD on the CPU over resident embeddings.
#[derive(Debug, Clone)]
pub struct CpuBackend {
    head: Head,
    /// Training inputs, row-major n×D.
    x: Vec<f64>,
    /// Labels.
    y: Vec<u32>,
    state: TrainState,
}

impl CpuBackend {
    /// Build from the training set and an initial state.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when sizes disagree or a label is out of range.
    pub fn new(head: Head, x: Vec<f64>, y: Vec<u32>, state: TrainState) -> Result<Self> {
        check_data(&head, &x, &y)?;
        if state.params.len() != head.num_params() {
            return Err(Error::invalid(
                "params",
                state.params.len(),
                format!("must have {} entries for this head", head.num_params()),
            ));
        }
        Ok(CpuBackend { head, x, y, state })
    }

    /// The per-example caches and clip factors of a batch at the current parameters.
    pub fn examples(&self, batch: &[u32], clip: f64) -> Vec<(Example, f64)> {
        let d = self.head.dim;
        batch
            .par_iter()
            .map(|&i| {
                let i = i as usize;
                let e = self.head.example(
                    &self.state.params,
                    &self.x[i * d..(i + 1) * d],
                    self.y[i] as usize,
                );
                let c = if clip.is_finite() {
                    clip_factor(e.sqnorm.sqrt(), clip)
                } else {
                    1.0
                };
                (e, c)
            })
            .collect()
    }
}

/// Check inputs against the head.
///
/// # Errors
/// [`Error::InvalidParameter`] naming `features` or `labels`.
pub fn check_data(head: &Head, x: &[f64], y: &[u32]) -> Result<()> {
    if x.len() != y.len() * head.dim {
        return Err(Error::invalid(
            "features",
            x.len(),
            format!(
                "must have labels × dim = {} × {} entries",
                y.len(),
                head.dim
            ),
        ));
    }
    if let Some(&bad) = y.iter().find(|&&l| l as usize >= head.classes) {
        return Err(Error::invalid(
            "labels",
            bad,
            format!("must lie in [0, {})", head.classes),
        ));
    }
    if x.iter().any(|v| !v.is_finite()) {
        return Err(Error::invalid("features", "non-finite", "must be finite"));
    }
    Ok(())
}

impl Backend for CpuBackend {
    fn name(&self) -> &'static str {
        "cpu"
    }

    fn step(&mut self, batch: &[u32], p: &StepParams) -> Result<StepStats> {
        p.validate()?;
        if let Some(&bad) = batch.iter().find(|&&i| i as usize >= self.y.len()) {
            return Err(Error::invalid("batch", bad, "index out of range"));
        }
        if p.optimizer.has_moments() != (self.state.m.len() == self.state.params.len()) {
            return Err(Error::invalid(
                "optimizer",
                format!("{:?}", p.optimizer),
                "does not match the state's moment vectors",
            ));
        }
        let head = self.head;
        let d = head.dim;
        let ex = self.examples(batch, p.clip);

        // Book-keeping clipped sum, one output row per task.
        let mut sum = vec![0.0; head.num_params()];
        let x = &self.x;
        let input = |b: usize| -> &[f64] {
            let i = batch[b] as usize;
            &x[i * d..(i + 1) * d]
        };
        let o = head.out_offset();
        let n_out = head.out_in();
        let (first, second) = sum.split_at_mut(o);
        if head.kind == HeadKind::Mlp {
            let (w1, b1) = first.split_at_mut(head.hidden * d);
            w1.par_chunks_mut(d).enumerate().for_each(|(j, row)| {
                for (b, (e, c)) in ex.iter().enumerate() {
                    let s = c * e.g1[j];
                    if s != 0.0 {
                        for (r, a) in row.iter_mut().zip(input(b)) {
                            *r += s * a;
                        }
                    }
                }
            });
            for (j, bj) in b1.iter_mut().enumerate() {
                *bj = ex.iter().map(|(e, c)| c * e.g1[j]).sum();
            }
        }
        let (w2, b2) = second.split_at_mut(head.classes * n_out);
        w2.par_chunks_mut(n_out).enumerate().for_each(|(k, row)| {
            for (b, (e, c)) in ex.iter().enumerate() {
                let s = c * e.g2[k];
                let a: &[f64] = if head.kind == HeadKind::Mlp {
                    &e.h
                } else {
                    input(b)
                };
                for (r, av) in row.iter_mut().zip(a) {
                    *r += s * av;
                }
            }
        });
        for (k, bk) in b2.iter_mut().enumerate() {
            *bk = ex.iter().map(|(e, c)| c * e.g2[k]).sum();
        }

        // Noise and optimizer, coordinate-wise in parallel.
        let st = &mut self.state;
        const CHUNK: usize = 4096;
        if st.m.is_empty() {
            st.params
                .par_chunks_mut(CHUNK)
                .zip(sum.par_chunks(CHUNK))
                .enumerate()
                .for_each(|(ci, (th, s))| {
                    for (j, (t, sv)) in th.iter_mut().zip(s).enumerate() {
                        update_coordinate((ci * CHUNK + j) as u64, *sv, p, t, None, None);
                    }
                });
        } else {
            st.params
                .par_chunks_mut(CHUNK)
                .zip(st.m.par_chunks_mut(CHUNK))
                .zip(st.v.par_chunks_mut(CHUNK))
                .zip(sum.par_chunks(CHUNK))
                .enumerate()
                .for_each(|(ci, (((th, m), v), s))| {
                    for j in 0..th.len() {
                        update_coordinate(
                            (ci * CHUNK + j) as u64,
                            s[j],
                            p,
                            &mut th[j],
                            Some(&mut m[j]),
                            Some(&mut v[j]),
                        );
                    }
                });
        }
        st.steps_done = p.step + 1;

        let nb = ex.len();
        let (loss, mean_norm, frac) = if nb == 0 {
            (f64::NAN, f64::NAN, 0.0)
        } else {
            let loss = ex.iter().map(|(e, _)| e.loss).sum::<f64>() / nb as f64;
            let mean_norm = if p.clip.is_finite() {
                ex.iter().map(|(e, _)| e.sqnorm.sqrt()).sum::<f64>() / nb as f64
            } else {
                f64::NAN
            };
            let frac = ex.iter().filter(|(_, c)| *c < 1.0).count() as f64 / nb as f64;
            (loss, mean_norm, frac)
        };
        Ok(StepStats {
            batch_size: nb,
            loss,
            mean_norm,
            frac_clipped: frac,
        })
    }

    fn state(&self) -> Result<TrainState> {
        Ok(self.state.clone())
    }

    fn load_state(&mut self, state: &TrainState) -> Result<()> {
        if state.params.len() != self.head.num_params() {
            return Err(Error::invalid(
                "params",
                state.params.len(),
                format!("must have {} entries", self.head.num_params()),
            ));
        }
        self.state = state.clone();
        Ok(())
    }
}
