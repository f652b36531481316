//! The tables: the paper's layout beside its numbers, Markdown or CSV, and the selections.

use super::*;

/// Output format of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// A Markdown table (with a caption line).
    #[default]
    Markdown,
    /// Comma-separated values, one column per number.
    Csv,
}

/// `mean ± std` ×100 with 2 decimals; the mean alone for one seed.
pub fn pct(s: &Stat) -> String {
    if s.n > 1 {
        format!("{:.2} ± {:.2}", 100.0 * s.mean, 100.0 * s.std)
    } else {
        format!("{:.2}", 100.0 * s.mean)
    }
}

/// Sp, Se, Score, HS of a run (×100, mean ± std), "–" when it has no such selection.
pub(super) fn our_cells(r: &RunRow) -> [String; 4] {
    match &r.metrics {
        Some(m) => [pct(&m.sp), pct(&m.se), pct(&m.score), pct(&m.hs)],
        None => std::array::from_fn(|_| "–".to_string()),
    }
}

/// A Markdown table row.
pub(super) fn md_row(cells: &[String]) -> String {
    format!("| {} |\n", cells.join(" | "))
}

/// A paper number as the table shows it: `mean ± std`, a single value, or a dash.
pub fn paper_cell(v: &Option<Vec<f64>>) -> String {
    match v.as_deref() {
        Some([m, s]) => format!("{m:.2} ± {s:.2}"),
        Some([m]) => format!("{m:.2}"),
        _ => "–".into(),
    }
}

pub(super) use crate::csv::field as csv_field;

/// The paper's row a run reproduces: the one with the run's dataset and signature (none for a
/// run on a synthetic cache).
pub fn paper_of<'a>(row: &RunRow, paper: &'a PaperResults) -> Option<&'a PaperRow> {
    if row.synthetic {
        return None;
    }
    let sig = row.signature.as_ref()?;
    paper.values().find(|p| p.matches(&row.dataset, sig))
}

/// Our Score minus the paper's, ×100.
pub(super) fn delta_score(row: &RunRow, p: Option<&PaperRow>) -> Option<f64> {
    let ours = row.metrics?.score.mean * 100.0;
    let theirs = p?.score.as_ref()?.first()?;
    Some(ours - theirs)
}

/// The tables of the paper with our runs in them: per table (in the paper's order), each
/// paper row with the runs that reproduce it (or "not run"), ours beside the paper's numbers,
/// Δ Score and Δ in units of the paper's std. Runs that match no paper row are listed after.
pub fn render_paper_layout(rows: &[RunRow], paper: &PaperResults, selection: Selection) -> String {
    let mut order: Vec<(&String, &PaperRow)> = paper.iter().collect();
    order.sort_by(|a, b| {
        (&a.1.table, a.1.order.unwrap_or(u32::MAX), a.0).cmp(&(
            &b.1.table,
            b.1.order.unwrap_or(u32::MAX),
            b.0,
        ))
    });
    let mut out = format!(
        "Selection: {}. Values ×100; ours mean ± std (population) over seeds, the paper's mean ± \
         std over 10 runs (Moummad & Farrugia 2023). Δ = ours − paper; Δ/σ in units of the \
         paper's std.\n{}",
        selection.describe(),
        synthetic_note(rows)
    );
    let mut table = "";
    for (_, p) in &order {
        if p.table != table {
            table = &p.table;
            out.push_str(&format!(
                "\n### {table}\n\n| Paper row | Run | Protocol | Seeds | Sp | Se | Score | HS | \
                 Paper Sp | Paper Se | Paper Score | Paper HS | Δ Score | Δ/σ |\n\
                 |:--|:--|:--|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n"
            ));
        }
        let theirs = [&p.sp, &p.se, &p.score, &p.hs].map(paper_cell);
        let mine: Vec<&RunRow> = rows
            .iter()
            .filter(|r| {
                !r.synthetic
                    && r.signature
                        .as_ref()
                        .is_some_and(|s| p.matches(&r.dataset, s))
            })
            .collect();
        if mine.is_empty() {
            out.push_str(&format!(
                "| {} | not run | | | | | | | {} | {} | {} | {} | | |\n",
                p.row, theirs[0], theirs[1], theirs[2], theirs[3]
            ));
        }
        for r in mine {
            let delta = delta_score(r, Some(p));
            let sigma = delta
                .zip(
                    p.score
                        .as_ref()
                        .and_then(|v| v.get(1))
                        .filter(|s| **s > 0.0),
                )
                .map(|(d, s)| format!("{:+.1}", d / s))
                .unwrap_or_else(|| "–".into());
            let mut cells = vec![
                p.row.clone(),
                r.name.clone(),
                r.protocol.clone(),
                r.seeds.to_string(),
            ];
            cells.extend(our_cells(r));
            cells.extend(theirs.iter().cloned());
            cells.push(delta.map_or_else(|| "–".into(), |d| format!("{d:+.2}")));
            cells.push(sigma);
            out.push_str(&md_row(&cells));
        }
    }
    let unmatched: Vec<&RunRow> = rows
        .iter()
        .filter(|r| paper_of(r, paper).is_none())
        .collect();
    if !unmatched.is_empty() {
        out.push_str("\n### Runs matching no row of the paper\n\n| Run | Method | Protocol | Seeds | Sp | Se | Score | HS |\n|:--|:--|:--|--:|--:|--:|--:|--:|\n");
        for r in unmatched {
            let mut cells = vec![
                r.name.clone(),
                r.method.clone(),
                r.protocol.clone(),
                r.seeds.to_string(),
            ];
            cells.extend(our_cells(r));
            out.push_str(&md_row(&cells));
        }
    }
    out
}

