//! The CUDA backend (feature `cuda`): our own f64 kernels (`kernels/dpsgd.cu`) through cudarc
//! with dynamic loading, compiled at run time by NVRTC for `compute_90`, or loaded from the
//! committed PTX (`kernels/dpsgd.ptx`, NVRTC 12.2, PTX ISA 8.2) when NVRTC is absent
//! (`EWTUNE_CUDA_KERNELS=ptx` forces the committed PTX, `=nvrtc` forbids the fallback). Nothing
//! CUDA is needed to build.
//!
//! One step = four launches on the default stream: `hidden_forward` (MLP), `output_backward`
//! (logits, cross-entropy, g2, g1, ghost norm, clip factor — one block per example),
//! `clipped_sum` per layer (Σ_b c_b g_b a_bᵀ in batch order, one thread per weight), and
//! `noise_update` (Philox noise, division by qN, SGD/Adam — one thread per coordinate). The
//! kernels mirror the CPU functions, so CPU and CUDA agree to rounding (fused multiply-adds and
//! CUDA's `exp`/`log`/`cos` within 2 ulp), not bit for bit.
//!
//! Probing never panics: the driver library is checked with `is_culib_present()` and context
//! creation runs under `catch_unwind`; any failure becomes [`crate::Error::BackendUnavailable`], on
//! which `--backend auto` falls back to the CPU with a message.
//!
//! Without the feature, a twin with the same API returns [`crate::Error::BackendUnavailable`].

/// The kernel source (compiled by NVRTC at run time).
pub const KERNEL_SOURCE: &str = include_str!("kernels/dpsgd.cu");

/// Kernel entry points.
pub const KERNEL_NAMES: [&str; 4] = [
    "hidden_forward",
    "output_backward",
    "clipped_sum",
    "noise_update",
];

#[cfg(feature = "cuda")]
mod imp {
    use super::{KERNEL_NAMES, KERNEL_SOURCE};
    use crate::error::{Error, Result};
    use crate::harness::cpu::check_data;
    use crate::harness::dpsgd::{Backend, StepParams, StepStats, TrainState};
    use crate::harness::model::{Head, HeadKind};
    use cudarc::driver::{
        CudaContext, CudaFunction, CudaSlice, CudaStream, DriverError, LaunchConfig, PushKernelArg,
    };
    use cudarc::nvrtc::{CompileOptions, Ptx};
    use std::sync::Arc;

    /// The committed PTX fallback (NVRTC 12.2, compute_90).
    pub const KERNEL_PTX: &str = include_str!("kernels/dpsgd.ptx");

    const THREADS: u32 = 128;

    fn unavailable(what: &str, e: impl std::fmt::Display) -> Error {
        Error::BackendUnavailable(format!("{what}: {e}"))
    }

    fn dev(e: DriverError) -> Error {
        Error::BackendUnavailable(format!("CUDA driver error: {e}"))
    }

    /// Whether the CUDA driver library can be loaded (no panic).
    pub fn driver_present() -> bool {
        // SAFETY: is_culib_present only tries to dlopen candidate library names and drops them;
        // it calls no CUDA function.
        unsafe { cudarc::driver::sys::is_culib_present() }
    }

    /// Whether the NVRTC library can be loaded (no panic).
    pub fn nvrtc_present() -> bool {
        // SAFETY: as for driver_present: dlopen attempts only.
        unsafe { cudarc::nvrtc::sys::is_culib_present() }
    }

    /// Compile the kernels with NVRTC for `compute_90` and return the PTX text.
    ///
    /// # Errors
    /// [`Error::BackendUnavailable`] when NVRTC is missing or compilation fails (with the log).
    pub fn compile_kernels() -> Result<String> {
        if !nvrtc_present() {
            return Err(Error::BackendUnavailable(
                "NVRTC library (libnvrtc.so) not found; set LD_LIBRARY_PATH".into(),
            ));
        }
        let opts = CompileOptions {
            arch: Some("compute_90"),
            ..Default::default()
        };
        let r =
            std::panic::catch_unwind(|| cudarc::nvrtc::compile_ptx_with_opts(KERNEL_SOURCE, opts));
        match r {
            Ok(Ok(ptx)) => Ok(ptx.to_src()),
            Ok(Err(e)) => Err(unavailable("NVRTC compilation failed", format!("{e:?}"))),
            Err(_) => Err(Error::BackendUnavailable(
                "NVRTC panicked while loading".into(),
            )),
        }
    }

