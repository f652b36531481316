//! `auscult pipeline build|inspect|synth`.

use std::path::PathBuf;

use anyhow::Context;
use auscult_pipeline::build::{build, BuildOptions, Dataset, OnError};
use auscult_pipeline::features::{FeatureParams, PadMode};
use auscult_pipeline::resample::ResamplerKind;
use clap::{Args, Subcommand, ValueEnum};

#[derive(Subcommand, Debug)]
pub enum PipelineCommand {
    /// Parse a dataset and write a cache: metadata.parquet, manifest.json, shards/*.safetensors.
    ///
    /// Every cycle (ICBHI) or event (SPRSound) is read at its file's own rate, resampled to
    /// 16 kHz exactly as torchaudio does, faded, cropped or circularly padded to 8 s, and turned
    /// into a 64-band log-mel [64, 251] in dB — the official preprocessing, with every constant an
    /// option recorded in the manifest.
    Build(BuildArgs),
    /// Summarise a cache (counts by split × label, devices, locations, durations, sample rates).
    /// Reads only manifest.json and metadata.parquet.
    Inspect {
        /// The cache folder written by `pipeline build`.
        cache: PathBuf,
        /// Print JSON instead of tables.
        #[arg(long)]
        json: bool,
    },
    /// Check a cache end to end: every shard re-read (size, blake3 checksum, tensors, rows,
    /// labels against the class list), files in shards/ the manifest does not list, and the
    /// metadata table (rows, cycle ids, labels, split counts) against the manifest and shards.
    /// Prints one line per problem (file: what) and exits with status 1 if there is any.
    Verify {
        /// The cache folder written by `pipeline build`.
        cache: PathBuf,
    },
    /// Write a synthetic database in the official layout, with learnable classes (for demos and
    /// tests; no real data needed).
    Synth(SynthArgs),
}

#[derive(Copy, Clone, Debug, ValueEnum)]
pub enum DatasetArg {
    Icbhi,
    Sprsound,
}

impl From<DatasetArg> for Dataset {
    fn from(d: DatasetArg) -> Self {
        match d {
            DatasetArg::Icbhi => Dataset::Icbhi,
            DatasetArg::Sprsound => Dataset::Sprsound,
        }
    }
}

#[derive(Copy, Clone, Debug, ValueEnum)]
pub enum OnErrorArg {
    /// Stop with a non-zero exit before writing anything.
    Fail,
    /// Build the rest; list skipped inputs in manifest.json and on stderr.
    Skip,
}

#[derive(Copy, Clone, Debug, ValueEnum)]
pub enum ResamplerArg {
    /// torchaudio's windowed-sinc kernel, sample-exact (the official preprocessing).
    Torchaudio,
    /// rubato's sinc resampler (not identical to the official features).
    Rubato,
}

#[derive(Copy, Clone, Debug, ValueEnum)]
pub enum PadArg {
    /// Repeat the cycle to 8 s, then fade out again (official default).
    Circular,
    /// Centre the cycle in zeros.
    Zero,
}

