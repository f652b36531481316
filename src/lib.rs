//! auscult: respiratory-sound representation learning. The binary's CLI sits on top of this
//! library; the trainer lives in [`train`].

pub mod sweep;
pub mod train;
