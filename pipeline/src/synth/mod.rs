//! Synthetic databases in official layouts.
