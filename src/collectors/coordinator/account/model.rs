//! `Coordinator.model`: the LLM definition, its checkpoint, data location, learning-rate
//! schedule and optimizer.

/// `LLM.architecture`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Architecture {
    /// 0
    HfLlama,
    /// 1
    HfDeepseek,
    /// 2
    HfAuto,
    /// 3 (added after v1 without a version bump)
    Torchtitan,
    /// A tag this decoder does not know.
    Unknown(u32),
}

impl Architecture {
    /// Decodes the stored tag.
    pub fn from_code(code: u32) -> Self {
        match code {
            0 => Architecture::HfLlama,
            1 => Architecture::HfDeepseek,
            2 => Architecture::HfAuto,
            3 => Architecture::Torchtitan,
            other => Architecture::Unknown(other),
        }
    }

    /// The stored tag.
    pub fn code(self) -> u32 {
        match self {
            Architecture::HfLlama => 0,
            Architecture::HfDeepseek => 1,
            Architecture::HfAuto => 2,
            Architecture::Torchtitan => 3,
            Architecture::Unknown(code) => code,
        }
    }

    /// snake_case label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Architecture::HfLlama => "hf_llama",
            Architecture::HfDeepseek => "hf_deepseek",
            Architecture::HfAuto => "hf_auto",
            Architecture::Torchtitan => "torchtitan",
            Architecture::Unknown(_) => "unknown",
        }
    }
}

/// `LLM.data_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataType {
    /// 0
    Pretraining,
    /// 1
    Finetuning,
    /// A tag this decoder does not know.
    Unknown(u32),
}

impl DataType {
    /// Decodes the stored tag.
    pub fn from_code(code: u32) -> Self {
        match code {
            0 => DataType::Pretraining,
            1 => DataType::Finetuning,
            other => DataType::Unknown(other),
        }
    }

    /// The stored tag.
    pub fn code(self) -> u32 {
        match self {
            DataType::Pretraining => 0,
            DataType::Finetuning => 1,
            DataType::Unknown(code) => code,
        }
    }

    /// snake_case label value.
    pub fn as_str(self) -> &'static str {
        match self {
            DataType::Pretraining => "pretraining",
            DataType::Finetuning => "finetuning",
            DataType::Unknown(_) => "unknown",
        }
    }
}

/// A HuggingFace repository (`HubRepo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubRepo {
    /// "owner/name".
    pub repo_id: String,
    /// Commit sha of the latest upload, if any.
    pub revision: Option<String>,
}

/// A Google Cloud Storage location (`GcsRepo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GcsRepo {
    /// Bucket name.
    pub bucket: String,
    /// Object prefix, if any.
    pub prefix: Option<String>,
}

/// `LLM.checkpoint`: where clients get the weights.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checkpoint {
    /// 0: no checkpoint.
    Ephemeral,
    /// 1: test value carrying a hub repo.
    Dummy(HubRepo),
    /// 2: download from the HF hub.
    Hub(HubRepo),
    /// 3: peers share the weights; the hub repo is the fallback and latest upload.
    P2P(HubRepo),
    /// 4: download from GCS.
    Gcs(GcsRepo),
    /// 5: peers share; GCS is the fallback and latest upload.
    P2PGcs(GcsRepo),
    /// A tag this decoder does not know.
    Unknown(u32),
}

impl Checkpoint {
    /// The stored tag.
    pub fn code(&self) -> u32 {
        match self {
            Checkpoint::Ephemeral => 0,
            Checkpoint::Dummy(_) => 1,
            Checkpoint::Hub(_) => 2,
            Checkpoint::P2P(_) => 3,
            Checkpoint::Gcs(_) => 4,
            Checkpoint::P2PGcs(_) => 5,
            Checkpoint::Unknown(code) => *code,
        }
    }

    /// snake_case label value of the variant.
    pub fn kind_str(&self) -> &'static str {
        match self {
            Checkpoint::Ephemeral => "ephemeral",
            Checkpoint::Dummy(_) => "dummy",
            Checkpoint::Hub(_) => "hub",
            Checkpoint::P2P(_) => "p2p",
            Checkpoint::Gcs(_) => "gcs",
            Checkpoint::P2PGcs(_) => "p2p_gcs",
            Checkpoint::Unknown(_) => "unknown",
        }
    }

    /// The HF repo of Hub/P2P/Dummy checkpoints.
    pub fn hub_repo(&self) -> Option<&HubRepo> {
        match self {
            Checkpoint::Dummy(repo) | Checkpoint::Hub(repo) | Checkpoint::P2P(repo) => Some(repo),
            _ => None,
        }
    }

    /// The GCS location of Gcs/P2PGcs checkpoints.
    pub fn gcs_repo(&self) -> Option<&GcsRepo> {
        match self {
            Checkpoint::Gcs(repo) | Checkpoint::P2PGcs(repo) => Some(repo),
            _ => None,
        }
    }
}

