//! The test encoder: serializes decoded values back into account bytes, for unit tests,
//! the integration tests' fake RPC server, the benchmarks and the `simnet` example.
//!
//! Compiled only for unit tests and with the `test-support` feature, so the exporter
//! binary does not carry it.

use super::layout::{
    CLIENT_VERSION_LEN, COORDINATOR_ACCOUNT_DISCRIMINATOR, COORDINATOR_ACCOUNT_VERSION,
    COORDINATOR_INSTANCE_DISCRIMINATOR, DESCRIPTION_LEN, EPOCH_CLIENT_SIZE, INSTANCE_ACCOUNT_SIZE,
    INSTANCE_BUMP, INSTANCE_COORDINATOR_ACCOUNT, INSTANCE_JOIN_AUTHORITY, INSTANCE_MAIN_AUTHORITY,
    INSTANCE_RUN_ID, INSTANCE_RUN_ID_LEN, INSTANCE_RUN_ID_MAX_LEN, LLM_ARCHITECTURE,
    LLM_CHECKPOINT, LLM_COLD_START, LLM_DATA_LOCATION, LLM_DATA_TYPE, LLM_LR_SCHEDULE,
    LLM_MAX_SEQ_LEN, LLM_OPTIMIZER, Layout, MAX_CLIENTS, MAX_WITNESSES, NAME_LEN,
    REGISTERED_CLIENT_SIZE, STRING_LEN, URL_LEN,
};
use super::model::{Checkpoint, DataLocation, HttpLocation, LrSchedule, Model, Optimizer, Shuffle};
use super::types::{Instance, Run};

struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    fn put(&mut self, offset: usize, bytes: &[u8]) {
        if let Some(dst) = self.buf.get_mut(offset..offset.saturating_add(bytes.len())) {
            dst.copy_from_slice(bytes);
        }
    }
    fn u8(&mut self, offset: usize, v: u8) {
        self.put(offset, &[v]);
    }
    fn bool(&mut self, offset: usize, v: bool) {
        self.u8(offset, u8::from(v));
    }
    fn u16(&mut self, offset: usize, v: u16) {
        self.put(offset, &v.to_le_bytes());
    }
    fn u32(&mut self, offset: usize, v: u32) {
        self.put(offset, &v.to_le_bytes());
    }
    fn u64(&mut self, offset: usize, v: u64) {
        self.put(offset, &v.to_le_bytes());
    }
    fn f32(&mut self, offset: usize, v: f32) {
        self.put(offset, &v.to_le_bytes());
    }
    fn f64(&mut self, offset: usize, v: f64) {
        self.put(offset, &v.to_le_bytes());
    }
    /// Writes at most `len` bytes of `s`, cut at a char boundary; the rest stays NUL.
    fn string(&mut self, offset: usize, len: usize, s: &str) {
        let mut end = s.len().min(len);
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        self.put(offset, s.as_bytes().get(..end).unwrap_or_default());
    }
    fn option_string(&mut self, offset: usize, s: Option<&str>) {
        if let Some(s) = s {
            self.u8(offset, 1);
            self.string(offset + 1, STRING_LEN, s);
        }
    }
    fn option_f32(&mut self, offset: usize, v: Option<f32>) {
        if let Some(v) = v {
            self.u8(offset, 1);
            self.f32(offset + 4, v);
        }
    }
}

