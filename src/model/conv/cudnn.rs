//! The convolution as three candle custom ops — forward, backward-data, backward-filter — that
//! call cuDNN on CUDA (`--features cudnn`), the library PyTorch itself calls: no im2col buffer
//! on the GPU, only cuDNN's workspace. On CPU the same ops delegate to the fused CPU kernels
//! ([`super::conv_forward`], [`super::conv_backward`]), so the ops' plumbing (shapes, which
//! gradient is computed, block 1 without backward-data) is tested without a GPU.
//!
//! The ops record no graph (their `bwd` is never needed): the CNN6 block op composes them in
//! its own backward.

use candle_core::{bail, CpuStorage, CustomOp2, Layout, Result, Shape, Tensor};

use super::{conv_backward, conv_forward, f32_data, geometry};

/// `y = conv(x, w)`: `(x [B, C, H, W], w [O, C, K, K])` → `[B, O, OH, OW]`.
struct Forward {
    pad: usize,
}

/// `dx`: `(dy [B, O, OH, OW], w [O, C, K, K])` → `[B, C, H, W]`.
struct BackwardData {
    pad: usize,
    /// `(H, W)` of the input (not recoverable from `dy` alone).
    hw: (usize, usize),
}

/// `dw`: `(x [B, C, H, W], dy [B, O, OH, OW])` → `[O, C, K, K]`.
struct BackwardFilter {
    pad: usize,
    /// `(KH, KW)` of the weight.
    k: (usize, usize),
}

/// `x`'s shape for a backward-data op, checked against `dy` and `w`.
fn input_shape(dy: &Shape, w: &Shape, pad: usize, (h, wd): (usize, usize)) -> Result<Shape> {
    let (b, o, oh, ow) = dy.dims4()?;
    let (wo, c, kh, kw) = w.dims4()?;
    if wo != o || h + 2 * pad + 1 != oh + kh || wd + 2 * pad + 1 != ow + kw {
        bail!("conv2d backward-data: gradient {dy:?} does not match weight {w:?} and input {h}×{wd} (padding {pad})");
    }
    Ok(Shape::from((b, c, h, wd)))
}

impl CustomOp2 for Forward {
    fn name(&self) -> &'static str {
        "auscult-conv2d-fwd"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let x = f32_data(s1, l1, "conv input")?;
        let w = f32_data(s2, l2, "conv weight")?;
        let (b, g) = geometry(l1.shape(), l2.shape(), self.pad)?;
        let mut out = vec![0.0f32; b * g.out_len()];
        conv_forward(x, w, b, &g, &mut out);
        Ok((CpuStorage::F32(out), Shape::from((b, g.o, g.oh, g.ow))))
    }

    #[cfg(feature = "cuda")]
    fn cuda_fwd(
        &self,
        s1: &candle_core::CudaStorage,
        l1: &Layout,
        s2: &candle_core::CudaStorage,
        l2: &Layout,
    ) -> Result<(candle_core::CudaStorage, Shape)> {
        let (b, g) = geometry(l1.shape(), l2.shape(), self.pad)?;
        let y = Shape::from((b, g.o, g.oh, g.ow));
        let out = cuda::run(
            cuda::Pass::Forward,
            self.pad,
            l1.shape(),
            l2.shape(),
            &y,
            (s1, l1),
            (s2, l2),
        )?;
        Ok((out, y))
    }
}

impl CustomOp2 for BackwardData {
    fn name(&self) -> &'static str {
        "auscult-conv2d-bwd-data"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let dy = f32_data(s1, l1, "conv output gradient")?;
        let w = f32_data(s2, l2, "conv weight")?;
        let xs = input_shape(l1.shape(), l2.shape(), self.pad, self.hw)?;
        let (b, g) = geometry(&xs, l2.shape(), self.pad)?;
        let mut dx = vec![0.0f32; b * g.in_len()];
        conv_backward(&[], w, dy, b, &g, Some(&mut dx), None);
        Ok((CpuStorage::F32(dx), xs))
    }

    #[cfg(feature = "cuda")]
    fn cuda_fwd(
        &self,
        s1: &candle_core::CudaStorage,
        l1: &Layout,
        s2: &candle_core::CudaStorage,
        l2: &Layout,
    ) -> Result<(candle_core::CudaStorage, Shape)> {
        let xs = input_shape(l1.shape(), l2.shape(), self.pad, self.hw)?;
        let out = cuda::run(
            cuda::Pass::Data,
            self.pad,
            &xs,
            l2.shape(),
            l1.shape(),
            (s1, l1),
            (s2, l2),
        )?;
        Ok((out, xs))
    }
}