/// `HttpTrainingDataLocation`: how an Http data location names its files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpLocation {
    /// 0: one URL.
    SingleUrl(String),
    /// 1: a templated numbered file series.
    NumberedFiles {
        /// URL with a `{}` placeholder.
        url_template: String,
        /// First file number.
        start_index: u32,
        /// Zero padding width of the number.
        n_left_pad_zeros: u8,
        /// Number of files.
        num_files: u32,
    },
    /// 2: a GCS bucket and directory.
    Gcp {
        /// Bucket name.
        bucket_name: String,
        /// Directory filter.
        filter_directory: String,
    },
    /// A tag this decoder does not know.
    Unknown(u32),
}

impl HttpLocation {
    /// The stored tag.
    pub fn code(&self) -> u32 {
        match self {
            HttpLocation::SingleUrl(_) => 0,
            HttpLocation::NumberedFiles { .. } => 1,
            HttpLocation::Gcp { .. } => 2,
            HttpLocation::Unknown(code) => *code,
        }
    }

    /// snake_case label value.
    pub fn as_str(&self) -> &'static str {
        match self {
            HttpLocation::SingleUrl(_) => "single_url",
            HttpLocation::NumberedFiles { .. } => "numbered_files",
            HttpLocation::Gcp { .. } => "gcp",
            HttpLocation::Unknown(_) => "unknown",
        }
    }
}

/// `TokenSize`: bytes per token in the data files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenSize {
    /// 0
    TwoBytes,
    /// 1
    FourBytes,
    /// A tag this decoder does not know.
    Unknown(u32),
}

impl TokenSize {
    /// Decodes the stored tag.
    pub fn from_code(code: u32) -> Self {
        match code {
            0 => TokenSize::TwoBytes,
            1 => TokenSize::FourBytes,
            other => TokenSize::Unknown(other),
        }
    }

    /// The stored tag.
    pub fn code(self) -> u32 {
        match self {
            TokenSize::TwoBytes => 0,
            TokenSize::FourBytes => 1,
            TokenSize::Unknown(code) => code,
        }
    }

    /// snake_case label value.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenSize::TwoBytes => "two_bytes",
            TokenSize::FourBytes => "four_bytes",
            TokenSize::Unknown(_) => "unknown",
        }
    }
}

/// `Shuffle`: data order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Shuffle {
    /// 0
    DontShuffle,
    /// 1: shuffled with this seed.
    Seeded([u8; 32]),
    /// A tag this decoder does not know.
    Unknown(u32),
}

impl Shuffle {
    /// The stored tag.
    pub fn code(self) -> u32 {
        match self {
            Shuffle::DontShuffle => 0,
            Shuffle::Seeded(_) => 1,
            Shuffle::Unknown(code) => code,
        }
    }

    /// snake_case label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Shuffle::DontShuffle => "dont_shuffle",
            Shuffle::Seeded(_) => "seeded",
            Shuffle::Unknown(_) => "unknown",
        }
    }
}

/// `HttpLLMTrainingDataLocation`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpDataLocation {
    /// Which files.
    pub location: HttpLocation,
    /// Bytes per token.
    pub token_size_in_bytes: TokenSize,
    /// Data order.
    pub shuffle: Shuffle,
}

/// `LLMTrainingDataLocation`: where training data comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataLocation {
    /// 0: synthetic data.
    Dummy,
    /// 1: a data server address.
    Server(String),
    /// 2: a local path.
    Local(String),
    /// 3: HTTP files.
    Http(HttpDataLocation),
    /// 4: URL of a JSON list of weighted HTTP sources.
    WeightedHttp(String),
    /// 5: preprocessed data path.
    Preprocessed(String),
    /// A tag this decoder does not know.
    Unknown(u32),
}

impl DataLocation {
    /// The stored tag.
    pub fn code(&self) -> u32 {
        match self {
            DataLocation::Dummy => 0,
            DataLocation::Server(_) => 1,
            DataLocation::Local(_) => 2,
            DataLocation::Http(_) => 3,
            DataLocation::WeightedHttp(_) => 4,
            DataLocation::Preprocessed(_) => 5,
            DataLocation::Unknown(code) => *code,
        }
    }

    /// snake_case label value.
    pub fn as_str(&self) -> &'static str {
        match self {
            DataLocation::Dummy => "dummy",
            DataLocation::Server(_) => "server",
            DataLocation::Local(_) => "local",
            DataLocation::Http(_) => "http",
            DataLocation::WeightedHttp(_) => "weighted_http",
            DataLocation::Preprocessed(_) => "preprocessed",
            DataLocation::Unknown(_) => "unknown",
        }
    }
}

