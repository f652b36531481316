//! The network: CNN6 with its conv kernels, the contrastive projector, AudioSet (PANNs) import.

pub mod cnn6;
pub mod conv;
pub mod panns;
pub mod projector;
