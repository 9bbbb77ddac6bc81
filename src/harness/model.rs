//! The trainable heads on fixed embeddings and their per-sample gradients.
//!
//! Parameters live in one flat `f64` vector (the Gaussian noise of coordinate `i` is drawn for
//! position `i`), laid out row-major:
//!
//! * linear: `W[K×D]`, `b[K]`; logits `z = W x + b`;
//! * MLP: `W1[H×D]`, `b1[H]`, `W2[K×H]`, `b2[K]`; `h = relu(W1 x + b1)`, `z = W2 h + b2`.
//!
//! The loss is softmax cross-entropy. For one example the gradient of the loss with respect to
//! the logits is `g2 = softmax(z) − e_y`, and for the MLP the gradient at the hidden
//! pre-activations is `g1 = (W2ᵀ g2) ⊙ 1[h > 0]`. Every weight matrix sees one input vector per
//! example, so its per-example gradient is the outer product `g aᵀ` and the squared Frobenius
//! norm of the whole per-example gradient is the *ghost norm*
//!
//! ‖∇θ_b‖² = ‖g2_b‖² (‖a2_b‖² + 1) + ‖g1_b‖² (‖x_b‖² + 1)
//!
//! (`a2 = h` for the MLP, `a2 = x` and no second term for the linear head; the `+1` is the bias).
//!
//! # References
//! I. Goodfellow, "Efficient per-example gradient computations", arXiv:1510.01799 (2015);
//! Z. Bu, Y.-X. Wang, S. Zha, G. Karypis, "Differentially private optimization on large model
//! at small cost" (book-keeping), ICML 2023.

use crate::error::{Error, Result};
use crate::harness::philox::{self, Domain};
use serde::{Deserialize, Serialize};

/// The kind of head.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HeadKind {
    /// Logistic/softmax regression.
    Linear,
    /// One hidden ReLU layer.
    Mlp,
}

/// Shape of a head: input width `dim`, `hidden` units (MLP only), `classes` outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    /// Linear or MLP.
    pub kind: HeadKind,
    /// Input width D.
    pub dim: usize,
    /// Hidden width H (ignored by the linear head).
    pub hidden: usize,
    /// Number of classes K (≥ 2).
    pub classes: usize,
}

/// The most classes the CUDA kernels handle (per-thread arrays).
pub const MAX_CLASSES: usize = 16;

/// Per-example quantities cached by the forward/backward pass (book-keeping: the clipped sum is
/// built from these, with no second backward pass).
#[derive(Debug, Clone, Default)]
pub struct Example {
    /// Hidden activations h (MLP) — empty for the linear head.
    pub h: Vec<f64>,
    /// Gradient at the hidden pre-activations g1 (MLP) — empty for the linear head.
    pub g1: Vec<f64>,
    /// Gradient at the logits g2.
    pub g2: Vec<f64>,
    /// Cross-entropy loss.
    pub loss: f64,
    /// Squared ghost norm of the per-example gradient.
    pub sqnorm: f64,
}

/// The most parameters a head may have (each is held in several f64 buffers: weights,
/// gradient sums, optimiser moments; 2^27 parameters is about 1 GiB apiece).
pub const MAX_PARAMS: usize = 1 << 27;

impl Head {
    /// Validate and build.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for `dim` = 0, `classes` ∉ [2, 16], or an MLP with `hidden` = 0.
    pub fn new(kind: HeadKind, dim: usize, hidden: usize, classes: usize) -> Result<Self> {
        if dim == 0 {
            return Err(Error::invalid("dim", dim, "must be >= 1"));
        }
        if !(2..=MAX_CLASSES).contains(&classes) {
            return Err(Error::invalid(
                "classes",
                classes,
                format!("must lie in [2, {MAX_CLASSES}]"),
            ));
        }
        if kind == HeadKind::Mlp && hidden == 0 {
            return Err(Error::invalid(
                "hidden",
                hidden,
                "must be >= 1 for the mlp head",
            ));
        }
        let hidden = if kind == HeadKind::Mlp { hidden } else { 0 };
        let out_in = if kind == HeadKind::Mlp { hidden } else { dim };
        // Parameters: (dim + 1)·hidden for the MLP's first layer, (out_in + 1)·classes after.
        let params = (dim as u128 + 1) * hidden as u128 + (out_in as u128 + 1) * classes as u128;
        if params > MAX_PARAMS as u128 {
            return Err(Error::BudgetExceeded {
                what: format!("a {kind:?} head on {dim} dimensions (hidden {hidden})"),
                needed: format!("{params} parameters"),
                budget: format!("{MAX_PARAMS} parameters"),
            });
        }
        Ok(Head {
            kind,
            dim,
            hidden,
            classes,
        })
    }

    /// Width of the input to the output layer (H for the MLP, D for the linear head).
    pub fn out_in(&self) -> usize {
        match self.kind {
            HeadKind::Linear => self.dim,
            HeadKind::Mlp => self.hidden,
        }
    }

    /// Offset of the output layer's weights in the flat vector.
    pub fn out_offset(&self) -> usize {
        match self.kind {
            HeadKind::Linear => 0,
            HeadKind::Mlp => self.hidden * self.dim + self.hidden,
        }
    }

