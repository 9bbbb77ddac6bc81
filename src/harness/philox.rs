//! Philox4x32-10, a counter-based random number generator, and Gaussian draws from it by
//! Box–Muller in f64.
//!
//! A counter-based generator maps (counter, key) to random bits with no state, so the noise for
//! coordinate `i` at step `t` is a pure function of `(seed, t, i)`: the CPU and the CUDA kernels
//! draw the same noise, any thread can draw any coordinate, and a resumed run needs no saved
//! generator state. The CUDA kernel (`kernels/dpsgd.cu`) is a line-by-line copy of
//! [`philox4x32_10`] and [`gaussian_pair`].
//!
//! Layout used throughout the harness: key = (seed low 32 bits, seed high 32 bits); counter =
//! (block low, block high, step, domain), where `block` indexes pairs of draws and `domain`
//! separates the streams ([`Domain`]).
//!
//! # References
//! J. K. Salmon, M. A. Moraes, R. O. Dror, D. E. Shaw, "Parallel random numbers: as easy as
//! 1, 2, 3", SC'11 (Philox, Section 4.2; known-answer vectors from the Random123 distribution,
//! `kat_vectors`). G. E. P. Box, M. E. Muller, "A note on the generation of random normal
//! deviates", Ann. Math. Statist. 29 (1958).

const M0: u32 = 0xD251_1F53;
const M1: u32 = 0xCD9E_8D57;
const W0: u32 = 0x9E37_79B9;
const W1: u32 = 0xBB67_AE85;

/// Independent streams drawn from one seed (the fourth counter word).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum Domain {
    /// Gaussian noise added to the clipped gradient sum (block = coordinate / 2).
    Noise = 0,
    /// Poisson sampling of the batch (block = example / 2).
    Sampling = 1,
    /// Parameter initialisation.
    Init = 2,
    /// Train/test split and synthetic data.
    Data = 3,
}

#[inline]
fn mulhilo(a: u32, b: u32) -> (u32, u32) {
    let p = (a as u64) * (b as u64);
    ((p >> 32) as u32, p as u32)
}

/// The Philox4x32 bijection with 10 rounds: 4 words of counter, 2 words of key → 4 words.
///
/// # Guarantee
/// Exact (integer arithmetic); checked against the Random123 known-answer vectors.
#[inline]
pub fn philox4x32_10(counter: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let mut c = counter;
    let mut k = key;
    for round in 0..10 {
        if round > 0 {
            k[0] = k[0].wrapping_add(W0);
            k[1] = k[1].wrapping_add(W1);
        }
        let (hi0, lo0) = mulhilo(M0, c[0]);
        let (hi1, lo1) = mulhilo(M1, c[2]);
        c = [hi1 ^ c[1] ^ k[0], lo1, hi0 ^ c[3] ^ k[1], lo0];
    }
    c
}

/// The 64-bit seed as a Philox key.
#[inline]
pub fn key(seed: u64) -> [u32; 2] {
    [seed as u32, (seed >> 32) as u32]
}

/// The counter for pair `block` of step `step` in `domain`.
#[inline]
pub fn counter(block: u64, step: u64, domain: Domain) -> [u32; 4] {
    [
        block as u32,
        (block >> 32) as u32,
        step as u32,
        domain as u32,
    ]
}

/// Two uniforms from the four words: u1 ∈ (0, 1] and u2 ∈ [0, 1), 53 random bits each
/// (`((w_hi << 32 | w_lo) >> 11) · 2⁻⁵³`, plus one ulp for u1 so that ln u1 is finite).
#[inline]
pub fn uniform_pair(w: [u32; 4]) -> (f64, f64) {
    const SCALE: f64 = 1.0 / 9_007_199_254_740_992.0; // 2^-53
    let a = ((w[1] as u64) << 32 | w[0] as u64) >> 11;
    let b = ((w[3] as u64) << 32 | w[2] as u64) >> 11;
    ((a as f64 + 1.0) * SCALE, b as f64 * SCALE)
}

