//! The trainer: CNN6 over cached log-mels, losses, optimiser, metrics, the training loop.
