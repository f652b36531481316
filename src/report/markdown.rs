//! `report.md`: the tables with links to each run's plots.

use super::*;

/// A path as a Markdown link target relative to `base` (the report's folder): `/`-separated,
/// in `<…>` when it holds spaces or parentheses. Both paths are made absolute first; a target
/// on another root (another drive) stays absolute.
pub fn relative_link(target: &Path, base: &Path) -> String {
    let abs = |p: &Path| {
        std::fs::canonicalize(p).unwrap_or_else(|_| {
            std::env::current_dir()
                .map(|d| d.join(p))
                .unwrap_or_else(|_| p.to_path_buf())
        })
    };
    let (t, b) = (abs(target), abs(base));
    let tc: Vec<_> = t.components().collect();
    let bc: Vec<_> = b.components().collect();
    let common = tc.iter().zip(&bc).take_while(|(x, y)| x == y).count();
    let link = if common == 0 {
        t.display().to_string()
    } else {
        let mut parts: Vec<String> = vec!["..".to_string(); bc.len() - common];
        parts.extend(
            tc[common..]
                .iter()
                .map(|c| c.as_os_str().to_string_lossy().into_owned()),
        );
        if parts.is_empty() {
            ".".into()
        } else {
            parts.join("/")
        }
    };
    if link.contains([' ', '(', ')', '<', '>']) {
        format!("<{link}>")
    } else {
        link
    }
}

/// The Markdown report written by `auscult report`: the table of [`render`] (Markdown), then
/// per run its plots, embedded with links relative to `out`'s folder. Plots missing from a run
/// dir are drawn from it first ([`plots::ensure_plots`](crate::report::plots::ensure_plots)); a run whose
/// plots cannot be drawn gets a line saying why instead of images. Writes `out` atomically and
/// returns its text.
pub fn write_markdown_report(
    rows: &[RunRow],
    paper: &PaperResults,
    selection: Selection,
    out: &Path,
) -> anyhow::Result<String> {
    use anyhow::Context;
    let base = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&base).with_context(|| format!("creating {}", base.display()))?;
    let mut md = String::from("# auscult report\n\n");
    md.push_str(&render_markdown(rows, paper, selection));
    // The clinical evaluation's table, as `auscult report` prints it after the paper's.
    let dirs: Vec<PathBuf> = rows.iter().map(|r| r.dir.clone()).collect();
    match super::clinical::render_evaluations(&dirs, selection) {
        Ok(t) if !t.is_empty() => md.push_str(&format!("\n{t}")),
        Ok(_) => {}
        Err(e) => tracing::warn!("no clinical table in the report: {e:#}"),
    }
    md.push_str("\n## Plots\n\n");
    for r in rows {
        md.push_str(&format!(
            "### {} (`{}`)\n\n",
            r.name,
            relative_link(&r.dir, &base)
        ));
        match crate::report::plots::ensure_plots(&r.dir) {
            Ok(files) => {
                let (own, seeds) = files.split_at(files.len().min(2));
                // A contrastive run's embedding plot (drawn at training time) and the clinical
                // evaluation's figures follow its own, when the run has them.
                use crate::report::plots::{
                    EMBEDDING_PNG, PLOTS_DIR, RELIABILITY_PNG, SUBGROUPS_PNG,
                };
                let extra: Vec<PathBuf> = [EMBEDDING_PNG, SUBGROUPS_PNG, RELIABILITY_PNG]
                    .iter()
                    .map(|f| r.dir.join(PLOTS_DIR).join(f))
                    .filter(|f| f.is_file())
                    .collect();
                for f in own.iter().chain(&extra) {
                    let alt = f.file_stem().unwrap_or_default().to_string_lossy();
                    md.push_str(&format!("![{alt}]({})\n\n", relative_link(f, &base)));
                }
                if !seeds.is_empty() {
                    md.push_str("Seeds:");
                    for f in seeds {
                        let seed = f
                            .parent()
                            .and_then(Path::parent)
                            .and_then(Path::file_name)
                            .unwrap_or_default()
                            .to_string_lossy();
                        let what = f.file_stem().unwrap_or_default().to_string_lossy();
                        md.push_str(&format!(" [{seed} {what}]({})", relative_link(f, &base)));
                    }
                    md.push_str("\n\n");
                }
            }
            Err(e) => {
                tracing::warn!("no plots for {}: {e:#}", r.dir.display());
                md.push_str(&format!("_No plots: {e:#}_\n\n"));
            }
        }
    }
    auscult_cache::write_atomic(out, md.as_bytes())
        .with_context(|| format!("writing {}", out.display()))?;
    Ok(md)
}