/// Serializes `run` as a `layout` account (for tests, fake RPC servers and benchmarks).
///
/// Fields the layout lacks are dropped, fields it has but `run` lacks are written as 0,
/// and v1 gets `run.version` or 1. List lengths come from `run.lists`; entries from
/// `run.detail` (if any). Witness entries, padding and unused union bytes are zero.
pub fn encode_run(run: &Run, layout: Layout) -> Vec<u8> {
    let o = layout.offsets();
    let mut w = Writer {
        buf: vec![0; o.size],
    };
    w.put(0, &COORDINATOR_ACCOUNT_DISCRIMINATOR);
    if let Some(at) = o.version {
        w.u64(at, run.version.unwrap_or(COORDINATOR_ACCOUNT_VERSION));
    }
    w.string(o.name, NAME_LEN, &run.metadata.name);
    w.string(o.description, DESCRIPTION_LEN, &run.metadata.description);
    w.u64(o.num_parameters, run.metadata.num_parameters);
    w.u64(o.vocab_size, run.metadata.vocab_size);
    w.string(o.run_id, o.run_id_len, &run.run_id);
    w.u8(o.run_state, run.state.code());
    encode_model(&mut w, o.model, &run.model);

    let c = &run.config;
    w.u64(o.config, c.warmup_time);
    w.u64(o.config + 8, c.cooldown_time);
    w.u64(o.config + 16, c.max_round_train_time);
    w.u64(o.config + 24, c.round_witness_time);
    w.u64(o.config + 32, c.global_batch_size_warmup_tokens);
    if let Some(at) = o.epoch_time {
        w.u64(at, c.epoch_time.unwrap_or(0));
    }
    if let Some(at) = o.rounds_per_epoch {
        w.u32(at, c.rounds_per_epoch.unwrap_or(0));
    }
    let t = o.total_steps;
    w.u32(t, c.total_steps);
    w.u16(t + 4, c.init_min_clients);
    w.u16(t + 6, c.min_clients);
    w.u16(t + 8, c.witness_nodes);
    w.u16(t + 10, c.global_batch_size_start);
    w.u16(t + 12, c.global_batch_size_end);
    w.u8(t + 14, c.verification_percent);
    if let Some(at) = o.waiting_for_members_extra_time {
        w.u8(at, c.waiting_for_members_extra_time.unwrap_or(0));
    }

    w.u16(o.progress, run.progress.epoch);
    w.u32(o.progress + 4, run.progress.step);
    w.u64(o.progress + 8, run.progress.epoch_start_data_index);

    for (index, round) in run.rounds.iter().enumerate() {
        let tail = o.round_tail(index);
        w.u64(tail, round.witnesses_len.min(MAX_WITNESSES) as u64);
        w.u64(tail + 8, round.data_index);
        w.u64(tail + 16, round.random_seed);
        w.u32(tail + 24, round.height);
        w.u16(tail + 28, round.clients_len);
        w.u16(tail + 30, round.tie_breaker_tasks);
    }

    let e = &run.epoch;
    w.u32(o.rounds_head, e.rounds_head);
    w.u32(o.rounds_head + 4, e.start_step);
    if let Some(at) = o.last_step {
        w.u32(at, e.last_step.unwrap_or(0));
    }
    if let Some(at) = o.epoch_start_timestamp {
        w.u64(at, e.start_timestamp.unwrap_or(0));
    }
    w.bool(o.first_round, e.first_round);
    if let Some(at) = o.checkpointed {
        w.bool(at, e.checkpointed.unwrap_or(false));
    }
    w.bool(o.cold_start_epoch, e.cold_start_epoch);
    w.u64(o.run_state_start, run.state_start_timestamp);
    w.bool(o.pending_pause, run.pending_pause);

    let lists = &run.lists;
    w.u64(
        o.epoch_clients_len(),
        lists.epoch_clients.min(MAX_CLIENTS) as u64,
    );
    w.u64(
        o.exited_clients_len(),
        lists.exited_clients.min(MAX_CLIENTS) as u64,
    );
    w.u64(
        o.registered_clients_len(),
        lists.registered_clients.min(MAX_CLIENTS) as u64,
    );
    if let Some(detail) = &run.detail {
        for (base, clients) in [
            (o.epoch_clients, &detail.epoch_clients),
            (o.exited_clients, &detail.exited_clients),
        ] {
            for (k, client) in clients.iter().take(MAX_CLIENTS).enumerate() {
                let at = base + k * EPOCH_CLIENT_SIZE;
                w.put(at, &client.signer);
                w.put(at + 32, &client.p2p_identity);
                w.u8(at + 64, client.state.code());
                w.u32(at + 68, client.exited_height);
            }
        }
        for (k, client) in detail
            .registered_clients
            .iter()
            .take(MAX_CLIENTS)
            .enumerate()
        {
            let at = o.registered_clients + k * REGISTERED_CLIENT_SIZE;
            w.put(at, &client.signer);
            w.put(at + 32, &client.p2p_identity);
            w.u64(at + 72, client.earned);
            w.u64(at + 80, client.slashed);
            w.u64(at + 88, client.active);
        }
    }
    let cs = &run.clients_state;
    w.u64(o.next_active(), cs.next_active);
    for (at, rates) in [
        (o.current_epoch_rates(), cs.current_epoch_rates),
        (o.future_epoch_rates(), cs.future_epoch_rates),
    ] {
        w.u64(at, rates.earning_rate_total_shared);
        w.u64(at + 8, rates.slashing_rate_per_client);
    }
    w.bool(o.is_warmup_first_tick, run.is_warmup_first_tick);
    w.bool(o.is_warmup_first_tick + 1, run.is_training_first_tick);
    if let (Some(at), Some(version)) = (o.client_version, &run.client_version) {
        w.string(at, CLIENT_VERSION_LEN, version);
    }
    w.u64(o.nonce, run.nonce);
    w.buf
}