impl CustomOp2 for BackwardFilter {
    fn name(&self) -> &'static str {
        "auscult-conv2d-bwd-filter"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let x = f32_data(s1, l1, "conv input")?;
        let dy = f32_data(s2, l2, "conv output gradient")?;
        let ws = self.weight_shape(l1.shape(), l2.shape())?;
        let (b, g) = geometry(l1.shape(), &ws, self.pad)?;
        let mut dw = vec![0.0f32; g.o * g.ckk()];
        conv_backward(x, &[], dy, b, &g, None, Some(&mut dw));
        Ok((CpuStorage::F32(dw), ws))
    }

    #[cfg(feature = "cuda")]
    fn cuda_fwd(
        &self,
        s1: &candle_core::CudaStorage,
        l1: &Layout,
        s2: &candle_core::CudaStorage,
        l2: &Layout,
    ) -> Result<(candle_core::CudaStorage, Shape)> {
        let ws = self.weight_shape(l1.shape(), l2.shape())?;
        let out = cuda::run(
            cuda::Pass::Filter,
            self.pad,
            l1.shape(),
            &ws,
            l2.shape(),
            (s1, l1),
            (s2, l2),
        )?;
        Ok((out, ws))
    }
}

impl BackwardFilter {
    /// The weight's shape, checked against `x` and `dy`.
    fn weight_shape(&self, x: &Shape, dy: &Shape) -> Result<Shape> {
        let (b, c, h, w) = x.dims4()?;
        let (db, o, oh, ow) = dy.dims4()?;
        let (kh, kw) = self.k;
        if db != b || h + 2 * self.pad + 1 != oh + kh || w + 2 * self.pad + 1 != ow + kw {
            bail!("conv2d backward-filter: input {x:?} and gradient {dy:?} do not match a {kh}×{kw} kernel (padding {})", self.pad);
        }
        Ok(Shape::from((o, c, kh, kw)))
    }
}

/// Forward: `x` `[B, C, H, W]`, `w` `[O, C, K, K]` (contiguous f32) → `[B, O, OH, OW]`.
pub fn forward(x: &Tensor, w: &Tensor, pad: usize) -> Result<Tensor> {
    x.contiguous()?
        .apply_op2_no_bwd(&w.contiguous()?, &Forward { pad })
}

/// Backward given `dy`: the input gradient (when `need_x`; CNN6's first block, whose input is
/// data, skips it) and the weight gradient (when `need_w`).
pub fn backward(
    x: &Tensor,
    w: &Tensor,
    dy: &Tensor,
    pad: usize,
    need_x: bool,
    need_w: bool,
) -> Result<(Option<Tensor>, Option<Tensor>)> {
    let (_, _, h, wd) = x.dims4()?;
    let (_, _, kh, kw) = w.dims4()?;
    let dy = dy.contiguous()?;
    let dx = match need_x {
        true => Some(dy.apply_op2_no_bwd(&w.contiguous()?, &BackwardData { pad, hw: (h, wd) })?),
        false => None,
    };
    let dw = match need_w {
        true => Some(
            x.contiguous()?
                .apply_op2_no_bwd(&dy, &BackwardFilter { pad, k: (kh, kw) })?,
        ),
        false => None,
    };
    Ok((dx, dw))
}

/// The cuDNN calls. Descriptors are made per call (host-side, cheap); the algorithm chosen by
/// cuDNN's heuristics is cached per shape and math mode, the workspace is left uninitialised.
#[cfg(feature = "cuda")]
mod cuda {
    use candle_core::{CudaStorage, Layout, Result, Shape};

