//! The paper's reference numbers (`configs/paper_results.toml`) and how a run matches a row.

use super::*;

/// The paper's numbers for one row, ×100 as printed: `[mean, std]` (std may be absent).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaperRow {
    /// e.g. `Table 1`.
    pub table: String,
    /// The row's place in the paper (rows without one come last, by key).
    #[serde(default)]
    pub order: Option<u32>,
    /// The row as the paper names it, e.g. `SCL (AudioSet)`.
    pub row: String,
    /// What the row's runs did: dataset (`icbhi`, `sprsound`), method, `init` (`scratch` or
    /// `audioset`), and the contrastive `labels` (scl) or heads (mscl).
    pub dataset: String,
    pub method: String,
    pub init: String,
    pub labels: Option<String>,
    pub sp: Option<Vec<f64>>,
    pub se: Option<Vec<f64>>,
    pub score: Option<Vec<f64>>,
    pub hs: Option<Vec<f64>>,
    /// Where the numbers were read.
    pub source: Option<String>,
}

impl PaperRow {
    /// Whether a run of `dataset` with `sig` reproduces this row.
    pub fn matches(&self, dataset: &str, sig: &Signature) -> bool {
        self.dataset == dataset
            && self.method == sig.method
            && self.init == sig.init
            && self.labels.as_deref().map(canonical_labels) == sig.labels
    }
}

/// Paper rows by the stem of the config file that reproduces them.
pub type PaperResults = BTreeMap<String, PaperRow>;

/// Parses a paper-results TOML (`origin` names it in errors).
pub fn parse_paper_results(text: &str, origin: &Path) -> Result<PaperResults, ReportError> {
    let rows: PaperResults = toml::from_str(text).map_err(|e| ReportError::PaperResults {
        path: origin.into(),
        msg: e.to_string(),
    })?;
    for (key, row) in &rows {
        if !matches!(row.init.as_str(), "scratch" | "audioset") {
            return Err(ReportError::PaperResults {
                path: origin.into(),
                msg: format!(
                    "[{key}].init is `{}`: expected scratch or audioset",
                    row.init
                ),
            });
        }
        for (name, v) in [
            ("sp", &row.sp),
            ("se", &row.se),
            ("score", &row.score),
            ("hs", &row.hs),
        ] {
            if let Some(v) = v {
                if v.is_empty() || v.len() > 2 {
                    let msg = format!(
                        "[{key}].{name}: expected [mean] or [mean, std], got {} values",
                        v.len()
                    );
                    return Err(ReportError::PaperResults {
                        path: origin.into(),
                        msg,
                    });
                }
            }
        }
    }
    Ok(rows)
}

/// The compiled-in `configs/paper_results.toml`.
pub fn default_paper_results() -> PaperResults {
    parse_paper_results(PAPER_RESULTS, Path::new("configs/paper_results.toml"))
        .expect("configs/paper_results.toml is valid")
}
