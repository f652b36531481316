//! Unit tests of `src/icbhi_plan.rs`.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use auscult_synth::icbhi_plan::*;
use auscult_synth::signals::SoundClass;

fn plan(seed: u64, recordings: usize, max_cycles: usize) -> Plan {
    draw_plan(&mut ChaCha8Rng::seed_from_u64(seed), recordings, max_cycles)
}

#[test]
fn names_are_unique_and_well_formed() {
    for seed in 0..20 {
        let p = plan(seed, 40, 8);
        let mut names: Vec<&str> = p.recordings.iter().map(|r| r.name.as_str()).collect();
        names.dedup();
        assert_eq!(names.len(), 40, "seed {seed}");
        for r in &p.recordings {
            let f: Vec<&str> = r.name.split('_').collect();
            assert_eq!(f.len(), 5, "{}", r.name);
            assert_eq!(f[0], p.patients[r.patient].id.to_string());
            let b = f[1].as_bytes();
            assert!(b.len() == 3 && b[0].is_ascii_digit() && b[2].is_ascii_digit());
            assert!(b[1] == b'b' || b[1] == b'p', "{}", r.name);
            assert!(LOCATIONS.contains(&f[2]), "{}", r.name);
            assert!(f[3] == "sc" || f[3] == "mc", "{}", r.name);
            assert_eq!(f[4], r.device.device);
        }
    }
}

#[test]
fn timelines_are_ordered_and_positive() {
    let p = plan(3, 30, 8);
    for r in &p.recordings {
        assert!(r.cycles[0].onset_ms > 0);
        for w in r.cycles.windows(2) {
            assert!(w[0].offset_ms <= w[1].onset_ms);
        }
        for c in &r.cycles {
            assert!(c.onset_ms < c.offset_ms);
        }
        assert!(r.duration_ms > r.cycles.last().unwrap().offset_ms);
    }
}

#[test]
fn class_cover_takes_from_the_most_frequent_class() {
    let mut raw = [SoundClass::Normal; 5];
    let mut refs: Vec<&mut SoundClass> = raw.iter_mut().collect();
    cover_all_classes(&mut refs);
    let mut sorted = raw.to_vec();
    sorted.sort();
    assert_eq!(
        sorted,
        [
            SoundClass::Normal,
            SoundClass::Normal,
            SoundClass::Crackle,
            SoundClass::Wheeze,
            SoundClass::Both
        ]
    );
}

#[test]
fn tiny_plans_work() {
    let p = plan(0, 1, 1);
    assert_eq!(p.recordings.len(), 1);
    assert_eq!(p.patients.len(), 1);
    assert_eq!(p.recordings[0].cycles.len(), 1);
    assert!(p.patients[0].train);
}
