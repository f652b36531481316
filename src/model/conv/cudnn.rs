//! The convolution as one candle custom op (`ConvOp`) for each of its three passes — forward,
//! backward-data, backward-filter (`Pass`) — that calls cuDNN on CUDA (`--features cudnn`),
//! the library PyTorch itself calls: no im2col buffer on the GPU, only cuDNN's workspace. On CPU
//! the same op delegates to the fused CPU kernels ([`super::conv_forward`],
//! [`super::conv_backward`]), so the op's plumbing (shapes, which gradient is computed, block 1
//! without backward-data) is tested without a GPU.
//!
//! The op records no graph (its `bwd` is never needed): the CNN6 block op composes the passes in
//! its own backward.

use candle_core::{bail, CpuStorage, CustomOp2, Layout, Result, Shape, Tensor};

use super::{conv_backward, conv_forward, f32_data, geometry, Grads, Need};

/// Which of the three passes, with what its operands do not give.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pass {
    /// `y = conv(x, w)`: `(x [B, C, H, W], w [O, C, K, K])` → `[B, O, OH, OW]`.
    Forward,
    /// `dx`: `(dy [B, O, OH, OW], w [O, C, K, K])` → `[B, C, H, W]`; `hw` is `(H, W)` of the
    /// input (not recoverable from `dy` alone).
    Data { hw: (usize, usize) },
    /// `dw`: `(x [B, C, H, W], dy [B, O, OH, OW])` → `[O, C, K, K]`; `k` is `(KH, KW)` of the
    /// weight.
    Filter { k: (usize, usize) },
}

impl Pass {
    /// What the two operands are (for errors).
    fn operands(self) -> [&'static str; 2] {
        match self {
            Pass::Forward => ["conv input", "conv weight"],
            Pass::Data { .. } => ["conv output gradient", "conv weight"],
            Pass::Filter { .. } => ["conv input", "conv output gradient"],
        }
    }
}

/// The shapes of one convolution: input, weight, output.
struct ConvShapes {
    x: Shape,
    w: Shape,
    y: Shape,
}

impl ConvShapes {
    /// The shape `pass` computes.
    fn output(&self, pass: Pass) -> &Shape {
        match pass {
            Pass::Forward => &self.y,
            Pass::Data { .. } => &self.x,
            Pass::Filter { .. } => &self.w,
        }
    }
}

/// Whether an `h×w` input, zero-padded by `pad`, gives an `oh×ow` output under a `kh×kw` kernel.
fn fits(
    pad: usize,
    (h, w): (usize, usize),
    (oh, ow): (usize, usize),
    (kh, kw): (usize, usize),
) -> bool {
    h + 2 * pad + 1 == oh + kh && w + 2 * pad + 1 == ow + kw
}

/// One pass as a candle op on its two operands `(a, b)`: forward `(x, w)`, backward-data
/// `(dy, w)`, backward-filter `(x, dy)`.
struct ConvOp {
    pass: Pass,
    pad: usize,
}

impl ConvOp {
    /// The convolution's shapes from the operands' shapes, checked.
    fn shapes(&self, a: &Shape, b: &Shape) -> Result<ConvShapes> {
        let pad = self.pad;
        let (x, w, y) = match self.pass {
            Pass::Forward => {
                let (n, g) = geometry(a, b, pad)?;
                (a.clone(), b.clone(), Shape::from((n, g.o, g.oh, g.ow)))
            }
            Pass::Data { hw: (h, wd) } => {
                let (n, o, oh, ow) = a.dims4()?;
                let (wo, c, kh, kw) = b.dims4()?;
                if wo != o || !fits(pad, (h, wd), (oh, ow), (kh, kw)) {
                    bail!("conv2d backward-data: gradient {a:?} does not match weight {b:?} and input {h}×{wd} (padding {pad})");
                }
                (Shape::from((n, c, h, wd)), b.clone(), a.clone())
            }
            Pass::Filter { k: (kh, kw) } => {
                let (n, c, h, w) = a.dims4()?;
                let (dn, o, oh, ow) = b.dims4()?;
                if dn != n || !fits(pad, (h, w), (oh, ow), (kh, kw)) {
                    bail!("conv2d backward-filter: input {a:?} and gradient {b:?} do not match a {kh}×{kw} kernel (padding {pad})");
                }
                (a.clone(), Shape::from((o, c, kh, kw)), b.clone())
            }
        };
        Ok(ConvShapes { x, w, y })
    }
}