    /// Number of parameters.
    pub fn num_params(&self) -> usize {
        self.out_offset() + self.classes * self.out_in() + self.classes
    }

    /// Initial parameters: weights N(0, 1/fan_in) from Philox (domain `Init`), biases zero.
    pub fn init(&self, seed: u64) -> Vec<f64> {
        let mut p = vec![0.0; self.num_params()];
        let mut fill = |start: usize, rows: usize, cols: usize| {
            let scale = 1.0 / (cols as f64).sqrt();
            let block = &mut p[start..start + rows * cols];
            philox::fill_gaussian(seed, 0, Domain::Init, start as u64, block);
            block.iter_mut().for_each(|w| *w *= scale);
        };
        if self.kind == HeadKind::Mlp {
            fill(0, self.hidden, self.dim);
        }
        fill(self.out_offset(), self.classes, self.out_in());
        p
    }

    /// Logits for one input.
    pub fn logits(&self, params: &[f64], x: &[f64], h: &mut Vec<f64>) -> Vec<f64> {
        let a: &[f64] = match self.kind {
            HeadKind::Linear => x,
            HeadKind::Mlp => {
                let (w1, rest) = params.split_at(self.hidden * self.dim);
                let b1 = &rest[..self.hidden];
                h.clear();
                h.extend((0..self.hidden).map(|j| {
                    let row = &w1[j * self.dim..(j + 1) * self.dim];
                    (b1[j] + dot(row, x)).max(0.0)
                }));
                h
            }
        };
        let o = self.out_offset();
        let n = self.out_in();
        let w = &params[o..o + self.classes * n];
        let b = &params[o + self.classes * n..];
        (0..self.classes)
            .map(|k| b[k] + dot(&w[k * n..(k + 1) * n], a))
            .collect()
    }

    /// Forward and backward for one example: loss, g2, (h, g1), ghost squared norm.
    pub fn example(&self, params: &[f64], x: &[f64], label: usize) -> Example {
        let mut h = Vec::new();
        let z = self.logits(params, x, &mut h);
        let zmax = z.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let sum: f64 = z.iter().map(|v| (v - zmax).exp()).sum();
        let lse = zmax + sum.ln();
        let loss = lse - z[label];
        let g2: Vec<f64> = z
            .iter()
            .enumerate()
            .map(|(k, v)| (v - lse).exp() - if k == label { 1.0 } else { 0.0 })
            .collect();
        let g2sq = dot(&g2, &g2);
        let xsq = dot(x, x);
        match self.kind {
            HeadKind::Linear => Example {
                h: Vec::new(),
                g1: Vec::new(),
                sqnorm: g2sq * (xsq + 1.0),
                g2,
                loss,
            },
            HeadKind::Mlp => {
                let o = self.out_offset();
                let hn = self.hidden;
                let w2 = &params[o..o + self.classes * hn];
                let g1: Vec<f64> = (0..hn)
                    .map(|j| {
                        if h[j] > 0.0 {
                            (0..self.classes).map(|k| w2[k * hn + j] * g2[k]).sum()
                        } else {
                            0.0
                        }
                    })
                    .collect();
                let sqnorm = g2sq * (dot(&h, &h) + 1.0) + dot(&g1, &g1) * (xsq + 1.0);
                Example {
                    h,
                    g1,
                    g2,
                    loss,
                    sqnorm,
                }
            }
        }
    }

    /// The per-example gradient, materialised as a full parameter-sized vector (the test oracle
    /// for the ghost norm and the book-keeping sum; O(P) memory per example).
    pub fn materialised_gradient(&self, params: &[f64], x: &[f64], label: usize) -> Vec<f64> {
        let e = self.example(params, x, label);
        let mut g = vec![0.0; self.num_params()];
        if self.kind == HeadKind::Mlp {
            for j in 0..self.hidden {
                for i in 0..self.dim {
                    g[j * self.dim + i] = e.g1[j] * x[i];
                }
                g[self.hidden * self.dim + j] = e.g1[j];
            }
        }
        let a: &[f64] = if self.kind == HeadKind::Mlp { &e.h } else { x };
        let o = self.out_offset();
        let n = self.out_in();
        for k in 0..self.classes {
            for i in 0..n {
                g[o + k * n + i] = e.g2[k] * a[i];
            }
            g[o + self.classes * n + k] = e.g2[k];
        }
        g
    }

    /// Predicted class.
    pub fn predict(&self, params: &[f64], x: &[f64]) -> usize {
        let mut h = Vec::new();
        let z = self.logits(params, x, &mut h);
        let mut best = 0;
        for k in 1..z.len() {
            if z[k] > z[best] {
                best = k;
            }
        }
        best
    }
}

/// Dot product.
#[inline]
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The clip factor c = min(1, C / (‖∇‖ + 1e-6)) (flat clipping; C = ∞ gives 1).
#[inline]
pub fn clip_factor(norm: f64, clip: f64) -> f64 {
    (clip / (norm + 1e-6)).min(1.0)
}