/// Each run's Score under every epoch selection, side by side: the paper's (best epoch on the
/// test split), the honest one (best epoch on held-out validation patients; runs with
/// `val_fraction` > 0 or `--protocol val`) and the last epoch. "Test-selection gain" is the
/// first minus the second: how much of a number is the choice of epoch on the test set.
pub fn render_selections(paths: &[PathBuf]) -> Result<String, ReportError> {
    let of = |s| collect_runs(paths, s);
    let (eval, val, last) = (
        of(Selection::BestEval)?,
        of(Selection::BestVal)?,
        of(Selection::Final)?,
    );
    let mut out = String::from(
        "Score ×100 (mean ± std over seeds) of the epoch chosen three ways.\n\n\
         | Run | Protocol | Seeds | best test epoch (paper) | best validation epoch | last epoch | test-selection gain |\n\
         |:--|:--|--:|--:|--:|--:|--:|\n",
    );
    for ((e, v), l) in eval.iter().zip(&val).zip(&last) {
        let score = |r: &RunRow| r.metrics.map(|m| m.score);
        let cell = |s: Option<Stat>| s.as_ref().map_or_else(|| "–".into(), pct);
        let gain = score(e).zip(score(v)).map_or_else(
            || "–".into(),
            |(a, b)| format!("{:+.2}", 100.0 * (a.mean - b.mean)),
        );
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {gain} |\n",
            e.name,
            e.protocol,
            e.seeds,
            cell(score(e)),
            cell(score(v)),
            cell(score(l))
        ));
    }
    Ok(out)
}

/// Renders the table.
pub fn render(
    rows: &[RunRow],
    paper: &PaperResults,
    format: Format,
    selection: Selection,
) -> String {
    match format {
        Format::Markdown => render_markdown(rows, paper, selection),
        Format::Csv => render_csv(rows, paper),
    }
}

