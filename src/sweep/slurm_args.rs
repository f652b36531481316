//! What `auscult sweep --slurm` accepts of sbatch's own language: extra options (`--sbatch-arg`,
//! checked against an allowlist so a typo fails here, not in the queue) and time limits.

use anyhow::{bail, Result};

/// sbatch options `--sbatch-arg` may pass, by name. Those the sweep writes itself (array,
/// output, job name, signal, requeue) are not among them.
const ALLOWED: &[&str] = &[
    "account",
    "begin",
    "clusters",
    "comment",
    "constraint",
    "cpus-per-gpu",
    "deadline",
    "dependency",
    "exclude",
    "exclusive",
    "export",
    "gpu-bind",
    "gpus",
    "gpus-per-node",
    "gpus-per-task",
    "hint",
    "licenses",
    "mail-type",
    "mail-user",
    "mem",
    "mem-bind",
    "mem-per-cpu",
    "mem-per-gpu",
    "nice",
    "nodelist",
    "nodes",
    "ntasks",
    "ntasks-per-node",
    "overcommit",
    "prefer",
    "priority",
    "qos",
    "reservation",
    "spread-job",
    "switches",
    "tmp",
    "wckey",
];

/// Options the sweep writes itself, with the flag to use instead (None: not settable).
const MANAGED: &[(&str, Option<&str>)] = &[
    ("array", Some("--array-parallelism")),
    ("cpus-per-task", Some("--cpus-per-task")),
    ("error", None),
    ("gres", Some("--gres")),
    ("job-name", None),
    ("no-requeue", None),
    ("open-mode", None),
    ("output", None),
    ("partition", Some("--partition")),
    ("requeue", Some("--requeue")),
    ("signal", None),
    ("time", Some("--time")),
    ("wrap", None),
];

/// Options that take no value.
const FLAGS: &[&str] = &["exclusive", "overcommit", "spread-job"];

/// Checks one `--sbatch-arg`: `--name=value` (or `--name` for a flag) with a name sbatch knows
/// and the sweep does not set itself, and a value that fits on an `#SBATCH` line.
pub fn check_sbatch_arg(arg: &str) -> Result<()> {
    let Some(body) = arg.strip_prefix("--") else {
        bail!(
            "--sbatch-arg {arg:?}: give sbatch's long form, `--name=value` (e.g. \
             --sbatch-arg=--mem=16G)"
        );
    };
    let (name, value) = match body.split_once('=') {
        Some((n, v)) => (n, Some(v)),
        None => (body, None),
    };
    if let Some((_, instead)) = MANAGED.iter().find(|(m, _)| *m == name) {
        match instead {
            Some(flag) => bail!("--sbatch-arg {arg:?}: the sweep sets --{name} itself; use {flag}"),
            None => bail!("--sbatch-arg {arg:?}: the sweep sets --{name} itself"),
        }
    }
    if !ALLOWED.contains(&name) {
        let close = ALLOWED
            .iter()
            .filter(|a| a.starts_with(&name[..name.len().min(3)]))
            .map(|a| format!("--{a}"))
            .collect::<Vec<_>>();
        bail!(
            "--sbatch-arg {arg:?}: `--{name}` is not an sbatch option auscult passes on{}",
            if close.is_empty() {
                String::new()
            } else {
                format!(" (did you mean {}?)", close.join(", "))
            }
        );
    }
    match value {
        None if !FLAGS.contains(&name) => {
            bail!("--sbatch-arg {arg:?}: --{name} needs a value (`--{name}=…`)")
        }
        Some(_) if FLAGS.contains(&name) => {
            bail!("--sbatch-arg {arg:?}: --{name} takes no value")
        }
        Some(v) if v.is_empty() || v.chars().any(|c| c.is_whitespace() || c.is_control()) => {
            bail!("--sbatch-arg {arg:?}: the value must be one word, without spaces")
        }
        _ => Ok(()),
    }
}

/// Seconds of a Slurm time: `M`, `M:S`, `H:M:S`, `D-H`, `D-H:M` or `D-H:M:S` (sbatch --time,
/// squeue's time left). None for `UNLIMITED`, `INVALID`, `NOT_SET` or anything malformed.
pub fn slurm_seconds(s: &str) -> Option<u64> {
    let s = s.trim();
    let (days, rest) = match s.split_once('-') {
        Some((d, r)) => (d.parse::<u64>().ok()?, r),
        None => (0, s),
    };
    let parts: Vec<u64> = rest
        .split(':')
        .map(|p| p.parse::<u64>().ok())
        .collect::<Option<_>>()?;
    let (h, m, sec) = match (s.contains('-'), parts.as_slice()) {
        (false, [m]) => (0, *m, 0),
        (false, [m, sec]) => (0, *m, *sec),
        (false, [h, m, sec]) => (*h, *m, *sec),
        (true, [h]) => (*h, 0, 0),
        (true, [h, m]) => (*h, *m, 0),
        (true, [h, m, sec]) => (*h, *m, *sec),
        _ => return None,
    };
    Some(((days * 24 + h) * 60 + m) * 60 + sec)
}