impl CustomOp2 for ConvOp {
    fn name(&self) -> &'static str {
        match self.pass {
            Pass::Forward => "auscult-conv2d-fwd",
            Pass::Data { .. } => "auscult-conv2d-bwd-data",
            Pass::Filter { .. } => "auscult-conv2d-bwd-filter",
        }
    }

    fn cpu_fwd(
        &self,
        a: &CpuStorage,
        la: &Layout,
        b: &CpuStorage,
        lb: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let [what_a, what_b] = self.pass.operands();
        let (a, b) = (f32_data(a, la, what_a)?, f32_data(b, lb, what_b)?);
        let s = self.shapes(la.shape(), lb.shape())?;
        let (n, g) = geometry(&s.x, &s.w, self.pad)?;
        let out_shape = s.output(self.pass).clone();
        let mut out = vec![0.0f32; out_shape.elem_count()];
        match self.pass {
            Pass::Forward => conv_forward(a, b, n, &g, &mut out),
            Pass::Data { .. } => conv_backward(&[], b, a, n, &g, Some(&mut out), None),
            Pass::Filter { .. } => conv_backward(a, &[], b, n, &g, None, Some(&mut out)),
        }
        Ok((CpuStorage::F32(out), out_shape))
    }

    #[cfg(feature = "cuda")]
    fn cuda_fwd(
        &self,
        a: &candle_core::CudaStorage,
        la: &Layout,
        b: &candle_core::CudaStorage,
        lb: &Layout,
    ) -> Result<(candle_core::CudaStorage, Shape)> {
        let s = self.shapes(la.shape(), lb.shape())?;
        let out = cuda::run(self, &s, (a, la), (b, lb))?;
        Ok((out, s.output(self.pass).clone()))
    }
}

/// `pass` on the contiguous operands `(a, b)`.
fn apply(pass: Pass, pad: usize, a: &Tensor, b: &Tensor) -> Result<Tensor> {
    a.contiguous()?
        .apply_op2_no_bwd(&b.contiguous()?, &ConvOp { pass, pad })
}

/// Forward: `x` `[B, C, H, W]`, `w` `[O, C, K, K]` (contiguous f32) → `[B, O, OH, OW]`.
pub fn forward(x: &Tensor, w: &Tensor, pad: usize) -> Result<Tensor> {
    apply(Pass::Forward, pad, x, w)
}

/// Backward given `dy`: the gradients `need` asks for ([`Need`]).
pub fn backward(x: &Tensor, w: &Tensor, dy: &Tensor, pad: usize, need: Need) -> Result<Grads> {
    let (_, _, h, wd) = x.dims4()?;
    let (_, _, kh, kw) = w.dims4()?;
    let dy = dy.contiguous()?;
    let data = Pass::Data { hw: (h, wd) };
    let dx = need.x.then(|| apply(data, pad, &dy, w)).transpose()?;
    let filter = Pass::Filter { k: (kh, kw) };
    let dw = need.w.then(|| apply(filter, pad, x, &dy)).transpose()?;
    Ok((dx, dw))
}

/// One operand of a pass on CUDA: its storage and layout.
#[cfg(feature = "cuda")]
type Operand<'a> = (&'a candle_core::CudaStorage, &'a Layout);

/// A CUDA build without cuDNN: the op says which build has it.
#[cfg(all(feature = "cuda", not(feature = "cudnn")))]
mod cuda {
    use super::{ConvOp, ConvShapes, Operand};
    use candle_core::{CudaStorage, Result};

    pub(super) fn run(_: &ConvOp, _: &ConvShapes, _: Operand, _: Operand) -> Result<CudaStorage> {
        candle_core::bail!("the cudnn convolution kernels need a build with `--features cudnn` (scripts/build-cuda.sh --cudnn); `--kernels generic` runs without cuDNN")
    }
}

/// The cuDNN calls. Descriptors are made per call (host-side, cheap); the algorithm chosen by
/// cuDNN's heuristics is cached per shape and math mode, the workspace is left uninitialised.
#[cfg(feature = "cudnn")]
mod cuda {
    use super::{ConvOp, ConvShapes, Operand, Pass};
    use candle_core::cuda::cudarc::cudnn::safe::{
        ConvBackwardData, ConvBackwardFilter, ConvForward, Cudnn, CudnnError,
    };
    use candle_core::cuda::cudarc::cudnn::sys;
    use candle_core::cuda::cudarc::driver::{CudaSlice, CudaStream, CudaView};
    use candle_core::{bail, CudaStorage, Result, Shape};
    use std::cell::RefCell;
    use std::collections::HashMap;
    use std::sync::Arc;
    use std::thread::LocalKey;