/// The ICBHI side files (`build`: overrides of discovery, relative to --input; `synth
/// --from-annotations`: the files copied into the corpus).
#[derive(Args, Debug)]
pub struct IcbhiFileArgs {
    /// ICBHI split file (default ICBHI_challenge_train_test.txt).
    #[arg(long)]
    pub split_file: Option<PathBuf>,
    /// ICBHI demographics file (default ICBHI_Challenge_demographic_information.txt or demographic_info.txt).
    #[arg(long)]
    pub demographics_file: Option<PathBuf>,
    /// ICBHI diagnosis file (default ICBHI_Challenge_diagnosis.txt or patient_diagnosis.csv).
    #[arg(long)]
    pub diagnosis_file: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct BuildArgs {
    /// Which dataset layout to read.
    #[arg(long, value_enum, default_value = "icbhi")]
    pub dataset: DatasetArg,
    /// Dataset root (ICBHI: folder with ICBHI_final_database/ or audio_and_txt_files/ and the
    /// split/demographics files; SPRSound: repository root or a release folder).
    #[arg(long)]
    pub input: PathBuf,
    /// Cache folder to write (created). A cache there built with the same dataset and
    /// parameters is rebuilt; one built otherwise is refused unless --overwrite.
    #[arg(long)]
    pub output: PathBuf,
    /// Replace a cache in --output built with other parameters or from another dataset.
    #[arg(long)]
    pub overwrite: bool,
    /// Write only metadata.parquet and manifest.json, without reading audio (seconds, and the
    /// audio files need not exist).
    #[arg(long)]
    pub metadata_only: bool,
    /// Worker threads (default: all cores). The output is identical for any value.
    #[arg(long)]
    pub jobs: Option<usize>,
    /// What to do with a bad input.
    #[arg(long, value_enum, default_value = "fail")]
    pub on_error: OnErrorArg,
    /// Rows per shard file.
    #[arg(long, default_value_t = 1024)]
    pub shard_size: usize,
    /// ICBHI: folder of <name>.wav/<name>.txt (overrides discovery; relative to --input).
    #[arg(long)]
    pub recordings_dir: Option<PathBuf>,
    #[command(flatten)]
    pub icbhi_files: IcbhiFileArgs,
    /// ICBHI: patients younger than this many years are `child`, others `adult`.
    #[arg(long, default_value_t = 18.0)]
    pub child_age_threshold: f64,
    /// SPRSound: patients younger than this many years are `baby`, others `kid` (our assumption).
    #[arg(long, default_value_t = 3.0)]
    pub baby_age_threshold: f64,
    /// Resampler to 16 kHz.
    #[arg(long, value_enum, default_value = "torchaudio")]
    pub resampler: ResamplerArg,
    /// Padding of cycles shorter than the target length.
    #[arg(long, value_enum, default_value = "circular")]
    pub pad: PadArg,
    /// Target sample rate (Hz).
    #[arg(long, default_value_t = 16000)]
    pub sample_rate: u32,
    /// Cached length in seconds (crop or pad to this).
    #[arg(long, default_value_t = 8.0)]
    pub duration: f64,
    /// Fade-in/out length in samples (official: sample_rate / 16).
    #[arg(long)]
    pub fade_samples: Option<usize>,
    /// STFT size.
    #[arg(long, default_value_t = 1024)]
    pub n_fft: usize,
    /// STFT hop.
    #[arg(long, default_value_t = 512)]
    pub hop_length: usize,
    /// Mel bands.
    #[arg(long, default_value_t = 64)]
    pub n_mels: usize,
    /// Lowest mel frequency (Hz).
    #[arg(long, default_value_t = 50.0)]
    pub f_min: f32,
    /// Highest mel frequency (Hz).
    #[arg(long, default_value_t = 2000.0)]
    pub f_max: f32,
}

impl BuildArgs {
    fn options(&self) -> BuildOptions {
        let mut o = BuildOptions::new(self.dataset.into(), &self.input, &self.output);
        o.metadata_only = self.metadata_only;
        o.overwrite = self.overwrite;
        o.jobs = self.jobs;
        o.on_error = match self.on_error {
            OnErrorArg::Fail => OnError::Fail,
            OnErrorArg::Skip => OnError::Skip,
        };
        o.shard_size = self.shard_size;
        o.recordings_dir = self.recordings_dir.clone();
        o.split_file = self.icbhi_files.split_file.clone();
        o.demographics_file = self.icbhi_files.demographics_file.clone();
        o.diagnosis_file = self.icbhi_files.diagnosis_file.clone();
        o.dataset_params.icbhi_child_age_threshold_years = self.child_age_threshold;
        o.dataset_params.sprsound_baby_age_threshold_years = self.baby_age_threshold;
        o.features = FeatureParams {
            sample_rate: self.sample_rate,
            target_samples: (self.duration * self.sample_rate as f64).round() as usize,
            fade_samples: self.fade_samples.unwrap_or(self.sample_rate as usize / 16),
            pad_mode: match self.pad {
                PadArg::Circular => PadMode::Circular,
                PadArg::Zero => PadMode::Zero,
            },
            n_fft: self.n_fft,
            win_length: self.n_fft,
            hop_length: self.hop_length,
            n_mels: self.n_mels,
            f_min: self.f_min,
            f_max: self.f_max,
            resampler: match self.resampler {
                ResamplerArg::Torchaudio => ResamplerKind::Torchaudio,
                ResamplerArg::Rubato => ResamplerKind::Rubato,
            },
            ..FeatureParams::default()
        };
        o.progress = true;
        o
    }
}

#[derive(Args, Debug)]
pub struct SynthArgs {
    /// Which dataset layout to write.
    #[arg(long, value_enum, default_value = "icbhi")]
    pub dataset: DatasetArg,
    /// Folder to write the database into.
    #[arg(long)]
    pub output: PathBuf,
    /// Number of recordings.
    #[arg(long)]
    pub recordings: Option<usize>,
    /// Random seed (same seed, same bytes).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// ICBHI benchmark corpus: take every `<name>.txt` of this folder (e.g. the real
    /// all_annotations/) with its real cycle timings and write synthetic audio for it at the
    /// device's real rate and bit depth (needs --split-file).
    #[arg(long, value_name = "DIR")]
    pub from_annotations: Option<PathBuf>,
    #[command(flatten)]
    pub icbhi_files: IcbhiFileArgs,
}

pub fn run(cmd: PipelineCommand) -> anyhow::Result<()> {
    match cmd {
        PipelineCommand::Build(args) => {
            let opts = args.options();
            let report = build(&opts).with_context(|| {
                format!(
                    "building a {} cache from {}",
                    opts.dataset.name(),
                    opts.input.display()
                )
            })?;
            for s in &report.skipped {
                eprintln!("skipped: {s}");
            }
            eprintln!(
                "wrote {} rows from {} recordings into {} ({} shards{}) in {:.1} s{}",
                report.rows,
                report.recordings,
                opts.output.display(),
                report.shards,
                if opts.metadata_only {
                    ", metadata only"
                } else {
                    ""
                },
                report.seconds,
                if report.skipped.is_empty() {
                    String::new()
                } else {
                    format!(
                        "; {} inputs skipped (see manifest.json)",
                        report.skipped.len()
                    )
                }
            );
            Ok(())
        }
        PipelineCommand::Inspect { cache, json } => {
            let i = auscult_pipeline::inspect::inspect(&cache)
                .with_context(|| format!("inspecting cache {}", cache.display()))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&i)?);
            } else {
                print!("{i}");
            }
            Ok(())
        }
        PipelineCommand::Verify { cache } => {
            let r = auscult_cache::verify::verify_cache(&cache);
            for p in &r.problems {
                println!("PROBLEM {p}");
            }
            if !r.is_ok() {
                anyhow::bail!(
                    "{}: {} problem(s) found (rebuild with `auscult pipeline build`)",
                    cache.display(),
                    r.problems.len()
                );
            }
            println!(
                "ok: {} shards ({} rows) and {} metadata rows verified in {}",
                r.shards_checked,
                r.rows_checked,
                r.table_rows.unwrap_or(0),
                cache.display()
            );
            Ok(())
        }
        PipelineCommand::Synth(args) => synth(args),
    }
}

