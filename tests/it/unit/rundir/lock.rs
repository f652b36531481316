//! Unit tests of `auscult::rundir::lock` (`src/rundir/lock.rs`).

use auscult::rundir::lock::*;

#[test]
fn a_second_lock_names_the_holder_and_a_released_lock_can_be_taken_again() {
    let dir = tempfile::tempdir().unwrap();
    let first = RunLock::acquire(dir.path()).unwrap();
    // flock locks belong to the open file, so a second open in this process conflicts
    // just as another process would.
    let err = RunLock::acquire(dir.path()).unwrap_err();
    match &err {
        LockError::Held { holder, .. } => {
            assert_eq!(holder.pid, std::process::id());
            assert_eq!(holder.host, hostname());
        }
        other => panic!("{other}"),
    }
    let msg = err.to_string();
    assert!(msg.contains("another auscult process"), "{msg}");
    assert!(msg.contains(LOCK_FILE), "{msg}");
    assert_eq!(holder(dir.path()).map(|h| h.pid), Some(std::process::id()));
    drop(first);
    assert!(!dir.path().join(LOCK_FILE).exists());
    assert!(holder(dir.path()).is_none());
    let again = RunLock::acquire(dir.path()).unwrap();
    assert!(again.path().exists());
}

#[test]
fn a_record_left_by_a_dead_process_is_taken_over() {
    let dir = tempfile::tempdir().unwrap();
    // A process that has exited: its pid is gone (reaped).
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    let stale = Holder {
        pid: dead,
        ..Holder::me()
    };
    std::fs::write(
        dir.path().join(LOCK_FILE),
        serde_json::to_vec(&stale).unwrap(),
    )
    .unwrap();
    assert!(stale.is_stale());
    assert!(holder(dir.path()).is_none());
    let lock = RunLock::acquire(dir.path()).unwrap();
    let now: Holder = serde_json::from_slice(&std::fs::read(lock.path()).unwrap()).unwrap();
    assert_eq!(now.pid, std::process::id());
}

#[test]
fn without_flock_a_live_holder_elsewhere_is_not_stale() {
    let other_host = Holder {
        host: format!("{}-elsewhere", hostname()),
        pid: 1,
        ..Holder::me()
    };
    assert!(!other_host.is_stale());
    let live_here = Holder {
        pid: 1, // init: always there
        ..Holder::me()
    };
    assert!(!live_here.is_stale());
    assert!(pid_alive(std::process::id()));
}
