//! `auscult embed` from a trained run: the embeddings, put through the same checkpoint's linear
//! head, reproduce the run's own evaluation of that checkpoint (its best epoch on the test split).

use crate::common;

use candle_core::Device;

#[test]
fn embeddings_reproduce_the_runs_evaluation() {
    let (_db, cache) = common::shared_icbhi_cache(16, 21, 8000, 16, None);
    let work = tempfile::tempdir().unwrap();
    let (run, emb) = (
        work.path().join("run"),
        work.path().join("test.safetensors"),
    );
    let c = cache.path().to_str().unwrap();
    let o = common::auscult(&[
        "train",
        "ce",
        "--data",
        c,
        "--out",
        run.to_str().unwrap(),
        "--epochs",
        "2",
        "--batch-size",
        "16",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = common::auscult(&[
        "embed",
        "--run",
        run.to_str().unwrap(),
        "--data",
        c,
        "--split",
        "test",
        "--out",
        emb.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    let e = candle_core::safetensors::load(&emb, &Device::Cpu).unwrap();
    let (x, ids, labels) = (&e["embedding"], &e["cycle_id"], &e["label"]);
    let n = ids.dims()[0];
    assert_eq!(x.dims(), [n, 512]);
    // Exactly the test split's rows, ascending.
    let table = auscult_cache::table::read_table(&cache.path().join("metadata.parquet")).unwrap();
    let split = auscult_cache::table::string_column(&table, "split").unwrap();
    let test_rows: Vec<i64> = (0..split.len() as i64)
        .filter(|&i| split[i as usize].as_deref() == Some("test"))
        .collect();
    assert_eq!(ids.to_vec1::<i64>().unwrap(), test_rows);

    // The best checkpoint's linear head on the embeddings gives the run's best test metrics.
    let ck = candle_core::safetensors::load(run.join("checkpoints/best.safetensors"), &Device::Cpu)
        .unwrap();
    let logits = x
        .matmul(&ck["linear.weight"].t().unwrap())
        .unwrap()
        .broadcast_add(&ck["linear.bias"])
        .unwrap();
    let pred: Vec<usize> = logits
        .argmax(1)
        .unwrap()
        .to_vec1::<u32>()
        .unwrap()
        .into_iter()
        .map(|p| p as usize)
        .collect();
    let truth: Vec<usize> = labels
        .to_vec1::<i64>()
        .unwrap()
        .into_iter()
        .map(|l| l as usize)
        .collect();
    let m = auscult::eval::metrics::ConfusionMatrix::from_labels(&pred, &truth, 4, &[0])
        .unwrap()
        .metrics();
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("summary.json")).unwrap()).unwrap();
    let best = &summary["best_by_eval"]["eval"];
    assert_eq!(
        m.confusion.counts,
        serde_json::from_value::<Vec<Vec<u64>>>(best["confusion"]["counts"].clone()).unwrap()
    );
    assert!((m.score - best["score"].as_f64().unwrap()).abs() < 1e-12);
}