fn synth(args: SynthArgs) -> anyhow::Result<()> {
    use auscult_synth as synth;
    match args.dataset {
        DatasetArg::Icbhi => {
            let r = match args.from_annotations.clone() {
                Some(annotations_dir) => {
                    let o = synth::CorpusFromAnnotations {
                        annotations_dir,
                        split_file: args
                            .icbhi_files
                            .split_file
                            .clone()
                            .context("--from-annotations needs --split-file")?,
                        demographics_file: args.icbhi_files.demographics_file.clone(),
                        diagnosis_file: args.icbhi_files.diagnosis_file.clone(),
                        seed: args.seed,
                    };
                    synth::synth_icbhi_from_annotations(&args.output, &o).with_context(|| {
                        format!(
                            "writing the ICBHI-scale corpus to {}",
                            args.output.display()
                        )
                    })?
                }
                None => {
                    let mut o = synth::IcbhiSynthOptions {
                        seed: args.seed,
                        ..Default::default()
                    };
                    if let Some(n) = args.recordings {
                        o.recordings = n;
                    }
                    synth::synth_icbhi(&args.output, &o).with_context(|| {
                        format!(
                            "writing a synthetic ICBHI database to {}",
                            args.output.display()
                        )
                    })?
                }
            };
            eprintln!(
                "wrote {} recordings, {} cycles ({:.0} s of audio) to {}",
                r.recordings,
                r.cycles,
                r.audio_seconds,
                args.output.display()
            );
        }
        DatasetArg::Sprsound => {
            let mut o = synth::sprsound::SprsoundSynthOptions {
                seed: args.seed,
                ..Default::default()
            };
            if let Some(n) = args.recordings {
                o.recordings = n;
            }
            let r = synth::sprsound::synth_sprsound(&args.output, &o).with_context(|| {
                format!(
                    "writing a synthetic SPRSound database to {}",
                    args.output.display()
                )
            })?;
            let splits: Vec<String> = r
                .per_split
                .iter()
                .map(|(k, v)| format!("{k} {}", v.recordings))
                .collect();
            eprintln!(
                "wrote {} recordings ({}; {:.0} s of audio) to {}",
                r.recordings,
                splits.join(", "),
                r.audio_seconds,
                args.output.display()
            );
        }
    }
    Ok(())
}