/// `LearningRateSchedule`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LrSchedule {
    /// 0
    Constant {
        /// Learning rate after warmup.
        base_lr: f64,
        /// Learning rate at step 0.
        warmup_init_lr: f64,
        /// Warmup length.
        warmup_steps: u32,
    },
    /// 1
    Linear {
        /// Peak learning rate.
        base_lr: f64,
        /// Learning rate at step 0.
        warmup_init_lr: f64,
        /// Learning rate at `total_steps`.
        final_lr: f64,
        /// Warmup length.
        warmup_steps: u32,
        /// Schedule length.
        total_steps: u32,
    },
    /// 2
    Cosine {
        /// Peak learning rate.
        base_lr: f64,
        /// Learning rate at step 0.
        warmup_init_lr: f64,
        /// Learning rate at `total_steps`.
        final_lr: f64,
        /// Warmup length.
        warmup_steps: u32,
        /// Schedule length.
        total_steps: u32,
    },
    /// 3
    WarmupStableDecay {
        /// Peak learning rate.
        base_lr: f64,
        /// Learning rate at step 0.
        warmup_init_lr: f64,
        /// Learning rate after the cosine decay.
        cosine_decay_final_lr: f64,
        /// Learning rate after the linear decay.
        linear_decay_final_lr: f64,
        /// Warmup length.
        warmup_steps: u32,
        /// Stable phase length.
        stable_steps: u32,
        /// Cosine decay length.
        cosine_decay_steps: u32,
        /// Linear decay length.
        linear_decay_steps: u32,
    },
    /// A tag this decoder does not know.
    Unknown(u32),
}

impl LrSchedule {
    /// The stored tag.
    pub fn code(&self) -> u32 {
        match self {
            LrSchedule::Constant { .. } => 0,
            LrSchedule::Linear { .. } => 1,
            LrSchedule::Cosine { .. } => 2,
            LrSchedule::WarmupStableDecay { .. } => 3,
            LrSchedule::Unknown(code) => *code,
        }
    }

    /// snake_case label value.
    pub fn as_str(&self) -> &'static str {
        match self {
            LrSchedule::Constant { .. } => "constant",
            LrSchedule::Linear { .. } => "linear",
            LrSchedule::Cosine { .. } => "cosine",
            LrSchedule::WarmupStableDecay { .. } => "warmup_stable_decay",
            LrSchedule::Unknown(_) => "unknown",
        }
    }
}

/// `OptimizerDefinition`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Optimizer {
    /// 0
    Dummy,
    /// 1
    AdamW {
        /// (beta1, beta2).
        betas: [f32; 2],
        /// Weight decay.
        weight_decay: f32,
        /// Epsilon.
        eps: f32,
        /// Gradient clipping norm.
        clip_grad_norm: Option<f32>,
    },
    /// 2
    Distro {
        /// Gradient clipping norm.
        clip_grad_norm: Option<f32>,
        /// Weight decay.
        weight_decay: Option<f32>,
        /// Compression decay.
        compression_decay: f32,
        /// Top-k kept per chunk.
        compression_topk: u16,
        /// Chunk size.
        compression_chunk: u16,
        /// 1-bit quantization.
        quantize_1bit: bool,
    },
    /// A tag this decoder does not know.
    Unknown(u32),
}

impl Optimizer {
    /// The stored tag.
    pub fn code(&self) -> u32 {
        match self {
            Optimizer::Dummy => 0,
            Optimizer::AdamW { .. } => 1,
            Optimizer::Distro { .. } => 2,
            Optimizer::Unknown(code) => *code,
        }
    }

    /// snake_case label value.
    pub fn as_str(&self) -> &'static str {
        match self {
            Optimizer::Dummy => "dummy",
            Optimizer::AdamW { .. } => "adamw",
            Optimizer::Distro { .. } => "distro",
            Optimizer::Unknown(_) => "unknown",
        }
    }
}

/// The `LLM` payload of `Model`.
#[derive(Debug, Clone, PartialEq)]
pub struct Llm {
    /// Tokens per sequence.
    pub max_seq_len: u32,
    /// LR warmup steps after a cold start (pause).
    pub cold_start_warmup_steps: u32,
    /// Model architecture.
    pub architecture: Architecture,
    /// Checkpoint source and latest upload.
    pub checkpoint: Checkpoint,
    /// Pretraining or finetuning.
    pub data_type: DataType,
    /// Training data source.
    pub data_location: DataLocation,
    /// Learning-rate schedule.
    pub lr_schedule: LrSchedule,
    /// Optimizer.
    pub optimizer: Optimizer,
}

/// `Coordinator.model`.
#[derive(Debug, Clone, PartialEq)]
#[expect(
    clippy::large_enum_variant,
    reason = "Unknown is a corrupt-data fallback; boxing the normal case would cost an allocation per decode"
)]
pub enum Model {
    /// 0: the only variant Psyche has.
    Llm(Llm),
    /// A tag this decoder does not know; its payload is not interpreted.
    Unknown(u32),
}

impl Model {
    /// The stored tag.
    pub fn code(&self) -> u32 {
        match self {
            Model::Llm(_) => 0,
            Model::Unknown(code) => *code,
        }
    }

    /// The LLM payload, if the tag is known.
    pub fn llm(&self) -> Option<&Llm> {
        match self {
            Model::Llm(llm) => Some(llm),
            Model::Unknown(_) => None,
        }
    }
}