fn encode_model(w: &mut Writer, at: usize, model: &Model) {
    w.u32(at, model.code());
    let Model::Llm(llm) = model else {
        return;
    };
    let l = at + 8;
    w.u32(l + LLM_MAX_SEQ_LEN, llm.max_seq_len);
    w.u32(l + LLM_COLD_START, llm.cold_start_warmup_steps);
    w.u32(l + LLM_ARCHITECTURE, llm.architecture.code());

    let cp = l + LLM_CHECKPOINT;
    w.u32(cp, llm.checkpoint.code());
    let (main, option) = match &llm.checkpoint {
        Checkpoint::Dummy(repo) | Checkpoint::Hub(repo) | Checkpoint::P2P(repo) => {
            (Some(repo.repo_id.as_str()), repo.revision.as_deref())
        }
        Checkpoint::Gcs(repo) | Checkpoint::P2PGcs(repo) => {
            (Some(repo.bucket.as_str()), repo.prefix.as_deref())
        }
        Checkpoint::Ephemeral | Checkpoint::Unknown(_) => (None, None),
    };
    w.option_string(cp + 4, option);
    if let Some(main) = main {
        w.string(cp + 4 + 1 + STRING_LEN, STRING_LEN, main);
    }

    w.u32(l + LLM_DATA_TYPE, llm.data_type.code());
    let dl = l + LLM_DATA_LOCATION;
    w.u32(dl, llm.data_location.code());
    let p = dl + 4;
    match &llm.data_location {
        DataLocation::Server(s) => w.string(p, STRING_LEN, s),
        DataLocation::Local(s) | DataLocation::WeightedHttp(s) | DataLocation::Preprocessed(s) => {
            w.string(p, URL_LEN, s)
        }
        DataLocation::Http(http) => {
            w.u32(p, http.location.code());
            let q = p + 4;
            match &http.location {
                HttpLocation::SingleUrl(url) => w.string(q, URL_LEN, url),
                HttpLocation::NumberedFiles {
                    url_template,
                    start_index,
                    n_left_pad_zeros,
                    num_files,
                } => {
                    w.string(q, STRING_LEN, url_template);
                    w.u32(q + 64, *start_index);
                    w.u8(q + 68, *n_left_pad_zeros);
                    w.u32(q + 72, *num_files);
                }
                HttpLocation::Gcp {
                    bucket_name,
                    filter_directory,
                } => {
                    w.string(q, STRING_LEN, bucket_name);
                    w.string(q + 64, URL_LEN, filter_directory);
                }
                HttpLocation::Unknown(_) => {}
            }
            w.u32(p + 260, http.token_size_in_bytes.code());
            w.u32(p + 264, http.shuffle.code());
            if let Shuffle::Seeded(seed) = &http.shuffle {
                w.put(p + 268, seed);
            }
        }
        DataLocation::Dummy | DataLocation::Unknown(_) => {}
    }

    let lr = l + LLM_LR_SCHEDULE;
    w.u32(lr, llm.lr_schedule.code());
    let p = lr + 8;
    match llm.lr_schedule {
        LrSchedule::Constant {
            base_lr,
            warmup_init_lr,
            warmup_steps,
        } => {
            w.f64(p, base_lr);
            w.f64(p + 8, warmup_init_lr);
            w.u32(p + 16, warmup_steps);
        }
        LrSchedule::Linear {
            base_lr,
            warmup_init_lr,
            final_lr,
            warmup_steps,
            total_steps,
        }
        | LrSchedule::Cosine {
            base_lr,
            warmup_init_lr,
            final_lr,
            warmup_steps,
            total_steps,
        } => {
            w.f64(p, base_lr);
            w.f64(p + 8, warmup_init_lr);
            w.f64(p + 16, final_lr);
            w.u32(p + 24, warmup_steps);
            w.u32(p + 28, total_steps);
        }
        LrSchedule::WarmupStableDecay {
            base_lr,
            warmup_init_lr,
            cosine_decay_final_lr,
            linear_decay_final_lr,
            warmup_steps,
            stable_steps,
            cosine_decay_steps,
            linear_decay_steps,
        } => {
            w.f64(p, base_lr);
            w.f64(p + 8, warmup_init_lr);
            w.f64(p + 16, cosine_decay_final_lr);
            w.f64(p + 24, linear_decay_final_lr);
            w.u32(p + 32, warmup_steps);
            w.u32(p + 36, stable_steps);
            w.u32(p + 40, cosine_decay_steps);
            w.u32(p + 44, linear_decay_steps);
        }
        LrSchedule::Unknown(_) => {}
    }

    let opt = l + LLM_OPTIMIZER;
    w.u32(opt, llm.optimizer.code());
    let p = opt + 4;
    match llm.optimizer {
        Optimizer::AdamW {
            betas,
            weight_decay,
            eps,
            clip_grad_norm,
        } => {
            let [beta1, beta2] = betas;
            w.f32(p, beta1);
            w.f32(p + 4, beta2);
            w.f32(p + 8, weight_decay);
            w.f32(p + 12, eps);
            w.option_f32(p + 16, clip_grad_norm);
        }
        Optimizer::Distro {
            clip_grad_norm,
            weight_decay,
            compression_decay,
            compression_topk,
            compression_chunk,
            quantize_1bit,
        } => {
            w.option_f32(p, clip_grad_norm);
            w.option_f32(p + 8, weight_decay);
            w.f32(p + 16, compression_decay);
            w.u16(p + 20, compression_topk);
            w.u16(p + 22, compression_chunk);
            w.bool(p + 24, quantize_1bit);
        }
        Optimizer::Dummy | Optimizer::Unknown(_) => {}
    }
}

/// Serializes `instance` as a 173-byte `CoordinatorInstance`; the run_id is cut to 64 bytes.
pub fn encode_instance(instance: &Instance) -> Vec<u8> {
    let mut w = Writer {
        buf: vec![0; INSTANCE_ACCOUNT_SIZE],
    };
    w.put(0, &COORDINATOR_INSTANCE_DISCRIMINATOR);
    w.u8(INSTANCE_BUMP, instance.bump);
    w.put(INSTANCE_MAIN_AUTHORITY, &instance.main_authority);
    w.put(INSTANCE_JOIN_AUTHORITY, &instance.join_authority);
    w.put(INSTANCE_COORDINATOR_ACCOUNT, &instance.coordinator_account);
    let mut end = instance.run_id.len().min(INSTANCE_RUN_ID_MAX_LEN);
    while !instance.run_id.is_char_boundary(end) {
        end -= 1;
    }
    w.u32(INSTANCE_RUN_ID_LEN, end as u32);
    w.string(INSTANCE_RUN_ID, end, &instance.run_id);
    w.buf
}