pub(super) fn render_markdown(
    rows: &[RunRow],
    paper: &PaperResults,
    selection: Selection,
) -> String {
    if !rows.is_empty() && rows.iter().all(|r| r.synthetic) {
        return render_markdown_synthetic(rows, selection);
    }
    let mut out = format!(
        "Selection: {}. Values ×100; mean ± std (population) over seeds. Δ Score = ours − paper.\n{}\n",
        selection.describe(),
        synthetic_note(rows)
    );
    out.push_str("| Run | Paper row | Method | Seeds | Sp | Se | Score | HS | Paper Sp | Paper Se | Paper Score | Paper HS | Δ Score |\n");
    out.push_str("|:--|:--|:--|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n");
    for r in rows {
        let p = paper_of(r, paper);
        let theirs: [String; 4] = match p {
            Some(p) => [&p.sp, &p.se, &p.score, &p.hs].map(paper_cell),
            None => std::array::from_fn(|_| "–".to_string()),
        };
        let paper_row = p
            .map(|p| format!("{}: {}", p.table, p.row))
            .unwrap_or_else(|| "–".into());
        let delta = delta_score(r, p)
            .map(|d| format!("{d:+.2}"))
            .unwrap_or_else(|| "–".into());
        let mut cells = vec![
            r.name.clone(),
            paper_row,
            r.method.clone(),
            r.seeds.to_string(),
        ];
        cells.extend(our_cells(r));
        cells.extend(theirs);
        cells.push(delta);
        out.push_str(&md_row(&cells));
    }
    out
}

/// Runs on synthetic caches are set beside no paper row: say so under the table's header.
pub(super) fn synthetic_note(rows: &[RunRow]) -> &'static str {
    if rows.iter().any(|r| r.synthetic) {
        "Runs on a synthetic cache (generated signals, not recordings) are not compared with the \
         paper's numbers.\n"
    } else {
        ""
    }
}

/// Every run on a synthetic cache: our numbers only.
fn render_markdown_synthetic(rows: &[RunRow], selection: Selection) -> String {
    let mut out = format!(
        "Selection: {}. Values ×100; mean ± std (population) over seeds.\n{}\n",
        selection.describe(),
        synthetic_note(rows)
    );
    out.push_str("| Run | Method | Seeds | Sp | Se | Score | HS |\n");
    out.push_str("|:--|:--|--:|--:|--:|--:|--:|\n");
    for r in rows {
        let mut cells = vec![r.name.clone(), r.method.clone(), r.seeds.to_string()];
        cells.extend(our_cells(r));
        out.push_str(&md_row(&cells));
    }
    out
}

pub(super) fn render_csv(rows: &[RunRow], paper: &PaperResults) -> String {
    let mut out = String::from(
        "run,paper_row,method,dataset,eval_split,seeds,sp_mean,sp_std,se_mean,se_std,score_mean,score_std,hs_mean,hs_std,\
         paper_sp_mean,paper_sp_std,paper_se_mean,paper_se_std,paper_score_mean,paper_score_std,paper_hs_mean,paper_hs_std,delta_score\n",
    );
    let num = |v: Option<f64>| v.map(|v| format!("{v:.4}")).unwrap_or_default();
    for r in rows {
        let p = paper_of(r, paper);
        let mut cells = vec![
            csv_field(&r.name),
            csv_field(
                &p.map(|p| format!("{}: {}", p.table, p.row))
                    .unwrap_or_default(),
            ),
            csv_field(&r.method),
            csv_field(&r.dataset),
            csv_field(r.eval_split.as_deref().unwrap_or_default()),
            r.seeds.to_string(),
        ];
        for f in [
            |m: &RowMetrics| m.sp,
            |m: &RowMetrics| m.se,
            |m: &RowMetrics| m.score,
            |m: &RowMetrics| m.hs,
        ] {
            let s = r.metrics.as_ref().map(f);
            cells.push(num(s.map(|s| 100.0 * s.mean)));
            cells.push(num(s.map(|s| 100.0 * s.std)));
        }
        for f in [
            |p: &PaperRow| p.sp.clone(),
            |p: &PaperRow| p.se.clone(),
            |p: &PaperRow| p.score.clone(),
            |p: &PaperRow| p.hs.clone(),
        ] {
            let v = p.and_then(f).unwrap_or_default();
            cells.push(num(v.first().copied()));
            cells.push(num(v.get(1).copied()));
        }
        cells.push(num(delta_score(r, p)));
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out
}