/// Two independent standard normals by Box–Muller in f64:
/// r = √(−2 ln u1), z0 = r cos 2πu2, z1 = r sin 2πu2.
///
/// # Guarantee
/// Exact in distribution up to the 53-bit discretisation of the uniforms (|z| ≤ 8.6).
#[inline]
pub fn gaussian_pair(seed: u64, block: u64, step: u64, domain: Domain) -> (f64, f64) {
    let (u1, u2) = uniform_pair(philox4x32_10(counter(block, step, domain), key(seed)));
    let r = (-2.0 * u1.ln()).sqrt();
    let t = 2.0 * std::f64::consts::PI * u2;
    (r * t.cos(), r * t.sin())
}

/// The standard normal draw for coordinate `index` (pair `index / 2`, first or second member).
#[inline]
pub fn gaussian(seed: u64, index: u64, step: u64, domain: Domain) -> f64 {
    let (z0, z1) = gaussian_pair(seed, index / 2, step, domain);
    if index % 2 == 0 {
        z0
    } else {
        z1
    }
}

/// A uniform in [0, 1) for item `index` (pair `index / 2`: the first item takes u2 of the pair,
/// the second takes u1 − 2⁻⁵³, both in [0, 1)).
#[inline]
pub fn uniform(seed: u64, index: u64, step: u64, domain: Domain) -> f64 {
    let (u1, u2) = uniform_pair(philox4x32_10(counter(index / 2, step, domain), key(seed)));
    if index % 2 == 0 {
        u2
    } else {
        u1 - 1.0 / 9_007_199_254_740_992.0
    }
}

/// Fill `out` with the draws for coordinates `start..start + out.len()` (one Philox call per
/// pair).
pub fn fill_gaussian(seed: u64, step: u64, domain: Domain, start: u64, out: &mut [f64]) {
    let mut i = 0usize;
    while i < out.len() {
        let idx = start + i as u64;
        let (z0, z1) = gaussian_pair(seed, idx / 2, step, domain);
        if idx % 2 == 0 {
            out[i] = z0;
            if i + 1 < out.len() {
                out[i + 1] = z1;
            }
            i += 2;
        } else {
            out[i] = z1;
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Random123 `kat_vectors`, philox4x32_10 (exact integers).
    #[test]
    fn random123_known_answers() {
        assert_eq!(
            philox4x32_10([0, 0, 0, 0], [0, 0]),
            [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]
        );
        assert_eq!(
            philox4x32_10([u32::MAX; 4], [u32::MAX; 2]),
            [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]
        );
        assert_eq!(
            philox4x32_10(
                [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
                [0xa4093822, 0x299f31d0]
            ),
            [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1]
        );
    }

    /// Mean and variance of 200,000 draws: standard errors are 1/√n ≈ 2.2e-3 for the mean and
    /// √(2/n) ≈ 3.2e-3 for the variance; tolerance 5 standard errors.
    #[test]
    fn noise_mean_and_variance() {
        let n = 200_000usize;
        let mut z = vec![0.0; n];
        fill_gaussian(42, 7, Domain::Noise, 0, &mut z);
        let mean = z.iter().sum::<f64>() / n as f64;
        let var = z.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1) as f64;
        let se = 1.0 / (n as f64).sqrt();
        assert!(mean.abs() < 5.0 * se, "mean {mean}");
        assert!((var - 1.0).abs() < 5.0 * (2.0f64).sqrt() * se, "var {var}");
        // fourth moment 3 (sd of the estimator √(96/n) ≈ 0.022): tolerance 0.11
        let m4 = z.iter().map(|x| x.powi(4)).sum::<f64>() / n as f64;
        assert!((m4 - 3.0).abs() < 0.11, "m4 {m4}");
        // different steps give different noise
        let mut w = vec![0.0; 4];
        fill_gaussian(42, 8, Domain::Noise, 0, &mut w);
        assert_ne!(&w[..], &z[..4]);
    }

    #[test]
    fn fill_matches_pointwise_at_any_offset() {
        let mut a = vec![0.0; 7];
        fill_gaussian(3, 2, Domain::Noise, 5, &mut a);
        for (i, v) in a.iter().enumerate() {
            assert_eq!(*v, gaussian(3, 5 + i as u64, 2, Domain::Noise));
        }
        for i in 0..100 {
            let u = uniform(9, i, 1, Domain::Sampling);
            assert!((0.0..1.0).contains(&u), "{u}");
        }
    }
}