    /// Which of the three passes.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub(super) enum Pass {
        Forward,
        Data,
        Filter,
    }

    /// Runs one pass. `x`, `w`, `y` are the convolution's input, weight and output shapes; the
    /// two operands are, by pass: Forward `(x, w)`, Data `(dy, w)`, Filter `(x, dy)`.
    #[cfg(not(feature = "cudnn"))]
    pub(super) fn run(
        _pass: Pass,
        _pad: usize,
        _x: &Shape,
        _w: &Shape,
        _y: &Shape,
        _a: (&CudaStorage, &Layout),
        _b: (&CudaStorage, &Layout),
    ) -> Result<CudaStorage> {
        candle_core::bail!("the cudnn convolution kernels need a build with `--features cudnn` (scripts/build-cuda.sh --cudnn); `--kernels generic` runs without cuDNN")
    }

    #[cfg(feature = "cudnn")]
    pub(super) fn run(
        pass: Pass,
        pad: usize,
        x: &Shape,
        w: &Shape,
        y: &Shape,
        a: (&CudaStorage, &Layout),
        b: (&CudaStorage, &Layout),
    ) -> Result<CudaStorage> {
        imp::run(pass, pad, x, w, y, a, b)
    }

    #[cfg(feature = "cudnn")]
    mod imp {
        use super::Pass;
        use candle_core::cuda::cudarc::cudnn::safe::{
            ConvBackwardData, ConvBackwardFilter, ConvForward, Cudnn,
        };
        use candle_core::cuda::cudarc::cudnn::sys;
        use candle_core::cuda::cudarc::driver::{CudaSlice, CudaView};
        use candle_core::{bail, CudaStorage, Layout, Result, Shape};
        use std::cell::RefCell;
        use std::collections::HashMap;
        use std::sync::Arc;

        /// One problem: `(x, w, padding, tf32)`.
        type AlgoKey = (Vec<usize>, Vec<usize>, usize, bool);

        thread_local! {
            // cuDNN handles are neither Send nor Sync: one per thread and device, as candle's own.
            static HANDLES: RefCell<HashMap<candle_core::cuda::DeviceId, Arc<Cudnn>>> =
                RefCell::new(HashMap::new());
            // The algorithm cuDNN's heuristics picked, per pass and problem.
            static FWD: RefCell<HashMap<AlgoKey, sys::cudnnConvolutionFwdAlgo_t>> =
                RefCell::new(HashMap::new());
            static DATA: RefCell<HashMap<AlgoKey, sys::cudnnConvolutionBwdDataAlgo_t>> =
                RefCell::new(HashMap::new());
            static FILTER: RefCell<HashMap<AlgoKey, sys::cudnnConvolutionBwdFilterAlgo_t>> =
                RefCell::new(HashMap::new());
        }

        /// The cached algorithm of `key` in `cache`, or `pick()`'s, then cached.
        fn algo<A: Copy>(
            cache: &'static std::thread::LocalKey<RefCell<HashMap<AlgoKey, A>>>,
            key: AlgoKey,
            pick: impl FnOnce() -> Result<A>,
        ) -> Result<A> {
            if let Some(a) = cache.with(|m| m.borrow().get(&key).copied()) {
                return Ok(a);
            }
            let a = pick()?;
            cache.with(|m| m.borrow_mut().insert(key, a));
            Ok(a)
        }

        fn wrap<E: std::fmt::Debug>(what: &'static str) -> impl Fn(E) -> candle_core::Error {
            move |e| candle_core::Error::Msg(format!("cuDNN {what}: {e:?}"))
        }

        fn dims4(s: &Shape) -> Result<[i32; 4]> {
            let (a, b, c, d) = s.dims4()?;
            let mut out = [0i32; 4];
            for (o, v) in out.iter_mut().zip([a, b, c, d]) {
                *o = i32::try_from(v).map_err(|_| {
                    candle_core::Error::Msg(format!("cuDNN: dimension {v} of {s:?} past i32"))
                })?;
            }
            if s.elem_count() > i32::MAX as usize {
                bail!(
                    "cuDNN: tensor {s:?} has {} elements, past cuDNN's 2^31 − 1 limit",
                    s.elem_count()
                );
            }
            Ok(out)
        }

        /// The contiguous f32 view of one operand.
        fn view<'a>((s, l): (&'a CudaStorage, &Layout), what: &str) -> Result<CudaView<'a, f32>> {
            let slice: &CudaSlice<f32> = s.as_cuda_slice::<f32>()?;
            match l.contiguous_offsets() {
                Some((start, end)) => Ok(slice.slice(start..end)),
                None => bail!("cuDNN conv: {what} must be contiguous"),
            }
        }

        pub(super) fn run(
            pass: Pass,
            pad: usize,
            x: &Shape,
            w: &Shape,
            y: &Shape,
            a: (&CudaStorage, &Layout),
            b: (&CudaStorage, &Layout),
        ) -> Result<CudaStorage> {
            let dev = a.0.device.clone();
            let stream = dev.cuda_stream();
            let handle = HANDLES.with(|h| -> Result<Arc<Cudnn>> {
                if let Some(c) = h.borrow().get(&dev.id()) {
                    return Ok(c.clone());
                }
                let c = Cudnn::new(stream.clone()).map_err(wrap("handle"))?;
                h.borrow_mut().insert(dev.id(), c.clone());
                Ok(c)
            })?;
            let tf32 = candle_core::cuda::gemm_reduced_precision_f32();
            let p = i32::try_from(pad).map_err(wrap("padding"))?;
            let mut conv = handle
                .create_conv2d::<f32>(
                    [p, p],
                    [1, 1],
                    [1, 1],
                    sys::cudnnConvolutionMode_t::CUDNN_CROSS_CORRELATION,
                )
                .map_err(wrap("convolution descriptor"))?;
            // PyTorch's `allow_tf32` switch: FMA math keeps f32 throughout, tensor-op math lets
            // cuDNN use TF32 tensor cores.
            conv.set_math_type(match tf32 {
                true => sys::cudnnMathType_t::CUDNN_TENSOR_OP_MATH,
                false => sys::cudnnMathType_t::CUDNN_FMA_MATH,
            })
            .map_err(wrap("math type"))?;
            let nchw = sys::cudnnTensorFormat_t::CUDNN_TENSOR_NCHW;
            let xd = handle
                .create_4d_tensor::<f32>(nchw, dims4(x)?)
                .map_err(wrap("input descriptor"))?;
            let wd = handle
                .create_4d_filter::<f32>(nchw, dims4(w)?)
                .map_err(wrap("filter descriptor"))?;
            let yd = handle
                .create_4d_tensor::<f32>(nchw, dims4(y)?)
                .map_err(wrap("output descriptor"))?;
            let key: AlgoKey = (x.dims().to_vec(), w.dims().to_vec(), pad, tf32);
            let out_len = match pass {
                Pass::Forward => y.elem_count(),
                Pass::Data => x.elem_count(),
                Pass::Filter => w.elem_count(),
            };
            // SAFETY: every element of `out` is written by the cuDNN call below (beta = 0).
            let mut out = unsafe { stream.alloc::<f32>(out_len) }.map_err(wrap("alloc"))?;
            let (va, vb) = (view(a, "first operand")?, view(b, "second operand")?);
            match pass {
                Pass::Forward => {
                    let op = ConvForward {
                        conv: &conv,
                        x: &xd,
                        w: &wd,
                        y: &yd,
                    };
                    let algo = algo(&FWD, key, || {
                        op.pick_algorithm().map_err(wrap("forward algorithm"))
                    })?;
                    let ws_len = op.get_workspace_size(algo).map_err(wrap("workspace"))?;
                    // SAFETY: scratch memory for cuDNN, no initial contents needed.
                    let mut ws =
                        unsafe { stream.alloc::<u8>(ws_len.max(1)) }.map_err(wrap("alloc"))?;
                    // SAFETY: descriptors describe exactly these contiguous f32 buffers.
                    unsafe { op.launch(algo, Some(&mut ws), (1.0f32, 0.0f32), &va, &vb, &mut out) }
                        .map_err(wrap("forward"))?;
                }
                Pass::Data => {
                    let op = ConvBackwardData {
                        conv: &conv,
                        dx: &xd,
                        w: &wd,
                        dy: &yd,
                    };
                    let algo = algo(&DATA, key, || {
                        op.pick_algorithm().map_err(wrap("backward-data algorithm"))
                    })?;
                    let ws_len = op.get_workspace_size(algo).map_err(wrap("workspace"))?;
                    // SAFETY: as above.
                    let mut ws =
                        unsafe { stream.alloc::<u8>(ws_len.max(1)) }.map_err(wrap("alloc"))?;
                    // SAFETY: operands are (dy, w); descriptors match them.
                    unsafe { op.launch(algo, Some(&mut ws), (1.0f32, 0.0f32), &mut out, &vb, &va) }
                        .map_err(wrap("backward-data"))?;
                }
                Pass::Filter => {
                    let op = ConvBackwardFilter {
                        conv: &conv,
                        x: &xd,
                        dw: &wd,
                        dy: &yd,
                    };
                    let algo = algo(&FILTER, key, || {
                        op.pick_algorithm()
                            .map_err(wrap("backward-filter algorithm"))
                    })?;
                    let ws_len = op.get_workspace_size(algo).map_err(wrap("workspace"))?;
                    // SAFETY: as above.
                    let mut ws =
                        unsafe { stream.alloc::<u8>(ws_len.max(1)) }.map_err(wrap("alloc"))?;
                    // SAFETY: operands are (x, dy); descriptors match them.
                    unsafe { op.launch(algo, Some(&mut ws), (1.0f32, 0.0f32), &va, &mut out, &vb) }
                        .map_err(wrap("backward-filter"))?;
                }
            }
            Ok(CudaStorage::wrap_cuda_slice(out, dev))
        }
    }
}