    /// Where the kernels come from: `EWTUNE_CUDA_KERNELS` = `auto` (default: NVRTC, else the
    /// committed PTX), `nvrtc` (NVRTC or fail) or `ptx` (the committed PTX, to check the fallback
    /// on a machine that has NVRTC).
    enum KernelChoice {
        Auto,
        Nvrtc,
        Ptx,
    }

    fn kernel_choice() -> Result<KernelChoice> {
        match std::env::var("EWTUNE_CUDA_KERNELS").as_deref() {
            Err(_) | Ok("") | Ok("auto") => Ok(KernelChoice::Auto),
            Ok("nvrtc") => Ok(KernelChoice::Nvrtc),
            Ok("ptx") => Ok(KernelChoice::Ptx),
            Ok(other) => Err(Error::invalid(
                "EWTUNE_CUDA_KERNELS",
                other,
                "must be one of auto, nvrtc, ptx",
            )),
        }
    }

    struct Kernels {
        hidden_forward: CudaFunction,
        output_backward: CudaFunction,
        clipped_sum: CudaFunction,
        noise_update: CudaFunction,
    }

    /// DP-SGD on one CUDA device (ordinal 0), parameters and data resident in device memory.
    pub struct CudaBackend {
        head: Head,
        stream: Arc<CudaStream>,
        k: Kernels,
        x: CudaSlice<f64>,
        y: CudaSlice<u32>,
        n: usize,
        theta: CudaSlice<f64>,
        m: CudaSlice<f64>,
        v: CudaSlice<f64>,
        adam: bool,
        sum: CudaSlice<f64>,
        hact: CudaSlice<f64>,
        g1: CudaSlice<f64>,
        g2: CudaSlice<f64>,
        loss: CudaSlice<f64>,
        norm: CudaSlice<f64>,
        cfac: CudaSlice<f64>,
        idx: CudaSlice<u32>,
        steps_done: u64,
        /// `nvrtc` or `ptx` (where the kernels came from) and the device name.
        pub info: String,
    }