    /// One problem: `(x, w, padding, tf32)`.
    type AlgoKey = (Vec<usize>, Vec<usize>, usize, bool);

    /// The algorithms picked for one pass, per problem.
    type AlgoCache<A> = LocalKey<RefCell<HashMap<AlgoKey, A>>>;

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
        cache: &'static AlgoCache<A>,
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

    /// One pass's cuDNN calls, the same for all three: the algorithm (cached, or `pick`ed), a
    /// workspace of the size `workspace` asks for it, then `launch` with both. `what` names the
    /// pass in errors.
    fn call<A: Copy>(
        stream: &Arc<CudaStream>,
        what: &'static str,
        cache: &'static AlgoCache<A>,
        key: AlgoKey,
        pick: impl FnOnce() -> std::result::Result<A, CudnnError>,
        workspace: impl FnOnce(A) -> std::result::Result<usize, CudnnError>,
        launch: impl FnOnce(A, &mut CudaSlice<u8>) -> std::result::Result<(), CudnnError>,
    ) -> Result<()> {
        let algo = algo(cache, key, || {
            pick().map_err(|e| candle_core::Error::Msg(format!("cuDNN {what} algorithm: {e:?}")))
        })?;
        let ws_len = workspace(algo).map_err(wrap("workspace"))?;
        // SAFETY: scratch memory for cuDNN, no initial contents needed.
        let mut ws = unsafe { stream.alloc::<u8>(ws_len.max(1)) }.map_err(wrap("alloc"))?;
        launch(algo, &mut ws).map_err(wrap(what))
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
    fn view<'a>((s, l): Operand<'a>, what: &str) -> Result<CudaView<'a, f32>> {
        let slice: &CudaSlice<f32> = s.as_cuda_slice::<f32>()?;
        match l.contiguous_offsets() {
            Some((start, end)) => Ok(slice.slice(start..end)),
            None => bail!("cuDNN conv: {what} must be contiguous"),
        }
    }

    /// Runs `op`'s pass on the operands `(a, b)` of a convolution of shapes `s`.
    pub(super) fn run(op: &ConvOp, s: &ConvShapes, a: Operand, b: Operand) -> Result<CudaStorage> {
        let (x, w, y) = (&s.x, &s.w, &s.y);
        let pad = op.pad;
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
        let out_len = s.output(op.pass).elem_count();
        // SAFETY: every element of `out` is written by the cuDNN call below (beta = 0).
        let mut out = unsafe { stream.alloc::<f32>(out_len) }.map_err(wrap("alloc"))?;
        let (va, vb) = (view(a, "first operand")?, view(b, "second operand")?);
        let scale = (1.0f32, 0.0f32);
        // SAFETY (each launch): the descriptors describe exactly these contiguous f32 buffers,
        // the operands being, by pass, (x, w), (dy, w) and (x, dy).
        match op.pass {
            Pass::Forward => {
                let op = ConvForward {
                    conv: &conv,
                    x: &xd,
                    w: &wd,
                    y: &yd,
                };
                call(
                    &stream,
                    "forward",
                    &FWD,
                    key,
                    || op.pick_algorithm(),
                    |algo| op.get_workspace_size(algo),
                    |algo, ws| unsafe { op.launch(algo, Some(ws), scale, &va, &vb, &mut out) },
                )?
            }
            Pass::Data { .. } => {
                let op = ConvBackwardData {
                    conv: &conv,
                    dx: &xd,
                    w: &wd,
                    dy: &yd,
                };
                call(
                    &stream,
                    "backward-data",
                    &DATA,
                    key,
                    || op.pick_algorithm(),
                    |algo| op.get_workspace_size(algo),
                    |algo, ws| unsafe { op.launch(algo, Some(ws), scale, &mut out, &vb, &va) },
                )?
            }
            Pass::Filter { .. } => {
                let op = ConvBackwardFilter {
                    conv: &conv,
                    x: &xd,
                    dw: &wd,
                    dy: &yd,
                };
                call(
                    &stream,
                    "backward-filter",
                    &FILTER,
                    key,
                    || op.pick_algorithm(),
                    |algo| op.get_workspace_size(algo),
                    |algo, ws| unsafe { op.launch(algo, Some(ws), scale, &va, &mut out, &vb) },
                )?
            }
        }
        Ok(CudaStorage::wrap_cuda_slice(out, dev))
    }
}
