//! The CUDA kernels compile with NVRTC (when the NVRTC library is loadable: install the PyPI
//! wheel `nvidia-cuda-nvrtc-cu12==12.2.140` and set LD_LIBRARY_PATH; skipped with a message
//! otherwise), and the committed PTX fallback holds every kernel entry point.

/// Writes past libtest's output capture, so a skip message shows in a plain `cargo test` run.
macro_rules! visible {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($t)*);
    }};
}

use ewtune::harness::cuda::{compile_kernels, nvrtc_present, KERNEL_NAMES};

const COMMITTED_PTX: &str = include_str!("../src/harness/kernels/dpsgd.ptx");

fn entries(ptx: &str) -> Vec<&str> {
    KERNEL_NAMES
        .iter()
        .copied()
        .filter(|n| !ptx.contains(&format!(".entry {n}(")))
        .collect()
}

#[test]
fn committed_ptx_has_every_kernel() {
    assert!(
        COMMITTED_PTX.contains(".target sm_90"),
        "PTX not for compute_90"
    );
    let missing = entries(COMMITTED_PTX);
    assert!(
        missing.is_empty(),
        "committed PTX lacks {missing:?}; regenerate it"
    );
}

#[test]
fn kernels_compile_with_nvrtc() {
    if !cfg!(feature = "cuda") {
        visible!("SKIPPED kernels_compile_with_nvrtc: built without the `cuda` feature");
        return;
    }
    if !nvrtc_present() {
        visible!(
            "SKIPPED kernels_compile_with_nvrtc: libnvrtc not found (pip install --target /tmp/nvrtc \
             nvidia-cuda-nvrtc-cu12==12.2.140; LD_LIBRARY_PATH=/tmp/nvrtc/nvidia/cuda_nvrtc/lib)"
        );
        return;
    }
    let ptx = compile_kernels().expect("NVRTC compiles the kernels");
    let missing = entries(&ptx);
    assert!(missing.is_empty(), "NVRTC output lacks {missing:?}");
}

/// Regenerates the committed PTX: `LD_LIBRARY_PATH=... cargo test --release --features cuda
/// --test nvrtc -- --ignored write_ptx`.
#[test]
#[ignore = "writes src/harness/kernels/dpsgd.ptx; run by hand after editing dpsgd.cu"]
fn write_ptx() {
    let ptx = compile_kernels().expect("NVRTC available");
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/harness/kernels/dpsgd.ptx");
    std::fs::write(&path, ptx).expect("write PTX");
    eprintln!("wrote {}", path.display());
}