    impl std::fmt::Debug for CudaBackend {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "CudaBackend({})", self.info)
        }
    }

    fn context() -> Result<Arc<CudaContext>> {
        if !driver_present() {
            return Err(Error::BackendUnavailable(
                "no CUDA driver library (libcuda.so) found".into(),
            ));
        }
        match std::panic::catch_unwind(|| CudaContext::new(0)) {
            Ok(Ok(ctx)) => Ok(ctx),
            Ok(Err(e)) => Err(unavailable("no usable CUDA device", e)),
            Err(_) => Err(Error::BackendUnavailable(
                "the CUDA driver panicked while creating a context".into(),
            )),
        }
    }

    impl CudaBackend {
        /// Upload the training set and the state; compile (or load) the kernels.
        ///
        /// # Errors
        /// [`Error::BackendUnavailable`] without a driver/device or kernels; bad sizes.
        pub fn new(head: Head, x: &[f64], y: &[u32], state: &TrainState) -> Result<Self> {
            check_data(&head, x, y)?;
            if state.params.len() != head.num_params() {
                return Err(Error::invalid(
                    "params",
                    state.params.len(),
                    "wrong length for this head",
                ));
            }
            let choice = kernel_choice()?;
            let ctx = context()?;
            let (ptx, source) = match choice {
                KernelChoice::Ptx => (Ptx::from_src(KERNEL_PTX), "committed ptx"),
                KernelChoice::Nvrtc => (Ptx::from_src(compile_kernels()?), "nvrtc"),
                KernelChoice::Auto => match compile_kernels() {
                    Ok(p) => (Ptx::from_src(p), "nvrtc"),
                    Err(_) => (Ptx::from_src(KERNEL_PTX), "committed ptx"),
                },
            };
            let module = ctx.load_module(ptx).map_err(dev)?;
            let f = |name: &str| module.load_function(name).map_err(dev);
            let k = Kernels {
                hidden_forward: f(KERNEL_NAMES[0])?,
                output_backward: f(KERNEL_NAMES[1])?,
                clipped_sum: f(KERNEL_NAMES[2])?,
                noise_update: f(KERNEL_NAMES[3])?,
            };
            let stream = ctx.default_stream();
            let n = y.len();
            let p = head.num_params();
            let adam = state.m.len() == p;
            let zeros = |len: usize| stream.alloc_zeros::<f64>(len.max(1)).map_err(dev);
            let b = Self {
                head,
                x: stream.clone_htod(x).map_err(dev)?,
                y: stream.clone_htod(y).map_err(dev)?,
                n,
                theta: stream.clone_htod(&state.params).map_err(dev)?,
                m: if adam {
                    stream.clone_htod(&state.m).map_err(dev)?
                } else {
                    zeros(1)?
                },
                v: if adam {
                    stream.clone_htod(&state.v).map_err(dev)?
                } else {
                    zeros(1)?
                },
                adam,
                sum: zeros(p)?,
                hact: zeros(n * head.hidden)?,
                g1: zeros(n * head.hidden)?,
                g2: zeros(n * head.classes)?,
                loss: zeros(n)?,
                norm: zeros(n)?,
                cfac: zeros(n)?,
                idx: stream.alloc_zeros::<u32>(n.max(1)).map_err(dev)?,
                steps_done: state.steps_done,
                info: format!(
                    "{} ({source})",
                    ctx.name().unwrap_or_else(|_| "CUDA device".into())
                ),
                stream,
                k,
            };
            Ok(b)
        }

        /// Block until queued work is done (for timing).
        ///
        /// # Errors
        /// A device failure.
        pub fn synchronize(&self) -> Result<()> {
            self.stream.synchronize().map_err(dev)
        }
    }

    fn grid(n: usize) -> u32 {
        (n as u32).div_ceil(THREADS)
    }

    /// One launch configuration: `grid` blocks of THREADS threads, no dynamic shared memory.
    fn config(grid_x: u32, grid_y: u32) -> LaunchConfig {
        LaunchConfig {
            grid_dim: (grid_x, grid_y, 1),
            block_dim: (THREADS, 1, 1),
            shared_mem_bytes: 0,
        }
    }

    /// The phases of [`Backend::step`], in launch order (module docs).
    impl CudaBackend {
        /// Parameters, optimizer state, batch indices and the grid limit, before any launch.
        fn check_step(&self, batch: &[u32], p: &StepParams) -> Result<()> {
            p.validate()?;
            if p.optimizer.has_moments() != self.adam {
                return Err(Error::invalid(
                    "optimizer",
                    format!("{:?}", p.optimizer),
                    "does not match the state's moment vectors",
                ));
            }
            if let Some(&bad) = batch.iter().find(|&&i| i as usize >= self.n) {
                return Err(Error::invalid("batch", bad, "index out of range"));
            }
            if batch.len() > 65_535 {
                return Err(Error::invalid(
                    "batch",
                    batch.len(),
                    "the CUDA backend takes at most 65,535 examples per step (grid limit)",
                ));
            }
            Ok(())
        }

        /// Copy the batch's example indices to the device (`idx[0..B]`).
        fn upload_batch(&mut self, batch: &[u32]) -> Result<()> {
            let mut idx = self.idx.slice_mut(0..batch.len());
            self.stream.memcpy_htod(batch, &mut idx).map_err(dev)
        }

        /// MLP only: hidden activations `hact` of the batch (`hidden_forward`).
        fn forward_hidden(&mut self, nb: usize) -> Result<()> {
            let head = self.head;
            let (bi, d, h) = (nb as i32, head.dim as i32, head.hidden as i32);
            let mut l = self.stream.launch_builder(&self.k.hidden_forward);
            l.arg(&self.x)
                .arg(&self.idx)
                .arg(&bi)
                .arg(&d)
                .arg(&h)
                .arg(&self.theta)
                .arg(&mut self.hact);
            // SAFETY: the argument list matches hidden_forward's signature (X, idx, B, D,
            // H, params, hout); X has n·D, idx ≥ B, params P, hout n·H ≥ B·H entries, and
            // the kernel bounds-checks b < B, j < H.
            unsafe { l.launch(config(grid(head.hidden), nb as u32)) }.map_err(dev)?;
            Ok(())
        }

        /// Logits, loss, per-example gradients g2 (output) and g1 (hidden), ghost norms and
        /// clip factors (`output_backward`, one block per example); `clip` = ∞ skips the norms.
        fn backward_and_norms(&mut self, nb: usize, clip: f64) -> Result<()> {
            let head = self.head;
            let (bi, d, h, kc) = (
                nb as i32,
                head.dim as i32,
                head.hidden as i32,
                head.classes as i32,
            );
            let want_norms: i32 = clip.is_finite() as i32;
            let clip = if clip.is_finite() { clip } else { 0.0 };
            let mut l = self.stream.launch_builder(&self.k.output_backward);
            l.arg(&self.x)
                .arg(&self.idx)
                .arg(&self.y)
                .arg(&bi)
                .arg(&d)
                .arg(&h)
                .arg(&kc)
                .arg(&self.theta)
                .arg(&self.hact)
                .arg(&mut self.g2)
                .arg(&mut self.g1)
                .arg(&mut self.loss)
                .arg(&mut self.norm)
                .arg(&mut self.cfac)
                .arg(&clip)
                .arg(&want_norms);
            // SAFETY: arguments match output_backward's signature in order and type; buffers
            // hold ≥ B rows of the widths the kernel indexes (g2 n·K, g1/hact n·H or 1 when
            // H = 0 and then unused), K ≤ MAX_CLASSES (Head::new), one block of THREADS
            // threads per example as the kernel's shared arrays assume.
            unsafe { l.launch(config(nb as u32, 1)) }.map_err(dev)?;
            Ok(())
        }

        /// Clipped sums Σ_b c_b g_b a_bᵀ per layer, written into `sum` (`clipped_sum`).
        fn clipped_sums(&mut self, nb: usize) -> Result<()> {
            let head = self.head;
            let o = head.out_offset();
            let n_out = head.out_in();
            let bi = nb as i32;
            let mut layers: Vec<(bool, usize, usize, usize)> = Vec::new(); // (input is X, rows, cols, offset)
            if head.kind == HeadKind::Mlp {
                layers.push((true, head.hidden, head.dim, 0));
            }
            layers.push((head.kind == HeadKind::Linear, head.classes, n_out, o));
            for (is_x, rows, cols, off) in layers {
                let (mut lo, mut hi) = self.sum.split_at_mut(off + rows * cols);
                let mut w = lo.slice_mut(off..);
                let mut bias = hi.slice_mut(0..rows);
                let (r, c) = (rows as i32, cols as i32);
                let use_idx: i32 = is_x as i32;
                let gbuf = if rows == head.classes && off == o {
                    &self.g2
                } else {
                    &self.g1
                };
                let a = if is_x { &self.x } else { &self.hact };
                let mut l = self.stream.launch_builder(&self.k.clipped_sum);
                l.arg(a)
                    .arg(&self.idx)
                    .arg(&use_idx)
                    .arg(gbuf)
                    .arg(&self.cfac)
                    .arg(&bi)
                    .arg(&r)
                    .arg(&c)
                    .arg(&mut w)
                    .arg(&mut bias);
                // SAFETY: arguments match clipped_sum's signature; `w` views rows·cols and
                // `bias` rows entries of `sum`; A rows are idx[b] < n (X, n·D) or b < B (hact,
                // n·H); G has B·rows entries; threads are bounds-checked (r < R, i ≤ ncols).
                unsafe { l.launch(config(grid(cols + 1), rows as u32)) }.map_err(dev)?;
            }
            Ok(())
        }

        /// Philox noise, division by the denominator and the SGD/Adam update of θ
        /// (`noise_update`, one thread per coordinate).
        fn noise_and_update(&mut self, p: &StepParams) -> Result<()> {
            let p_len = self.head.num_params();
            let c = p.optimizer.at_step(p.step);
            let opt = c.adam as i32;
            let n_p = p_len as i32;
            let mut l = self.stream.launch_builder(&self.k.noise_update);
            l.arg(&mut self.theta)
                .arg(&self.sum)
                .arg(&mut self.m)
                .arg(&mut self.v)
                .arg(&n_p)
                .arg(&p.seed)
                .arg(&p.step)
                .arg(&p.noise_std)
                .arg(&p.denominator)
                .arg(&opt)
                .arg(&c.lr)
                .arg(&c.beta1)
                .arg(&c.beta2)
                .arg(&c.eps)
                .arg(&c.bias1)
                .arg(&c.bias2);
            // SAFETY: arguments match noise_update's signature (u64 seed/step as unsigned long
            // long); theta and sum hold P entries, m and v P entries for Adam (opt = 1) and are
            // not touched for SGD; threads are bounds-checked (i < n).
            unsafe { l.launch(config(grid(p_len), 1)) }.map_err(dev)?;
            Ok(())
        }

        /// Mean loss, mean norm (NaN without clipping) and the clipped fraction of the batch.
        fn statistics(&self, nb: usize, clip: f64) -> Result<StepStats> {
            if nb == 0 {
                return Ok(StepStats {
                    batch_size: 0,
                    loss: f64::NAN,
                    mean_norm: f64::NAN,
                    frac_clipped: 0.0,
                });
            }
            let s = &self.stream;
            let loss = s.clone_dtoh(&self.loss.slice(0..nb)).map_err(dev)?;
            let norm = s.clone_dtoh(&self.norm.slice(0..nb)).map_err(dev)?;
            let cfac = s.clone_dtoh(&self.cfac.slice(0..nb)).map_err(dev)?;
            Ok(StepStats {
                batch_size: nb,
                loss: loss.iter().sum::<f64>() / nb as f64,
                mean_norm: if clip.is_finite() {
                    norm.iter().sum::<f64>() / nb as f64
                } else {
                    f64::NAN
                },
                frac_clipped: cfac.iter().filter(|&&c| c < 1.0).count() as f64 / nb as f64,
            })
        }
    }

    impl Backend for CudaBackend {
        fn name(&self) -> &'static str {
            "cuda"
        }

        fn step(&mut self, batch: &[u32], p: &StepParams) -> Result<StepStats> {
            self.check_step(batch, p)?;
            let nb = batch.len();
            if nb > 0 {
                self.upload_batch(batch)?;
                if self.head.kind == HeadKind::Mlp {
                    self.forward_hidden(nb)?;
                }
                self.backward_and_norms(nb, p.clip)?;
                self.clipped_sums(nb)?;
            } else {
                // Clipped sums of an empty batch: zeros.
                self.stream.memset_zeros(&mut self.sum).map_err(dev)?;
            }
            self.noise_and_update(p)?;
            self.steps_done = p.step + 1;
            self.statistics(nb, p.clip)
        }

        fn state(&self) -> Result<TrainState> {
            let s = &self.stream;
            Ok(TrainState {
                steps_done: self.steps_done,
                params: s.clone_dtoh(&self.theta).map_err(dev)?,
                m: if self.adam {
                    s.clone_dtoh(&self.m).map_err(dev)?
                } else {
                    Vec::new()
                },
                v: if self.adam {
                    s.clone_dtoh(&self.v).map_err(dev)?
                } else {
                    Vec::new()
                },
            })
        }

        fn load_state(&mut self, state: &TrainState) -> Result<()> {
            let p = self.head.num_params();
            if state.params.len() != p || (self.adam && (state.m.len() != p || state.v.len() != p))
            {
                return Err(Error::invalid(
                    "state",
                    state.params.len(),
                    "wrong sizes for this backend",
                ));
            }
            let s = self.stream.clone();
            s.memcpy_htod(&state.params, &mut self.theta).map_err(dev)?;
            if self.adam {
                s.memcpy_htod(&state.m, &mut self.m).map_err(dev)?;
                s.memcpy_htod(&state.v, &mut self.v).map_err(dev)?;
            }
            self.steps_done = state.steps_done;
            Ok(())
        }
    }
}

