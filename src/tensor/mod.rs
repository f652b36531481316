//! Tensor utilities below every other module: counted device → host reads and deterministic
//! synthetic tensors.

pub mod file;
pub mod readback;
pub mod synthetic;
