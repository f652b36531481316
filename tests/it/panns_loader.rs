//! PANNs CNN6 checkpoint loading on the format fixtures in ../shared/data/panns (random weights
//! with the real names and shapes; see its README). Values are checked against the fixture's
//! expected_values.json. Tests skip with a message when the fixtures are absent (fail with
//! `AUSCULT_REQUIRE_DATA=1`).

use auscult::model::cnn6::{Cnn6, Cnn6Config};
use auscult::model::panns::{load_panns_cnn6, PannsError};
use candle_core::{DType, Device, Tensor};
use candle_nn::{VarBuilder, VarMap};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::common::shared::{shared_data, shared_or_skip};
use crate::common::values;

/// `../shared/data/panns` when it holds `expected_values.json`; else None with a printed reason,
/// or a failure naming the path with `AUSCULT_REQUIRE_DATA=1`.
fn fixture_dir() -> Option<PathBuf> {
    let dir = shared_data("panns")?;
    shared_or_skip(&dir.join("expected_values.json"))?;
    Some(dir)
}

fn model() -> Cnn6 {
    let vm = VarMap::new();
    let vb = VarBuilder::from_varmap(&vm, DType::F32, &Device::Cpu);
    Cnn6::new_seeded(vb, Cnn6Config::default(), 0).unwrap()
}

/// The values of `model`'s parameter `name`.
fn param_values(model: &Cnn6, name: &str) -> Vec<f64> {
    let entry = model
        .state_dict()
        .into_iter()
        .find(|e| e.name == name)
        .unwrap();
    values::<f64>(entry.var.as_tensor()).unwrap()
}

/// Loads `file` and checks the report and the values named in expected_values.json.
fn load_and_check(dir: &Path, file: &str) {
    let expected: HashMap<String, serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("expected_values.json")).unwrap())
            .unwrap();
    let m = model();
    let linear_before = param_values(&m, "linear.weight");
    let report = load_panns_cnn6(&dir.join(file), &m).unwrap_or_else(|e| panic!("{file}: {e}"));
    // 4 conv weights + 4 × (weight, bias, running_mean, running_var, num_batches_tracked).
    assert_eq!(report.loaded.len(), 24, "{file}: {report}");
    for ignored in [
        "bn0.weight",
        "fc1.weight",
        "fc_audioset.bias",
        "logmel_extractor.melW",
        "spectrogram_extractor.stft.conv_real.weight",
    ] {
        assert!(
            report.ignored.iter().any(|k| k == ignored),
            "{file}: {ignored} not reported ignored: {report}"
        );
    }
    assert!(
        report.ignored.iter().all(|k| !k.starts_with("conv_block")),
        "{file}: {report}"
    );
    for (key, want) in &expected {
        if let Some(name) = key.strip_suffix(".sum") {
            let sum: f64 = param_values(&m, name).iter().sum();
            let want = want.as_f64().unwrap();
            assert!(
                (sum - want).abs() < 1e-4 * want.abs().max(1.0),
                "{file}: sum of {name} {sum} vs {want}"
            );
        } else {
            let got = param_values(&m, key);
            for (i, w) in want.as_array().unwrap().iter().enumerate() {
                assert_eq!(
                    got[i] as f32,
                    w.as_f64().unwrap() as f32,
                    "{file}: {key}[{i}]"
                );
            }
        }
    }
    // The head keeps its own initialisation.
    assert_eq!(param_values(&m, "linear.weight"), linear_before);
}

#[test]
fn loads_zip_checkpoint_written_by_torch_2_11() {
    if let Some(dir) = fixture_dir() {
        load_and_check(&dir, "Cnn6_format_fixture_zip.pth");
    }
}

#[test]
fn loads_zip_checkpoint_written_by_torch_1_9() {
    if let Some(dir) = fixture_dir() {
        load_and_check(&dir, "Cnn6_format_fixture_zip_torch19.pth");
    }
}

#[test]
fn loads_safetensors_state_dict() {
    if let Some(dir) = fixture_dir() {
        load_and_check(&dir, "Cnn6_format_fixture.safetensors");
    }
}

#[test]
fn legacy_pickle_gets_a_conversion_recipe() {
    let Some(dir) = fixture_dir() else { return };
    let err = load_panns_cnn6(&dir.join("Cnn6_format_fixture_legacy.pth"), &model()).unwrap_err();
    assert!(matches!(err, PannsError::LegacyPickle { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("Cnn6_format_fixture_legacy.pth") && msg.contains("torch.save"),
        "{msg}"
    );
}

/// Synthetic safetensors (written here) for the error paths; `model.` prefixes are stripped.
#[test]
fn shape_mismatch_missing_key_and_unknown_format_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let dev = Device::Cpu;
    let wrong = dir.path().join("wrong_shape.safetensors");
    let tensors = HashMap::from([(
        "model.conv_block1.conv1.weight".to_string(),
        Tensor::zeros((64, 1, 3, 3), DType::F32, &dev).unwrap(),
    )]);
    candle_core::safetensors::save(&tensors, &wrong).unwrap();
    let msg = load_panns_cnn6(&wrong, &model()).unwrap_err().to_string();
    assert!(
        msg.contains("conv_block1.conv1.weight") && msg.contains("[64, 1, 3, 3]"),
        "{msg}"
    );

    let missing = dir.path().join("missing.safetensors");
    let tensors = HashMap::from([(
        "fc1.weight".to_string(),
        Tensor::zeros((2, 2), DType::F32, &dev).unwrap(),
    )]);
    candle_core::safetensors::save(&tensors, &missing).unwrap();
    let msg = load_panns_cnn6(&missing, &model()).unwrap_err().to_string();
    assert!(
        msg.contains("no CNN6 tensor `conv_block1.conv1.weight`") && msg.contains("fc1.weight"),
        "{msg}"
    );

    let text = dir.path().join("notes.pth");
    std::fs::write(&text, "not a checkpoint at all").unwrap();
    let err = load_panns_cnn6(&text, &model()).unwrap_err();
    assert!(matches!(err, PannsError::UnknownFormat { .. }), "{err}");
}