#[cfg(feature = "cuda")]
pub use imp::{compile_kernels, driver_present, nvrtc_present, CudaBackend, KERNEL_PTX};

#[cfg(not(feature = "cuda"))]
mod twin {
    use crate::error::{Error, Result};
    use crate::harness::dpsgd::{Backend, StepParams, StepStats, TrainState};
    use crate::harness::model::Head;

    const MSG: &str = "built without the `cuda` feature (cargo build --release --features cuda)";

    /// Never constructed without the `cuda` feature.
    #[derive(Debug)]
    pub struct CudaBackend {
        never: std::convert::Infallible,
        /// Device description (for API parity).
        pub info: String,
    }

    impl CudaBackend {
        /// Always [`Error::BackendUnavailable`]: the binary was built without `cuda`.
        ///
        /// # Errors
        /// Always.
        pub fn new(_head: Head, _x: &[f64], _y: &[u32], _state: &TrainState) -> Result<Self> {
            Err(Error::BackendUnavailable(MSG.into()))
        }

        /// Unreachable (no value exists).
        ///
        /// # Errors
        /// Never returns.
        pub fn synchronize(&self) -> Result<()> {
            match self.never {}
        }
    }

    /// Always false without the `cuda` feature.
    pub fn driver_present() -> bool {
        false
    }

    /// Always false without the `cuda` feature.
    pub fn nvrtc_present() -> bool {
        false
    }

    /// Always [`Error::BackendUnavailable`] without the `cuda` feature.
    ///
    /// # Errors
    /// Always.
    pub fn compile_kernels() -> Result<String> {
        Err(Error::BackendUnavailable(MSG.into()))
    }

    impl Backend for CudaBackend {
        fn name(&self) -> &'static str {
            "cuda"
        }
        fn step(&mut self, _batch: &[u32], _params: &StepParams) -> Result<StepStats> {
            match self.never {}
        }
        fn state(&self) -> Result<TrainState> {
            match self.never {}
        }
        fn load_state(&mut self, _state: &TrainState) -> Result<()> {
            match self.never {}
        }
    }
}

#[cfg(not(feature = "cuda"))]
pub use twin::{compile_kernels, driver_present, nvrtc_present, CudaBackend};
