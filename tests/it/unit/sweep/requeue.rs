//! Unit tests of `auscult::sweep::requeue` (`src/sweep/requeue.rs`).

use auscult::sweep::requeue::*;
use std::time::Duration;

#[test]
fn the_margin_is_a_tenth_within_bounds() {
    assert_eq!(margin_for(Duration::from_secs(60)), Duration::from_secs(6));
    assert_eq!(margin_for(Duration::from_secs(20)), Duration::from_secs(5));
    assert_eq!(
        margin_for(Duration::from_secs(12 * 3600)),
        Duration::from_secs(120)
    );
}
