//! `auscult sweep --plan`: the runs left and the hours they take, projected from measured
//! samples/s.

use std::path::PathBuf;

use super::{measured_throughput, SweepIndex, Task, TaskState};

/// Runs left, and hours projected from measured samples/s.
pub fn print_plan(index: &SweepIndex, throughput: &[PathBuf]) -> anyhow::Result<()> {
    let manifest = auscult_cache::CacheReader::open_manifest_only(&index.data)?
        .manifest()
        .clone();
    let rows_of = |split: &str| {
        manifest
            .splits
            .iter()
            .find(|s| s.name == split)
            .map_or(0, |s| s.rows)
    };
    let measured: Vec<(String, std::collections::BTreeMap<String, f64>)> = throughput
        .iter()
        .map(|d| Ok((d.display().to_string(), measured_throughput(d)?)))
        .collect::<anyhow::Result<_>>()?;
    let mut names: Vec<&str> = index.tasks.iter().map(|t| t.name.as_str()).collect();
    names.dedup();
    let mut out = String::from("| config | method | runs left | epochs | train rows |");
    for (d, _) in &measured {
        out.push_str(&format!(" h/run ({d}) | h left ({d}) |"));
    }
    out.push_str("\n|:--|:--|--:|--:|--:|");
    out.push_str(&"--:|--:|".repeat(measured.len()));
    out.push('\n');
    let mut totals = vec![0.0f64; measured.len()];
    let mut missing = std::collections::BTreeSet::new();
    let mut runs_left = 0;
    for name in names {
        let tasks: Vec<&Task> = index.tasks.iter().filter(|t| t.name == name).collect();
        let left = tasks
            .iter()
            .filter(|t| t.state() != TaskState::Finished)
            .count();
        runs_left += left;
        let exp = index.experiment(&tasks[0].config)?;
        let method = exp.method()?.name().to_string();
        let train = (rows_of(&exp.data.train_split) as f64 * (1.0 - exp.data.val_fraction)).round();
        let le_epochs = exp.contrastive().map(|_| exp.linear_eval().epochs);
        let epochs = match le_epochs {
            Some(le) => format!("{} + {le}", exp.epochs),
            None => exp.epochs.to_string(),
        };
        out.push_str(&format!(
            "| {name} | {method} | {left} | {epochs} | {train} |"
        ));
        for (i, (_, m)) in measured.iter().enumerate() {
            let stage = |k: &str, epochs: usize| -> Option<f64> {
                m.get(k).map(|sps| epochs as f64 * train / sps / 3600.0)
            };
            let main = stage(&method, exp.epochs);
            let le = match le_epochs {
                Some(e) => stage("linear_eval", e).or(Some(0.0)),
                None => Some(0.0),
            };
            match main.zip(le) {
                Some((a, b)) => {
                    let h = a + b;
                    totals[i] += h * left as f64;
                    out.push_str(&format!(" {h:.2} | {:.1} |", h * left as f64));
                }
                None => {
                    missing.insert(method.clone());
                    out.push_str(" – | – |");
                }
            }
        }
        out.push('\n');
    }
    println!(
        "{} runs ({} configs × {} seeds), {runs_left} left, on {} ({})\n",
        index.tasks.len(),
        index.tasks.len() / index.seeds.max(1),
        index.seeds,
        index.data.display(),
        manifest.dataset
    );
    print!("{out}");
    for (i, (d, _)) in measured.iter().enumerate() {
        println!(
            "\nTotal left on the device of {d}: {:.1} h of training",
            totals[i]
        );
    }
    if measured.is_empty() {
        println!(
            "\nNo throughput given: measure it on the target device with `auscult bench train \
             --methods ce,scl,hybrid,simclr,mscl --device cuda:0 --out bench-gpu`, then add \
             `--throughput bench-gpu`."
        );
    } else {
        println!(
            "Training only (samples/s of the last measured epoch × epochs × train rows; \
             evaluation passes and start-up excluded)."
        );
    }
    if !missing.is_empty() {
        println!(
            "No measurement for: {} (add them to the bench's --methods).",
            missing.into_iter().collect::<Vec<_>>().join(", ")
        );
    }
    Ok(())
}
