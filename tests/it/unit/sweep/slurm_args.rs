//! Unit tests of `auscult::sweep::slurm_args` (`src/sweep/slurm_args.rs`).

use auscult::sweep::slurm_args::*;

#[test]
fn sbatch_args_are_checked_by_shape_and_name() {
    for ok in [
        "--mem=16G",
        "--account=proj-123",
        "--constraint=a100|h100",
        "--exclusive",
        "--mail-type=END,FAIL",
    ] {
        check_sbatch_arg(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
    }
    let err = |a: &str| check_sbatch_arg(a).unwrap_err().to_string();
    assert!(err("mem=16G").contains("long form"));
    assert!(
        err("--memory=16G").contains("did you mean --mem"),
        "{}",
        err("--memory=16G")
    );
    assert!(err("--time=1:00:00").contains("use --time"));
    assert!(err("--output=x.log").contains("sets --output itself"));
    assert!(err("--mem").contains("needs a value"));
    assert!(err("--exclusive=yes").contains("takes no value"));
    assert!(err("--comment=two words").contains("one word"));
}

#[test]
fn slurm_times_in_every_form() {
    assert_eq!(slurm_seconds("30"), Some(1800));
    assert_eq!(slurm_seconds("1:30"), Some(90));
    assert_eq!(slurm_seconds("00:01:00"), Some(60));
    assert_eq!(slurm_seconds("12:00:00"), Some(43_200));
    assert_eq!(slurm_seconds("2-0"), Some(172_800));
    assert_eq!(slurm_seconds("1-2:3"), Some(93_780));
    assert_eq!(slurm_seconds("1-02:03:04"), Some(93_784));
    for bad in ["UNLIMITED", "NOT_SET", "", "1:2:3:4", "x", "1-2:3:4:5"] {
        assert_eq!(slurm_seconds(bad), None, "{bad}");
    }
}
