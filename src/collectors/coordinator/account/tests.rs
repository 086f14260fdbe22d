//! Unit tests of the decoder, the encoder and the derived values, against the fixtures in
//! `tests/fixtures/accounts/`.

use super::layout::{
    EPOCH_CLIENT_SIZE, INSTANCE_BUMP, INSTANCE_COORDINATOR_ACCOUNT, INSTANCE_JOIN_AUTHORITY,
    INSTANCE_MAIN_AUTHORITY, INSTANCE_RUN_ID, INSTANCE_RUN_ID_LEN, LLM_ARCHITECTURE,
    LLM_CHECKPOINT, LLM_COLD_START, LLM_DATA_LOCATION, LLM_DATA_TYPE, LLM_LR_SCHEDULE,
    LLM_MAX_SEQ_LEN, LLM_OPTIMIZER, REGISTERED_CLIENT_SIZE, ROUND_SIZE, ROUND_TAIL,
};
use super::*;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};

const RUNS: [&str; 7] = [
    "coord_uninitialized",
    "coord_waiting_hub",
    "coord_warmup_p2p",
    "coord_train_37",
    "coord_finished",
    "psyche_repo_v1",
    "psyche_repo_v0_consilience",
];
const INSTANCES: [&str; 5] = [
    "coord_uninitialized",
    "coord_waiting_hub",
    "coord_warmup_p2p",
    "coord_train_37",
    "coord_finished",
];

use crate::fixtures::bytes;

fn expected(name: &str) -> Map<String, Value> {
    serde_json::from_value(crate::fixtures::expected(name)).unwrap()
}

fn decode_bytes(raw: &[u8]) -> Result<Run, DecodeError> {
    decode_run(&AccountData::full(raw.to_vec()))
}

fn decode_fixture(name: &str) -> Run {
    decode_bytes(&bytes(name)).unwrap()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Psyche's variant name from our snake_case label.
fn psyche_name(snake: &str) -> String {
    match snake {
        "p2p" => "P2P".into(),
        "p2p_gcs" => "P2PGcs".into(),
        "adamw" => "AdamW".into(),
        _ => snake
            .split('_')
            .map(|word| {
                let mut chars = word.chars();
                chars.next().map_or_else(String::new, |first| {
                    first.to_uppercase().collect::<String>() + chars.as_str()
                })
            })
            .collect(),
    }
}

/// f32 as serde_json prints it (shortest representation), so 0.999f32 == 0.999.
fn f32v(x: f32) -> Value {
    Value::from(x.to_string().parse::<f64>().unwrap())
}

fn opt_f32v(x: Option<f32>) -> Value {
    x.map_or(Value::Null, f32v)
}

fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_u64(), y.as_u64()) {
            (Some(p), Some(q)) => p == q,
            _ => x.as_f64() == y.as_f64(),
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

fn round_json(round: Option<&Round>) -> Value {
    round.map_or(Value::Null, |r| {
        json!({
            "height": r.height,
            "witnesses_len": r.witnesses_len,
            "data_index": r.data_index,
            "clients_len": r.clients_len,
            "random_seed": r.random_seed,
            "tie_breaker_tasks": r.tie_breaker_tasks,
        })
    })
}

fn counts_json(c: &ClientStateCounts) -> Value {
    assert_eq!(c.unknown, 0, "fixtures hold no unknown client state");
    json!({"Healthy": c.healthy, "Dropped": c.dropped, "Withdrawn": c.withdrawn, "Ejected": c.ejected})
}

/// The table from expected.json paths to what [`Run`] exposes.
fn flatten(run: &Run) -> BTreeMap<String, Value> {
    let mut f = BTreeMap::<String, Value>::new();
    let mut put = |key: String, value: Value| {
        f.insert(key, value);
    };
    let s = "state.coordinator.";
    put("layout".into(), run.layout.as_str().into());
    put("data_len".into(), run.layout.account_size().into());
    put(
        "discriminator_hex".into(),
        hex(&COORDINATOR_ACCOUNT_DISCRIMINATOR).into(),
    );
    put(
        "discriminator_bytes".into(),
        json!(COORDINATOR_ACCOUNT_DISCRIMINATOR),
    );
    if let Some(v) = run.version {
        put("version".into(), v.into());
    }
    put("nonce".into(), run.nonce.into());
    put(
        "state.metadata.name".into(),
        run.metadata.name.clone().into(),
    );
    put(
        "state.metadata.description".into(),
        run.metadata.description.clone().into(),
    );
    put(
        "state.metadata.num_parameters".into(),
        run.metadata.num_parameters.into(),
    );
    put(
        "state.metadata.vocab_size".into(),
        run.metadata.vocab_size.into(),
    );
    put(format!("{s}run_id"), run.run_id.clone().into());
    put(
        format!("{s}run_state"),
        psyche_name(run.state.as_str()).into(),
    );
    put(format!("{s}run_state_code"), run.state.code().into());
    put(
        format!("{s}run_state_start_unix_timestamp"),
        run.state_start_timestamp.into(),
    );
    put(format!("{s}pending_pause"), run.pending_pause.into());

    put("derived.halted".into(), run.halted().into());
    put("derived.active".into(), run.active().into());
    put("derived.paused".into(), run.paused().into());
    put(
        "derived.sequence_length".into(),
        run.sequence_length().into(),
    );
    put(
        "derived.target_global_batch_size(current_round)".into(),
        run.target_global_batch_size().into(),
    );
    put(
        "derived.target_global_batch_size(None)".into(),
        run.target_global_batch_size_at(None).into(),
    );
    put(
        "derived.total_tokens_processed(current_round)".into(),
        run.total_tokens_processed().into(),
    );
    put(
        "derived.total_tokens_processed(None)".into(),
        run.total_tokens_processed_at(None).into(),
    );
    put(
        "derived.config.get_batch_size(total_tokens_processed(current_round))".into(),
        run.config.batch_size(run.total_tokens_processed()).into(),
    );
    put(
        "derived.config.get_batch_size(total_tokens_processed(None))".into(),
        run.config
            .batch_size(run.total_tokens_processed_at(None))
            .into(),
    );
    put(
        "derived.cold_start_warmup_bounds".into(),
        run.cold_start_warmup_bounds()
            .map_or(Value::Null, |(a, b)| json!([a, b])),
    );
    put(
        "derived.witness_quorum(current_round.witnesses.len)".into(),
        run.witness_quorum().into(),
    );
    put(
        "derived.lr_schedule.get_lr(progress.step)".into(),
        run.learning_rate().into(),
    );

    put(
        format!("{s}model"),
        match run.model {
            Model::Llm(_) => "LLM",
            Model::Unknown(_) => "Unknown",
        }
        .into(),
    );
    put(format!("{s}model_code"), run.model.code().into());
    if let Model::Llm(llm) = &run.model {
        let m = format!("{s}model.LLM.");
        put(format!("{m}max_seq_len"), llm.max_seq_len.into());
        put(
            format!("{m}cold_start_warmup_steps"),
            llm.cold_start_warmup_steps.into(),
        );
        put(
            format!("{m}architecture"),
            psyche_name(llm.architecture.as_str()).into(),
        );
        put(
            format!("{m}architecture_code"),
            llm.architecture.code().into(),
        );
        let kind = psyche_name(llm.checkpoint.kind_str());
        put(format!("{m}checkpoint"), kind.clone().into());
        put(format!("{m}checkpoint_code"), llm.checkpoint.code().into());
        let cp = format!("{m}checkpoint.{kind}.");
        if let Some(repo) = llm.checkpoint.hub_repo() {
            put(format!("{cp}repo_id"), repo.repo_id.clone().into());
            put(format!("{cp}revision"), repo.revision.clone().into());
            put(
                format!("{cp}revision_tag"),
                u8::from(repo.revision.is_some()).into(),
            );
        }
        if let Some(repo) = llm.checkpoint.gcs_repo() {
            put(format!("{cp}bucket"), repo.bucket.clone().into());
            put(format!("{cp}prefix"), repo.prefix.clone().into());
            put(
                format!("{cp}prefix_tag"),
                u8::from(repo.prefix.is_some()).into(),
            );
        }
        put(
            format!("{m}data_type"),
            psyche_name(llm.data_type.as_str()).into(),
        );
        put(format!("{m}data_type_code"), llm.data_type.code().into());
        let dl_name = psyche_name(llm.data_location.as_str());
        put(format!("{m}data_location"), dl_name.clone().into());
        put(
            format!("{m}data_location_code"),
            llm.data_location.code().into(),
        );
        let dl = format!("{m}data_location.");
        match &llm.data_location {
            DataLocation::Server(v)
            | DataLocation::Local(v)
            | DataLocation::WeightedHttp(v)
            | DataLocation::Preprocessed(v) => {
                put(format!("{dl}{dl_name}"), v.clone().into());
            }
            DataLocation::Http(http) => {
                let h = format!("{dl}Http.");
                let loc = psyche_name(http.location.as_str());
                put(format!("{h}location"), loc.clone().into());
                put(format!("{h}location_code"), http.location.code().into());
                let l = format!("{h}location.{loc}");
                match &http.location {
                    HttpLocation::SingleUrl(url) => put(l, url.clone().into()),
                    HttpLocation::NumberedFiles {
                        url_template,
                        start_index,
                        n_left_pad_zeros,
                        num_files,
                    } => {
                        put(format!("{l}.url_template"), url_template.clone().into());
                        put(format!("{l}.start_index"), (*start_index).into());
                        put(format!("{l}.n_left_pad_zeros"), (*n_left_pad_zeros).into());
                        put(format!("{l}.num_files"), (*num_files).into());
                    }
                    HttpLocation::Gcp {
                        bucket_name,
                        filter_directory,
                    } => {
                        put(format!("{l}.bucket_name"), bucket_name.clone().into());
                        put(
                            format!("{l}.filter_directory"),
                            filter_directory.clone().into(),
                        );
                    }
                    HttpLocation::Unknown(_) => {}
                }
                put(
                    format!("{h}token_size_in_bytes"),
                    psyche_name(http.token_size_in_bytes.as_str()).into(),
                );
                put(
                    format!("{h}token_size_in_bytes_code"),
                    http.token_size_in_bytes.code().into(),
                );
                put(
                    format!("{h}shuffle"),
                    psyche_name(http.shuffle.as_str()).into(),
                );
                put(format!("{h}shuffle_code"), http.shuffle.code().into());
                if let Shuffle::Seeded(seed) = http.shuffle {
                    put(format!("{h}shuffle.Seeded"), hex(&seed).into());
                }
            }
            DataLocation::Dummy | DataLocation::Unknown(_) => {}
        }
        let lr_name = psyche_name(llm.lr_schedule.as_str());
        put(format!("{m}lr_schedule"), lr_name.clone().into());
        put(
            format!("{m}lr_schedule_code"),
            llm.lr_schedule.code().into(),
        );
        let lr = format!("{m}lr_schedule.{lr_name}");
        let serde = match llm.lr_schedule {
            LrSchedule::Constant {
                base_lr,
                warmup_init_lr,
                warmup_steps,
            } => Some(json!({
                "base_lr": base_lr, "warmup_init_lr": warmup_init_lr, "warmup_steps": warmup_steps,
            })),
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
            } => Some(json!({
                "base_lr": base_lr, "warmup_init_lr": warmup_init_lr, "final_lr": final_lr,
                "warmup_steps": warmup_steps, "total_steps": total_steps,
            })),
            LrSchedule::WarmupStableDecay {
                base_lr,
                warmup_init_lr,
                cosine_decay_final_lr,
                linear_decay_final_lr,
                warmup_steps,
                stable_steps,
                cosine_decay_steps,
                linear_decay_steps,
            } => Some(json!({
                "base_lr": base_lr, "warmup_init_lr": warmup_init_lr,
                "cosine_decay_final_lr": cosine_decay_final_lr,
                "linear_decay_final_lr": linear_decay_final_lr,
                "warmup_steps": warmup_steps, "stable_steps": stable_steps,
                "cosine_decay_steps": cosine_decay_steps, "linear_decay_steps": linear_decay_steps,
            })),
            LrSchedule::Unknown(_) => None,
        };
        if let Some(serde) = serde {
            put(format!("{lr}.base_lr"), serde["base_lr"].clone());
            put(
                format!("{lr}.warmup_init_lr"),
                serde["warmup_init_lr"].clone(),
            );
            put(format!("{lr}(serde)"), serde);
        }
        let opt_name = psyche_name(llm.optimizer.as_str());
        put(format!("{m}optimizer"), opt_name.clone().into());
        put(format!("{m}optimizer_code"), llm.optimizer.code().into());
        let opt = format!("{m}optimizer.{opt_name}.");
        match llm.optimizer {
            Optimizer::AdamW {
                betas,
                weight_decay,
                eps,
                clip_grad_norm,
            } => {
                put(
                    format!("{opt}betas"),
                    Value::Array(betas.iter().map(|&b| f32v(b)).collect()),
                );
                put(format!("{opt}weight_decay"), f32v(weight_decay));
                put(format!("{opt}eps"), f32v(eps));
                put(format!("{opt}clip_grad_norm"), opt_f32v(clip_grad_norm));
            }
            Optimizer::Distro {
                clip_grad_norm,
                weight_decay,
                compression_decay,
                compression_topk,
                compression_chunk,
                quantize_1bit,
            } => {
                put(format!("{opt}clip_grad_norm"), opt_f32v(clip_grad_norm));
                put(format!("{opt}weight_decay"), opt_f32v(weight_decay));
                put(format!("{opt}compression_decay"), f32v(compression_decay));
                put(format!("{opt}compression_topk"), compression_topk.into());
                put(format!("{opt}compression_chunk"), compression_chunk.into());
                put(format!("{opt}quantize_1bit"), quantize_1bit.into());
            }
            Optimizer::Dummy | Optimizer::Unknown(_) => {}
        }
    }

    let c = &run.config;
    let cf = format!("{s}config.");
    put(format!("{cf}warmup_time"), c.warmup_time.into());
    put(format!("{cf}cooldown_time"), c.cooldown_time.into());
    put(
        format!("{cf}max_round_train_time"),
        c.max_round_train_time.into(),
    );
    put(
        format!("{cf}round_witness_time"),
        c.round_witness_time.into(),
    );
    put(
        format!("{cf}global_batch_size_warmup_tokens"),
        c.global_batch_size_warmup_tokens.into(),
    );
    if let Some(v) = c.epoch_time {
        put(format!("{cf}epoch_time"), v.into());
    }
    if let Some(v) = c.rounds_per_epoch {
        put(format!("{cf}rounds_per_epoch"), v.into());
    }
    put(format!("{cf}total_steps"), c.total_steps.into());
    put(format!("{cf}init_min_clients"), c.init_min_clients.into());
    put(format!("{cf}min_clients"), c.min_clients.into());
    put(format!("{cf}witness_nodes"), c.witness_nodes.into());
    put(
        format!("{cf}global_batch_size_start"),
        c.global_batch_size_start.into(),
    );
    put(
        format!("{cf}global_batch_size_end"),
        c.global_batch_size_end.into(),
    );
    put(
        format!("{cf}verification_percent"),
        c.verification_percent.into(),
    );
    if let Some(v) = c.waiting_for_members_extra_time {
        put(format!("{cf}waiting_for_members_extra_time"), v.into());
    }

    put(format!("{s}progress.epoch"), run.progress.epoch.into());
    put(format!("{s}progress.step"), run.progress.step.into());
    put(
        format!("{s}progress.epoch_start_data_index"),
        run.progress.epoch_start_data_index.into(),
    );

    let e = &run.epoch;
    let es = format!("{s}epoch_state.");
    put(format!("{es}rounds_head"), e.rounds_head.into());
    put(format!("{es}start_step"), e.start_step.into());
    if let Some(v) = e.last_step {
        put(format!("{es}last_step"), v.into());
    }
    if let Some(v) = e.start_timestamp {
        put(format!("{es}start_timestamp"), v.into());
    }
    put(format!("{es}first_round"), e.first_round.into());
    put(format!("{es}cold_start_epoch"), e.cold_start_epoch.into());
    if let Some(v) = e.checkpointed {
        put(format!("{es}checkpointed"), v.into());
    }
    put(format!("{es}clients.len"), run.lists.epoch_clients.into());
    put(
        format!("{es}exited_clients.len"),
        run.lists.exited_clients.into(),
    );
    put(
        "state.clients_state.clients.len".into(),
        run.lists.registered_clients.into(),
    );
    for (i, round) in run.rounds.iter().enumerate() {
        let r = format!("{es}rounds[{i}].");
        put(format!("{r}witnesses.len"), round.witnesses_len.into());
        put(format!("{r}data_index"), round.data_index.into());
        put(format!("{r}random_seed"), round.random_seed.into());
        put(format!("{r}height"), round.height.into());
        put(format!("{r}clients_len"), round.clients_len.into());
        put(
            format!("{r}tie_breaker_tasks"),
            round.tie_breaker_tasks.into(),
        );
    }
    if let Some(current) = run.current_round() {
        for (key, value) in round_json(Some(current)).as_object().unwrap() {
            put(format!("derived.current_round.{key}"), value.clone());
        }
    }
    put(
        "derived.current_round_index".into(),
        run.epoch.rounds_head.into(),
    );
    put(
        "derived.previous_round".into(),
        round_json(run.previous_round()),
    );
    put(
        "derived.previous_previous_round".into(),
        round_json(run.previous_previous_round()),
    );

    let cs = &run.clients_state;
    put(
        "state.clients_state.next_active".into(),
        cs.next_active.into(),
    );
    for (name, rates) in [
        ("current_epoch_rates", cs.current_epoch_rates),
        ("future_epoch_rates", cs.future_epoch_rates),
    ] {
        put(
            format!("state.clients_state.{name}.earning_rate_total_shared"),
            rates.earning_rate_total_shared.into(),
        );
        put(
            format!("state.clients_state.{name}.slashing_rate_per_client"),
            rates.slashing_rate_per_client.into(),
        );
    }
    put(
        "state.is_warmup_first_tick".into(),
        run.is_warmup_first_tick.into(),
    );
    put(
        "state.is_training_first_tick".into(),
        run.is_training_first_tick.into(),
    );
    if let Some(v) = &run.client_version {
        put("state.client_version".into(), v.clone().into());
    }

    if let Some(d) = &run.detail {
        for (list, clients) in [
            ("clients", &d.epoch_clients),
            ("exited_clients", &d.exited_clients),
        ] {
            for (k, client) in clients.iter().enumerate() {
                let p = format!("{es}{list}[{k}].");
                put(format!("{p}id.signer"), bs58(&client.signer).into());
                put(
                    format!("{p}id.p2p_identity"),
                    bs58(&client.p2p_identity).into(),
                );
                put(
                    format!("{p}state"),
                    psyche_name(client.state.as_str()).into(),
                );
                put(format!("{p}state_code"), client.state.code().into());
                put(format!("{p}exited_height"), client.exited_height.into());
            }
        }
        for (k, client) in d.registered_clients.iter().enumerate() {
            let p = format!("state.clients_state.clients[{k}].");
            put(format!("{p}id.signer"), bs58(&client.signer).into());
            put(
                format!("{p}id.p2p_identity"),
                bs58(&client.p2p_identity).into(),
            );
            put(format!("{p}earned"), client.earned.into());
            put(format!("{p}slashed"), client.slashed.into());
            put(format!("{p}active"), client.active.into());
        }
        put(
            "derived.epoch_clients_healthy".into(),
            d.epoch_clients_by_state.healthy.into(),
        );
        put(
            "derived.epoch_clients_by_state".into(),
            counts_json(&d.epoch_clients_by_state),
        );
        put(
            "derived.exited_clients_by_state".into(),
            counts_json(&d.exited_clients_by_state),
        );
        put(
            "derived.clients_state.active_for_next_epoch".into(),
            d.pending_clients.into(),
        );
        put(
            "derived.clients_state.pending_count".into(),
            d.pending_clients.into(),
        );
        put(
            "derived.clients_state.earned_sum".into(),
            d.earned_sum.into(),
        );
        put(
            "derived.clients_state.slashed_sum".into(),
            d.slashed_sum.into(),
        );
    }
    f
}

/// `rounds[3].witnesses[12].proof.index` -> `rounds[i].witnesses[i].proof.index`.
fn normalize(key: &str) -> String {
    let mut out = String::new();
    let mut in_index = false;
    for ch in key.chars() {
        match ch {
            '[' => {
                in_index = true;
                out.push_str("[i");
            }
            ']' => {
                in_index = false;
                out.push(']');
            }
            _ if in_index => {}
            _ => out.push(ch),
        }
    }
    out
}

/// expected.json keys deliberately not compared, with the reason.
fn unchecked(key: &str) -> Option<&'static str> {
    const PROVENANCE: [&str; 16] = [
        "account_type",
        "description",
        "owner_program_id",
        "owner_program_id_note",
        "account_address",
        "offsets_note",
        "padding_or_unused_bytes_forced_to_zero",
        "coordinator_instance_address",
        "coordinator_instance_address_note",
        "data_sha256",
        "layout_note",
        "psyche_commit",
        "source_added_in_commit",
        "source_blob",
        "source_commit",
        "source_path_in_psyche_repo",
    ];
    const TYPE_NAMES: [&str; 5] = [
        "state.coordinator.epoch_state.clients",
        "state.coordinator.epoch_state.exited_clients",
        "state.coordinator.epoch_state.rounds",
        "state.coordinator.epoch_state.rounds[i].witnesses",
        "state.clients_state.clients",
    ];
    match key {
        k if PROVENANCE.contains(&k) => {
            Some("fixture provenance or RPC metadata, not account data")
        }
        "offsets" => Some("checked by offsets_match_fixture_offsets"),
        k if TYPE_NAMES.contains(&k) => Some("value is a Rust type name, not data"),
        k if k.starts_with("state.coordinator.epoch_state.rounds[i].witnesses[i].") => {
            Some("witness entries are not decoded; only witnesses.len")
        }
        "derived.config.check()"
        | "derived.is_warmup_just_starting"
        | "derived.is_training_just_starting" => Some("program-internal predicate, not exposed"),
        "derived.clients_state.pending_count_method" => Some("prose"),
        "derived.check.round_data_index_progression" => {
            Some("prose; the property is checked by v0_rounds_follow_the_batch_size_ramp")
        }
        _ => None,
    }
}

/// Compares every expected.json key with the flattened run; returns the number checked.
fn check_against_expected(name: &str, run: &Run) -> (usize, BTreeSet<String>) {
    let flat = flatten(run);
    let mut checked = 0;
    let mut skipped = BTreeSet::new();
    let mut unmapped = Vec::new();
    for (key, want) in expected(name) {
        if let Some(got) = flat.get(&key) {
            assert!(same(got, &want), "{name}: {key}: got {got}, want {want}");
            checked += 1;
        } else if let Some(reason) = unchecked(&normalize(&key)) {
            skipped.insert(format!("{} ({reason})", normalize(&key)));
        } else {
            unmapped.push(key);
        }
    }
    assert!(unmapped.is_empty(), "{name}: unmapped keys {unmapped:?}");
    (checked, skipped)
}

#[test]
fn every_expected_field_matches() {
    let mut all_skipped = BTreeSet::new();
    for name in RUNS {
        let run = decode_fixture(name);
        assert!(run.detail.is_some(), "{name}: full data gives detail");
        let (checked, skipped) = check_against_expected(name, &run);
        assert!(checked >= 90, "{name}: only {checked} keys checked");
        eprintln!("{name}: {checked} keys checked");
        all_skipped.extend(skipped);
    }
    eprintln!("unchecked keys:");
    for key in all_skipped {
        eprintln!("  {key}");
    }
}

#[test]
fn real_dumps_decode_to_the_documented_runs() {
    let v0 = decode_fixture("psyche_repo_v0_consilience");
    assert_eq!(v0.layout, Layout::V0);
    assert_eq!(v0.version, None);
    assert_eq!(v0.run_id, "consilience-40b-1");
    assert_eq!(v0.metadata.name, "Nous-Consilience-40B");
    assert_eq!((v0.progress.epoch, v0.progress.step), (97, 11265));
    assert_eq!(v0.lists.epoch_clients, 63);
    assert_eq!(v0.state, RunState::RoundTrain);
    let llm = v0.model.llm().unwrap();
    assert_eq!(
        llm.checkpoint,
        Checkpoint::P2P(HubRepo {
            repo_id: "PsycheFoundation/consilience-40b-7Y9v38s5".into(),
            revision: Some("98cf7b01fb5a1367916e2d9c06984098ff1f0cc5".into()),
        })
    );
    assert_eq!(llm.checkpoint.kind_str(), "p2p");
    assert_eq!(llm.architecture.as_str(), "hf_deepseek");

    let v1 = decode_fixture("psyche_repo_v1");
    assert_eq!((v1.layout, v1.version, v1.nonce), (Layout::V1, Some(1), 2));
    assert_eq!(v1.run_id, "test");
    assert_eq!(
        v1.clients_state
            .future_epoch_rates
            .earning_rate_total_shared,
        1_000_000
    );
    let llm = v1.model.llm().unwrap();
    assert_eq!(llm.checkpoint.kind_str(), "hub");
    assert_eq!(
        llm.checkpoint.hub_repo().unwrap().repo_id,
        "emozilla/llama2-1.1b-gqa-init"
    );
    assert_eq!(
        llm.lr_schedule,
        LrSchedule::Cosine {
            base_lr: 0.0004,
            warmup_init_lr: 0.0,
            final_lr: 0.00004,
            warmup_steps: 250,
            total_steps: 25000,
        }
    );
}

fn offsets_of(layout: Layout) -> BTreeMap<String, usize> {
    let o = layout.offsets();
    let s = "state.coordinator.";
    let mut map = BTreeMap::new();
    let mut put = |k: String, v: usize| {
        map.insert(k, v);
    };
    if let Some(v) = o.version {
        put("version".into(), v);
    }
    put("nonce".into(), o.nonce);
    put("state.metadata.name".into(), o.name);
    put("state.metadata.description".into(), o.description);
    put("state.metadata.num_parameters".into(), o.num_parameters);
    put("state.metadata.vocab_size".into(), o.vocab_size);
    put(format!("{s}run_id"), o.run_id);
    put(format!("{s}run_state"), o.run_state);
    put(format!("{s}run_state_code"), o.run_state);
    put(
        format!("{s}run_state_start_unix_timestamp"),
        o.run_state_start,
    );
    put(format!("{s}pending_pause"), o.pending_pause);
    put(format!("{s}model"), o.model);
    put(format!("{s}model_code"), o.model);
    let m = format!("{s}model.LLM.");
    let l = o.model + 8;
    put(format!("{m}max_seq_len"), l + LLM_MAX_SEQ_LEN);
    put(format!("{m}cold_start_warmup_steps"), l + LLM_COLD_START);
    put(format!("{m}architecture"), l + LLM_ARCHITECTURE);
    put(format!("{m}architecture_code"), l + LLM_ARCHITECTURE);
    let cp = l + LLM_CHECKPOINT;
    put(format!("{m}checkpoint"), cp);
    put(format!("{m}checkpoint_code"), cp);
    for v in ["Dummy", "Hub", "P2P"] {
        put(format!("{m}checkpoint.{v}.revision"), cp + 4);
        put(format!("{m}checkpoint.{v}.revision_tag"), cp + 4);
        put(format!("{m}checkpoint.{v}.repo_id"), cp + 69);
    }
    for v in ["Gcs", "P2PGcs"] {
        put(format!("{m}checkpoint.{v}.prefix"), cp + 4);
        put(format!("{m}checkpoint.{v}.prefix_tag"), cp + 4);
        put(format!("{m}checkpoint.{v}.bucket"), cp + 69);
    }
    put(format!("{m}data_type"), l + LLM_DATA_TYPE);
    put(format!("{m}data_type_code"), l + LLM_DATA_TYPE);
    let dl = l + LLM_DATA_LOCATION;
    put(format!("{m}data_location"), dl);
    put(format!("{m}data_location_code"), dl);
    for v in ["Server", "Local", "WeightedHttp", "Preprocessed"] {
        put(format!("{m}data_location.{v}"), dl + 4);
    }
    let h = format!("{m}data_location.Http.");
    put(format!("{h}location"), dl + 4);
    put(format!("{h}location_code"), dl + 4);
    put(format!("{h}location.SingleUrl"), dl + 8);
    put(format!("{h}location.NumberedFiles.url_template"), dl + 8);
    put(format!("{h}location.NumberedFiles.start_index"), dl + 72);
    put(
        format!("{h}location.NumberedFiles.n_left_pad_zeros"),
        dl + 76,
    );
    put(format!("{h}location.NumberedFiles.num_files"), dl + 80);
    put(format!("{h}location.Gcp.bucket_name"), dl + 8);
    put(format!("{h}location.Gcp.filter_directory"), dl + 72);
    put(format!("{h}token_size_in_bytes"), dl + 264);
    put(format!("{h}token_size_in_bytes_code"), dl + 264);
    put(format!("{h}shuffle"), dl + 268);
    put(format!("{h}shuffle_code"), dl + 268);
    put(format!("{h}shuffle.Seeded"), dl + 272);
    let lr = l + LLM_LR_SCHEDULE;
    put(format!("{m}lr_schedule"), lr);
    put(format!("{m}lr_schedule_code"), lr);
    for v in ["Constant", "Linear", "Cosine", "WarmupStableDecay"] {
        put(format!("{m}lr_schedule.{v}.base_lr"), lr + 8);
        put(format!("{m}lr_schedule.{v}.warmup_init_lr"), lr + 16);
    }
    let opt = l + LLM_OPTIMIZER;
    put(format!("{m}optimizer"), opt);
    put(format!("{m}optimizer_code"), opt);
    let a = format!("{m}optimizer.AdamW.");
    put(format!("{a}betas"), opt + 4);
    put(format!("{a}weight_decay"), opt + 12);
    put(format!("{a}eps"), opt + 16);
    put(format!("{a}clip_grad_norm"), opt + 20);
    let d = format!("{m}optimizer.Distro.");
    put(format!("{d}clip_grad_norm"), opt + 4);
    put(format!("{d}weight_decay"), opt + 12);
    put(format!("{d}compression_decay"), opt + 20);
    put(format!("{d}compression_topk"), opt + 24);
    put(format!("{d}compression_chunk"), opt + 26);
    put(format!("{d}quantize_1bit"), opt + 28);
    let cf = format!("{s}config.");
    for (i, k) in [
        "warmup_time",
        "cooldown_time",
        "max_round_train_time",
        "round_witness_time",
        "global_batch_size_warmup_tokens",
    ]
    .iter()
    .enumerate()
    {
        put(format!("{cf}{k}"), o.config + 8 * i);
    }
    if let Some(v) = o.epoch_time {
        put(format!("{cf}epoch_time"), v);
    }
    if let Some(v) = o.rounds_per_epoch {
        put(format!("{cf}rounds_per_epoch"), v);
    }
    if let Some(v) = o.waiting_for_members_extra_time {
        put(format!("{cf}waiting_for_members_extra_time"), v);
    }
    for (k, off) in [
        ("total_steps", 0),
        ("init_min_clients", 4),
        ("min_clients", 6),
        ("witness_nodes", 8),
        ("global_batch_size_start", 10),
        ("global_batch_size_end", 12),
        ("verification_percent", 14),
    ] {
        put(format!("{cf}{k}"), o.total_steps + off);
    }
    put(format!("{s}progress.epoch"), o.progress);
    put(format!("{s}progress.step"), o.progress + 4);
    put(
        format!("{s}progress.epoch_start_data_index"),
        o.progress + 8,
    );
    let es = format!("{s}epoch_state.");
    put(format!("{es}rounds"), o.rounds);
    put(format!("{es}rounds_head"), o.rounds_head);
    put(format!("{es}start_step"), o.rounds_head + 4);
    if let Some(v) = o.last_step {
        put(format!("{es}last_step"), v);
    }
    if let Some(v) = o.epoch_start_timestamp {
        put(format!("{es}start_timestamp"), v);
    }
    put(format!("{es}first_round"), o.first_round);
    if let Some(v) = o.checkpointed {
        put(format!("{es}checkpointed"), v);
    }
    put(format!("{es}cold_start_epoch"), o.cold_start_epoch);
    put(format!("{es}clients"), o.epoch_clients);
    put(format!("{es}clients.len"), o.epoch_clients_len());
    put(format!("{es}exited_clients"), o.exited_clients);
    put(format!("{es}exited_clients.len"), o.exited_clients_len());
    for i in 0..NUM_STORED_ROUNDS {
        let r = format!("{es}rounds[{i}].");
        let t = o.round_tail(i);
        put(format!("{r}witnesses"), t - ROUND_TAIL);
        put(format!("{r}witnesses.len"), t);
        put(format!("{r}data_index"), t + 8);
        put(format!("{r}random_seed"), t + 16);
        put(format!("{r}height"), t + 24);
        put(format!("{r}clients_len"), t + 28);
        put(format!("{r}tie_breaker_tasks"), t + 30);
    }
    for k in 0..MAX_CLIENTS {
        for (list, base) in [
            ("clients", o.epoch_clients),
            ("exited_clients", o.exited_clients),
        ] {
            let p = format!("{es}{list}[{k}].");
            let at = base + k * EPOCH_CLIENT_SIZE;
            put(format!("{p}id.signer"), at);
            put(format!("{p}id.p2p_identity"), at + 32);
            put(format!("{p}state"), at + 64);
            put(format!("{p}state_code"), at + 64);
            put(format!("{p}exited_height"), at + 68);
        }
        let p = format!("state.clients_state.clients[{k}].");
        let at = o.registered_clients + k * REGISTERED_CLIENT_SIZE;
        put(format!("{p}id.signer"), at);
        put(format!("{p}id.p2p_identity"), at + 32);
        put(format!("{p}earned"), at + 72);
        put(format!("{p}slashed"), at + 80);
        put(format!("{p}active"), at + 88);
    }
    put("state.clients_state.clients".into(), o.registered_clients);
    put(
        "state.clients_state.clients.len".into(),
        o.registered_clients_len(),
    );
    put("state.clients_state.next_active".into(), o.next_active());
    let c = o.current_epoch_rates();
    let f = o.future_epoch_rates();
    put(
        "state.clients_state.current_epoch_rates.earning_rate_total_shared".into(),
        c,
    );
    put(
        "state.clients_state.current_epoch_rates.slashing_rate_per_client".into(),
        c + 8,
    );
    put(
        "state.clients_state.future_epoch_rates.earning_rate_total_shared".into(),
        f,
    );
    put(
        "state.clients_state.future_epoch_rates.slashing_rate_per_client".into(),
        f + 8,
    );
    put("state.is_warmup_first_tick".into(), o.is_warmup_first_tick);
    put(
        "state.is_training_first_tick".into(),
        o.is_warmup_first_tick + 1,
    );
    if let Some(v) = o.client_version {
        put("state.client_version".into(), v);
    }
    map
}

#[test]
fn offsets_match_fixture_offsets() {
    for name in RUNS {
        let run = decode_fixture(name);
        let mine = offsets_of(run.layout);
        let want = expected(name);
        let Value::Object(offsets) = &want["offsets"] else {
            panic!("{name}: no offsets")
        };
        let mut matched = 0;
        let mut unknown = BTreeSet::new();
        for (key, off) in offsets {
            match mine.get(key) {
                Some(&got) => {
                    assert_eq!(Some(got as u64), off.as_u64(), "{name}: offset of {key}");
                    matched += 1;
                }
                None => {
                    unknown.insert(normalize(key));
                }
            }
        }
        // Whatever is left is witness entries and derived keys, which have no offset we use.
        assert!(
            unknown.iter().all(|k| k.contains("witnesses[i].")),
            "{name}: offsets not cross-checked: {unknown:?}"
        );
        assert!(matched >= 90, "{name}: only {matched} offsets matched");
    }
}

#[test]
fn state_windows_fit_the_budget() {
    for layout in [Layout::V0, Layout::V1] {
        let windows = layout.state_windows();
        let total: usize = windows.iter().map(|w| w.len).sum();
        eprintln!(
            "{}: {} state windows, {total} bytes: {windows:?}",
            layout.as_str(),
            windows.len()
        );
        assert!(total <= 4096);
        assert!(windows.len() <= 8);
        assert!(windows.windows(2).all(|p| p[0].end() <= p[1].offset));
        assert!(
            windows
                .iter()
                .all(|w| w.len > 0 && w.end() <= layout.account_size())
        );
        let full = ListLengths {
            epoch_clients: 10_000,
            exited_clients: 256,
            registered_clients: usize::MAX,
        };
        let detail = layout.detail_windows(&full);
        assert_eq!(
            detail.iter().map(|w| w.len).collect::<Vec<_>>(),
            vec![256 * 72, 256 * 72, 256 * 96]
        );
        assert!(detail.iter().all(|w| w.end() <= layout.account_size()));
        assert!(layout.detail_windows(&ListLengths::default()).is_empty());
    }
}

#[test]
fn state_windows_decode_like_the_full_account() {
    for name in RUNS {
        let raw = bytes(name);
        let full = decode_fixture(name);
        let layout = full.layout;
        let state_only = decode_run(&AccountData::sliced(&raw, layout.state_windows())).unwrap();
        if full.lists == ListLengths::default() {
            // Nothing to fetch, so the (empty) detail is exact without detail windows.
            assert_eq!(state_only, full, "{name}");
            assert_eq!(state_only.detail, Some(RunDetail::default()));
        } else {
            assert_eq!(state_only.detail, None, "{name}");
            assert_eq!(
                state_only,
                Run {
                    detail: None,
                    ..full.clone()
                },
                "{name}"
            );
        }

        let mut data = AccountData::sliced(&raw, layout.state_windows());
        let detail = layout.detail_windows(&state_only.lists);
        data.extend(detail.iter().map(|w| (w.offset, w.slice(&raw).to_vec())));
        assert_eq!(decode_run(&data).unwrap(), full, "{name}");

        // Dropping any detail window drops the whole detail, never part of it.
        for skip in 0..detail.len() {
            let mut data = AccountData::sliced(&raw, layout.state_windows());
            data.extend(
                detail
                    .iter()
                    .enumerate()
                    .filter(|&(i, _)| i != skip)
                    .map(|(_, w)| (w.offset, w.slice(&raw).to_vec())),
            );
            assert_eq!(decode_run(&data).unwrap().detail, None, "{name}");
        }

        // Every state window is needed.
        for skip in 0..layout.state_windows().len() {
            let windows: Vec<Window> = layout
                .state_windows()
                .iter()
                .enumerate()
                .filter(|&(i, _)| i != skip)
                .map(|(_, w)| *w)
                .collect();
            let err = decode_run(&AccountData::sliced(&raw, &windows)).unwrap_err();
            assert!(matches!(err, DecodeError::Missing { .. }), "{name}: {err}");
        }
    }
}

#[test]
fn detail_counts_follow_the_spec() {
    let run = decode_fixture("coord_train_37");
    let d = run.detail.unwrap();
    assert_eq!(d.epoch_clients.len(), 37);
    assert_eq!(d.exited_clients.len(), 2);
    assert_eq!(d.registered_clients.len(), 41);
    let by_state = d.epoch_clients_by_state;
    assert_eq!(
        by_state.healthy + by_state.dropped + by_state.withdrawn + by_state.ejected,
        37
    );
    assert_eq!(by_state.get(ClientState::Healthy), 31);
    assert_eq!(d.exited_clients_by_state.ejected, 1);
    assert_eq!(d.exited_clients_by_state.withdrawn, 1);
    let pending = d
        .registered_clients
        .iter()
        .filter(|c| c.active == run.clients_state.next_active)
        .count() as u64;
    assert_eq!(d.pending_clients, pending);
    assert_eq!(
        d.earned_sum,
        d.registered_clients.iter().map(|c| c.earned).sum::<u64>()
    );
}

#[test]
fn derived_values() {
    let train = decode_fixture("coord_train_37");
    assert_eq!(train.phase_timeout(), Some(150));
    assert_eq!(train.phase_deadline(), Some(1_761_234_567 + 150));
    assert_eq!(train.progress_ratio(), 654_320.0 / 1_000_000.0);
    assert_eq!(train.tokens_per_step(), 4096 * 8192);
    assert_eq!(train.witness_quorum(), Some(10)); // floor(16 * 2/3)
    assert_eq!(train.tokens_trained(), 1_987_708_192 * 8192);

    let warmup = decode_fixture("coord_warmup_p2p");
    assert_eq!(warmup.phase_deadline(), Some(1_750_000_123 + 600));
    assert_eq!(warmup.cold_start_warmup_bounds(), Some((413, 413)));
    assert_eq!(warmup.witness_quorum(), Some(1));

    let waiting = decode_fixture("coord_waiting_hub");
    assert_eq!(waiting.phase_timeout(), None);
    assert_eq!(waiting.phase_deadline(), None);
    // The current round is zeroed; the epoch start still counts as trained.
    assert_eq!(waiting.total_tokens_processed(), 0);
    assert_eq!(waiting.tokens_trained(), 37_748_736 * 2048);

    let finished = decode_fixture("coord_finished");
    assert!(finished.halted() && finished.finished() && !finished.active());
    assert_eq!(finished.progress_ratio(), 9999.0 / 10000.0);

    let fresh = decode_fixture("coord_uninitialized");
    assert_eq!(fresh.progress_ratio(), 0.0);
    assert_eq!(fresh.tokens_total(), 0);
    assert_eq!(fresh.completed_steps(), 0);

    let v1 = decode_fixture("psyche_repo_v1");
    assert_eq!(v1.tokens_total(), 25_000 * 2048 * 2048);

    let v0 = decode_fixture("psyche_repo_v0_consilience");
    assert_eq!(v0.witness_quorum(), None); // witness_nodes 0 and no witness yet
    assert_eq!(v0.tokens_per_step(), 29_019 * 2048);
    assert_eq!(RunState::ALL.map(RunState::code), [0, 1, 2, 3, 4, 5, 6, 7]);
    assert_eq!(
        RunState::ALL.map(RunState::as_str),
        [
            "uninitialized",
            "waiting_for_members",
            "warmup",
            "round_train",
            "round_witness",
            "cooldown",
            "finished",
            "paused"
        ]
    );
}

/// `schedule.lr_at(step)` for each `(step, want)`, compared bit for bit (`want` = `None`
/// for no learning rate).
fn assert_lr(schedule: LrSchedule, cases: &[(u32, Option<f64>)]) {
    for &(step, want) in cases {
        let got = schedule.lr_at(step);
        assert_eq!(
            got.map(f64::to_bits),
            want.map(f64::to_bits),
            "{schedule:?} at step {step}: got {got:?}, want {want:?}"
        );
    }
}

/// `got` is within `rel` of `want`, relatively.
fn assert_close(got: Option<f64>, want: f64, rel: f64) {
    let got = got.unwrap_or(f64::NAN);
    assert!(
        (got - want).abs() <= rel * want.abs(),
        "got {got:e}, want {want:e}"
    );
}

/// A WarmupStableDecay from `[base_lr, warmup_init_lr, cosine_decay_final_lr,
/// linear_decay_final_lr]` and `[warmup_steps, stable_steps, cosine_decay_steps,
/// linear_decay_steps]`.
fn wsd(lrs: [f64; 4], steps: [u32; 4]) -> LrSchedule {
    let [
        base_lr,
        warmup_init_lr,
        cosine_decay_final_lr,
        linear_decay_final_lr,
    ] = lrs;
    let [
        warmup_steps,
        stable_steps,
        cosine_decay_steps,
        linear_decay_steps,
    ] = steps;
    LrSchedule::WarmupStableDecay {
        base_lr,
        warmup_init_lr,
        cosine_decay_final_lr,
        linear_decay_final_lr,
        warmup_steps,
        stable_steps,
        cosine_decay_steps,
        linear_decay_steps,
    }
}

// The expected values below are worked out by hand from Psyche's formulas
// (`shared/core/src/definitions.rs`). Dyadic parameters keep every operation exact,
// so those compare bit for bit; irrational cosines are checked against their closed
// form within a few ulps.

#[test]
fn lr_constant() {
    let s = LrSchedule::Constant {
        base_lr: 0.5,
        warmup_init_lr: 0.25,
        warmup_steps: 4,
    };
    assert_lr(
        s,
        &[
            (0, Some(0.25)),   // warmup_init_lr
            (1, Some(0.3125)), // 0.25 + 0.25 * 1/4
            (3, Some(0.4375)), // 0.25 + 0.25 * 3/4
            (4, Some(0.5)),    // warmup end: base_lr
            (1000, Some(0.5)),
            (u32::MAX, Some(0.5)),
        ],
    );
    // No warmup: base_lr from step 0 (Psyche's own edge case); no division by 0.
    let s = LrSchedule::Constant {
        base_lr: 0.5,
        warmup_init_lr: 0.25,
        warmup_steps: 0,
    };
    assert_lr(s, &[(0, Some(0.5)), (7, Some(0.5))]);
}

#[test]
fn lr_linear() {
    let s = LrSchedule::Linear {
        base_lr: 1.0,
        warmup_init_lr: 0.0,
        final_lr: 0.25,
        warmup_steps: 4,
        total_steps: 12,
    };
    assert_lr(
        s,
        &[
            (0, Some(0.0)),
            (2, Some(0.5)),      // inside warmup: 0 + 1 * 2/4
            (4, Some(1.0)),      // warmup end: base_lr
            (8, Some(0.625)),    // 1 - 0.75 * 4/8
            (11, Some(0.34375)), // 1 - 0.75 * 7/8
            (12, Some(0.25)),    // total_steps: final_lr
            (100, Some(0.25)),   // after: final_lr
        ],
    );
    // Warmup longer than the schedule: the warmup ramp, then final_lr; never a
    // negative span.
    let s = LrSchedule::Linear {
        base_lr: 1.0,
        warmup_init_lr: 0.0,
        final_lr: 0.25,
        warmup_steps: 8,
        total_steps: 4,
    };
    assert_lr(s, &[(4, Some(0.5)), (8, Some(0.25)), (9, Some(0.25))]);
    // Zero-length schedule: final_lr from step 0.
    let s = LrSchedule::Linear {
        base_lr: 1.0,
        warmup_init_lr: 0.0,
        final_lr: 0.25,
        warmup_steps: 0,
        total_steps: 0,
    };
    assert_lr(s, &[(0, Some(0.25)), (5, Some(0.25))]);
}

#[test]
fn lr_cosine() {
    let s = LrSchedule::Cosine {
        base_lr: 1.0,
        warmup_init_lr: 0.0,
        final_lr: 0.25,
        warmup_steps: 4,
        total_steps: 12,
    };
    assert_lr(
        s,
        &[
            (0, Some(0.0)),
            (2, Some(0.5)), // inside warmup
            (4, Some(1.0)), // warmup end: cos 0 = 1, base_lr
            // Half way: cos(π/2) = 6.1e-17 vanishes in 1 + it, so 0.25 + 0.75 * 0.5.
            (8, Some(0.625)),
            (12, Some(0.25)), // total_steps: cos π = -1 exactly, final_lr
        ],
    );
    // A quarter: 0.25 + 0.75 * (2 + √2) / 4.
    assert_close(s.lr_at(6), 0.25 + 0.75 * (2.0 + 2f64.sqrt()) / 4.0, 1e-15);
    // Psyche does not clamp after total_steps: the cosine rises again (3π/2 gives
    // 0.625 again, 2π base_lr).
    assert_close(s.lr_at(16), 0.625, 1e-15);
    assert_close(s.lr_at(20), 1.0, 1e-15);

    // total_steps = warmup_steps: 0/0 at the warmup end and x/0 after it give NaN
    // in Psyche: no learning rate. The warmup ramp before it is fine.
    let s = LrSchedule::Cosine {
        base_lr: 1.0,
        warmup_init_lr: 0.0,
        final_lr: 0.25,
        warmup_steps: 4,
        total_steps: 4,
    };
    assert_lr(s, &[(2, Some(0.5)), (4, None), (5, None)]);
    let s = LrSchedule::Cosine {
        base_lr: 1.0,
        warmup_init_lr: 0.0,
        final_lr: 0.25,
        warmup_steps: 0,
        total_steps: 0,
    };
    assert_lr(s, &[(0, None), (1, None)]);
    // total_steps < warmup_steps: Psyche's u32 `total_steps - warmup_steps` overflows
    // once the warmup is over.
    let s = LrSchedule::Cosine {
        base_lr: 1.0,
        warmup_init_lr: 0.0,
        final_lr: 0.25,
        warmup_steps: 8,
        total_steps: 4,
    };
    assert_lr(s, &[(4, Some(0.5)), (8, None), (9, None)]);
}

#[test]
fn lr_warmup_stable_decay() {
    let s = wsd([1.0, 0.0, 0.5, 0.25], [4, 4, 4, 4]);
    assert_lr(
        s,
        &[
            (0, Some(0.0)),
            (2, Some(0.5)),     // inside warmup
            (4, Some(1.0)),     // warmup end: stable at base_lr
            (7, Some(1.0)),     // last stable step
            (8, Some(1.0)),     // cosine start: cos 0 = 1
            (10, Some(0.75)),   // half way: 0.5 + 0.5 * 0.5
            (12, Some(0.5)),    // linear start: cosine_decay_final_lr
            (14, Some(0.375)),  // 0.5 - 0.25 * 2/4
            (15, Some(0.3125)), // 0.5 - 0.25 * 3/4
            (16, Some(0.25)),   // end: linear_decay_final_lr
            (u32::MAX, Some(0.25)),
        ],
    );
    // Three quarters of the cosine: 0.5 + 0.5 * (2 - √2) / 4.
    assert_close(s.lr_at(11), 0.5 + 0.5 * (2.0 - 2f64.sqrt()) / 4.0, 1e-15);

    // All phases empty (Psyche's own edge case): linear_decay_final_lr at once.
    let empty = wsd([1.0, 0.0, 0.5, 0.25], [0, 0, 0, 0]);
    assert_lr(empty, &[(0, Some(0.25)), (9, Some(0.25))]);
    // Equal final LRs are accepted (the consilience run has them).
    let flat = wsd([1.0, 0.0, 1.0, 1.0], [4, 4, 4, 4]);
    assert_lr(flat, &[(10, Some(1.0)), (14, Some(1.0)), (99, Some(1.0))]);
}

#[test]
fn lr_rejected_schedules_give_none() {
    // Psyche asserts cosine_decay_final_lr <= base_lr and linear_decay_final_lr <=
    // cosine_decay_final_lr on every call, in every phase: it would panic. NaN fails
    // the assertion too.
    let steps = [4, 4, 4, 4];
    let rejected = [
        wsd([1.0, 0.0, 1.5, 0.25], steps),
        wsd([1.0, 0.0, 0.5, 0.75], steps),
        wsd([1.0, 0.0, f64::NAN, 0.25], steps),
        wsd([f64::NAN, 0.0, 0.5, 0.25], steps),
    ];
    for s in rejected {
        assert_lr(
            s,
            &[(0, None), (2, None), (6, None), (10, None), (99, None)],
        );
    }
    // Phases adding up past u32::MAX: fine until Psyche's sum would overflow.
    let long_stable = wsd([1.0, 0.0, 0.5, 0.25], [4, u32::MAX, 4, 4]);
    assert_lr(long_stable, &[(2, Some(0.5)), (4, None), (u32::MAX, None)]);
    let long_decay = wsd([1.0, 0.0, 0.5, 0.25], [4, 4, u32::MAX, 4]);
    assert_lr(long_decay, &[(6, Some(1.0)), (8, None)]);
    // Unknown tags have no schedule to evaluate.
    assert_lr(LrSchedule::Unknown(4), &[(0, None), (100, None)]);
    assert_lr(LrSchedule::Unknown(u32::MAX), &[(0, None)]);
    // Non-finite parameters: non-finite results are no learning rate.
    let infinite = LrSchedule::Constant {
        base_lr: f64::INFINITY,
        warmup_init_lr: 0.0,
        warmup_steps: 4,
    };
    assert_lr(infinite, &[(0, None), (4, None)]);
    let nan = LrSchedule::Linear {
        base_lr: 1.0,
        warmup_init_lr: 0.0,
        final_lr: f64::NAN,
        warmup_steps: 4,
        total_steps: 12,
    };
    assert_lr(nan, &[(2, Some(0.5)), (4, None), (12, None)]);
}

#[test]
fn lr_matches_psyches_own_tests() {
    // The cases of Psyche's `definitions.rs` tests, with their (relative) tolerance.
    let constant = LrSchedule::Constant {
        base_lr: 0.01,
        warmup_init_lr: 0.001,
        warmup_steps: 10,
    };
    assert_close(constant.lr_at(0), 0.001, 1e-12);
    assert_close(constant.lr_at(5), 0.001 + (0.01 - 0.001) * 0.5, 1e-12);
    assert_close(constant.lr_at(10), 0.01, 1e-12);
    let linear = LrSchedule::Linear {
        base_lr: 0.01,
        warmup_init_lr: 0.001,
        final_lr: 0.0001,
        warmup_steps: 10,
        total_steps: 100,
    };
    assert_close(linear.lr_at(55), 0.01 + (0.0001 - 0.01) * 0.5, 1e-12);
    assert_close(linear.lr_at(200), 0.0001, 1e-12);
    let cosine = LrSchedule::Cosine {
        base_lr: 0.01,
        warmup_init_lr: 0.001,
        final_lr: 0.0,
        warmup_steps: 10,
        total_steps: 110,
    };
    assert_close(cosine.lr_at(60), 0.005, 1e-12);
    assert_eq!(cosine.lr_at(110), Some(0.0));
    let s = wsd([0.01, 0.001, 0.001, 0.0], [10, 60, 110, 20]);
    assert_close(s.lr_at(69), 0.01, 1e-12);
    assert_close(s.lr_at(125), 0.0055, 1e-12);
    assert_close(s.lr_at(180), 0.001, 1e-12);
    assert_close(s.lr_at(190), 0.0005, 1e-12);
    assert_eq!(s.lr_at(200), Some(0.0));
    assert_eq!(s.lr_at(250), Some(0.0));
}

#[test]
fn lr_of_every_fixture_run() {
    // Worked out from each fixture's schedule and step (expected.json lists both).
    let lr = |name: &str| decode_fixture(name).learning_rate();
    // Constant, warmup 0, step 0 (all zero).
    assert_eq!(lr("coord_uninitialized"), Some(0.0));
    // Cosine 0.0004 / 1e-6 / 4e-5 over 2500 + 22500 steps, at step 18432:
    // 4e-5 + 3.6e-4 * (1 + cos(π * 15932 / 22500)) / 2.
    let progress = 15_932.0 / 22_500.0;
    let want = 4e-5 + 3.6e-4 * (1.0 + (std::f64::consts::PI * progress).cos()) / 2.0;
    assert_close(lr("coord_waiting_hub"), want, 1e-12);
    // Constant 0.0003 after a 100-step warmup, at step 413.
    assert_eq!(lr("coord_warmup_p2p"), Some(0.0003));
    // WarmupStableDecay at step 654321: stable (2000 + 800000 steps), base_lr.
    assert_eq!(lr("coord_train_37"), Some(0.0006));
    // Constant 0.001 without warmup, at step 10000.
    assert_eq!(lr("coord_finished"), Some(0.001));
    // Cosine at step 0: warmup_init_lr 0.
    assert_eq!(lr("psyche_repo_v1"), Some(0.0));
    // WarmupStableDecay at step 11265: stable (2000 + 161000 steps), base_lr; this is
    // also expected.json's `derived.lr_schedule.get_lr(progress.step)`.
    assert_eq!(lr("psyche_repo_v0_consilience"), Some(0.0001));
}

#[test]
fn lr_fuzz_never_panics_or_leaves_finite() {
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let edges = [0, 1, 2, 1000, u32::MAX / 2, u32::MAX - 1, u32::MAX];
    let steps = |rng: &mut XorShift| match rng.below(3) {
        0 => edges[rng.below(edges.len())],
        1 => rng.below(2000) as u32,
        _ => rng.next() as u32,
    };
    let lrs = [
        0.0,
        1e-6,
        3e-4,
        1.0,
        -1.0,
        f64::INFINITY,
        f64::NAN,
        f64::MAX,
    ];
    let lr = |rng: &mut XorShift| {
        if rng.below(2) == 0 {
            lrs[rng.below(lrs.len())]
        } else {
            f64::from_bits(rng.next())
        }
    };
    for _ in 0..20_000 {
        let s = match rng.below(5) {
            0 => LrSchedule::Constant {
                base_lr: lr(&mut rng),
                warmup_init_lr: lr(&mut rng),
                warmup_steps: steps(&mut rng),
            },
            1 => LrSchedule::Linear {
                base_lr: lr(&mut rng),
                warmup_init_lr: lr(&mut rng),
                final_lr: lr(&mut rng),
                warmup_steps: steps(&mut rng),
                total_steps: steps(&mut rng),
            },
            2 => LrSchedule::Cosine {
                base_lr: lr(&mut rng),
                warmup_init_lr: lr(&mut rng),
                final_lr: lr(&mut rng),
                warmup_steps: steps(&mut rng),
                total_steps: steps(&mut rng),
            },
            3 => wsd(
                [(); 4].map(|()| lr(&mut rng)),
                [(); 4].map(|()| steps(&mut rng)),
            ),
            _ => LrSchedule::Unknown(rng.next() as u32),
        };
        let step = steps(&mut rng);
        if let Some(v) = s.lr_at(step) {
            assert!(v.is_finite(), "{s:?} at {step}: {v}");
        }
    }
}

/// The website's `calculateTokens`, one step at a time.
fn brute_force_sequences(config: &Config, seq_len: u32, steps: u64) -> u64 {
    let mut data_index = 0u64;
    for _ in 0..steps {
        data_index += u64::from(config.batch_size(data_index * u64::from(seq_len)));
    }
    data_index
}

#[test]
fn ramp_shortcut_matches_step_by_step() {
    for name in RUNS {
        let run = decode_fixture(name);
        let seq = run.sequence_length();
        for steps in [
            0,
            1,
            2,
            1000,
            u64::from(run.completed_steps()),
            u64::from(run.config.total_steps),
        ] {
            assert_eq!(
                run.config.sequences_after_steps(seq, steps),
                brute_force_sequences(&run.config, seq, steps),
                "{name}: {steps} steps"
            );
        }
    }
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    for _ in 0..300 {
        let start = (rng.next() % 5000) as u16;
        let config = Config {
            warmup_time: 0,
            cooldown_time: 0,
            max_round_train_time: 0,
            round_witness_time: 0,
            global_batch_size_warmup_tokens: rng.next() % 50_000_000,
            epoch_time: None,
            rounds_per_epoch: None,
            total_steps: 0,
            init_min_clients: 0,
            min_clients: 0,
            witness_nodes: 0,
            global_batch_size_start: start,
            global_batch_size_end: (rng.next() % 5000) as u16,
            verification_percent: 0,
            waiting_for_members_extra_time: None,
        };
        let seq = (rng.next() % 4096) as u32 + 1;
        let steps = rng.next() % 3000;
        assert_eq!(
            config.sequences_after_steps(seq, steps),
            brute_force_sequences(&config, seq, steps),
            "{config:?} seq {seq} steps {steps}"
        );
    }
    // Absurd configs stay fast and saturate instead of overflowing.
    let huge = Config {
        global_batch_size_warmup_tokens: u64::MAX,
        global_batch_size_start: 1,
        global_batch_size_end: u16::MAX,
        total_steps: u32::MAX,
        ..decode_fixture("coord_train_37").config
    };
    let _ = huge.sequences_after_steps(1, u64::from(u32::MAX));
    let _ = huge.sequences_after_steps(u32::MAX, u64::from(u32::MAX));
}

#[test]
fn v0_rounds_follow_the_batch_size_ramp() {
    let run = decode_fixture("psyche_repo_v0_consilience");
    let seq = u64::from(run.sequence_length());
    let mut rounds = run.rounds.to_vec();
    rounds.sort_by_key(|r| r.height);
    let mut pairs = 0;
    for pair in rounds.windows(2) {
        if pair[1].height == pair[0].height + 1 {
            let step = run.config.batch_size(pair[0].data_index * seq);
            assert_eq!(pair[1].data_index, pair[0].data_index + u64::from(step));
            pairs += 1;
        }
    }
    assert_eq!(pairs, 3);
}

#[test]
fn encode_round_trips_every_fixture() {
    for name in RUNS {
        let raw = bytes(name);
        let run = decode_fixture(name);
        let encoded = encode_run(&run, run.layout);
        assert_eq!(encoded.len(), raw.len());
        let again = decode_bytes(&encoded).unwrap();
        assert_eq!(again, run, "{name}");
        check_against_expected(name, &again);

        // The encoder reproduces every byte the decoder reads. Witness entries are not
        // decoded; Psyche's real v1 dump also has non-zero padding and union tails (the
        // synthetic fixtures zero them), so flipping such a byte must not change the
        // decode.
        let o = run.layout.offsets();
        let in_witnesses = |at: usize| {
            (0..NUM_STORED_ROUNDS).any(|i| {
                let start = o.rounds + i * ROUND_SIZE;
                (start..start + ROUND_TAIL).contains(&at)
            })
        };
        let differing: Vec<usize> = (0..raw.len())
            .filter(|&at| raw[at] != encoded[at] && !in_witnesses(at))
            .collect();
        if name.starts_with("coord_") {
            assert!(
                differing.is_empty(),
                "{name}: bytes differ at {differing:?}"
            );
        }
        for &at in &differing {
            let mut flipped = raw.clone();
            flipped[at] ^= 0xff;
            assert_eq!(
                decode_bytes(&flipped).unwrap(),
                run,
                "{name}: byte {at} is read"
            );
        }
    }
}

#[test]
fn encode_converts_v0_to_v1() {
    let v0 = decode_fixture("psyche_repo_v0_consilience");
    let v1 = decode_bytes(&encode_run(&v0, Layout::V1)).unwrap();
    let want = Run {
        layout: Layout::V1,
        version: Some(1),
        config: Config {
            epoch_time: Some(0),
            rounds_per_epoch: None,
            waiting_for_members_extra_time: Some(0),
            ..v0.config
        },
        epoch: EpochState {
            last_step: Some(0),
            start_timestamp: Some(0),
            checkpointed: None,
            ..v0.epoch
        },
        client_version: Some(String::new()),
        ..v0.clone()
    };
    assert_eq!(v1, want);
    let back = decode_bytes(&encode_run(&v1, Layout::V0)).unwrap();
    assert_eq!(back.layout, Layout::V0);
    assert_eq!(back.progress, v0.progress);
}

#[test]
fn instances_decode_and_round_trip() {
    for name in INSTANCES {
        let instance_name = format!("{name}.instance");
        let raw = bytes(&instance_name);
        let instance = decode_instance(&raw).unwrap();
        assert_eq!(encode_instance(&instance), raw, "{name}");
        let want = expected(&instance_name);
        let flat: BTreeMap<&str, Value> = BTreeMap::from([
            ("bump", instance.bump.into()),
            ("main_authority", bs58(&instance.main_authority).into()),
            ("join_authority", bs58(&instance.join_authority).into()),
            (
                "coordinator_account",
                bs58(&instance.coordinator_account).into(),
            ),
            ("run_id", instance.run_id.clone().into()),
            ("run_id.len", instance.run_id.len().into()),
            ("run_id.bytes", instance.run_id.clone().into()),
            ("pda_seeds", json!(["coordinator", instance.run_id])),
            ("data_len", INSTANCE_ACCOUNT_SIZE.into()),
            (
                "discriminator_hex",
                hex(&COORDINATOR_INSTANCE_DISCRIMINATOR).into(),
            ),
            (
                "discriminator_bytes",
                json!(COORDINATOR_INSTANCE_DISCRIMINATOR),
            ),
        ]);
        let offsets: BTreeMap<&str, usize> = BTreeMap::from([
            ("bump", INSTANCE_BUMP),
            ("main_authority", INSTANCE_MAIN_AUTHORITY),
            ("join_authority", INSTANCE_JOIN_AUTHORITY),
            ("coordinator_account", INSTANCE_COORDINATOR_ACCOUNT),
            ("run_id", INSTANCE_RUN_ID_LEN),
            ("run_id.len", INSTANCE_RUN_ID_LEN),
            ("run_id.bytes", INSTANCE_RUN_ID),
        ]);
        for (key, value) in &want {
            match key.as_str() {
                "offsets" => {
                    for (k, off) in value.as_object().unwrap() {
                        assert_eq!(Some(offsets[k.as_str()] as u64), off.as_u64(), "{k}");
                    }
                }
                // account_address is the PDA: deriving it needs sha256 and an ed25519
                // curve check, which this crate does not carry.
                "account_type" | "description" | "owner_program_id" | "account_address"
                | "offsets_note" | "data_sha256" => {}
                k => {
                    let got = flat
                        .get(k)
                        .unwrap_or_else(|| panic!("{name}: unmapped {k}"));
                    assert!(same(got, value), "{name}: {k}: got {got}, want {value}");
                }
            }
        }
        // The instance points at the account, and the account names the instance.
        let account = expected(name);
        assert_eq!(
            account["account_address"].as_str(),
            Some(bs58(&instance.coordinator_account).as_str())
        );
        assert_eq!(
            account["coordinator_instance_address"],
            want["account_address"]
        );
        assert_eq!(decode_fixture(name).run_id, instance.run_id);
    }
}

#[test]
fn bs58_edges() {
    assert_eq!(bs58(&[0; 32]), "1".repeat(32));
    let mut one = [0u8; 32];
    one[31] = 1;
    assert_eq!(bs58(&one), format!("{}2", "1".repeat(31)));
    assert_eq!(
        bs58(&[255; 32]),
        "JEKNVnkbo3jma5nREBBJCDoXFVeKkD56V3xKrvRmWxFG"
    );
}

#[test]
fn rejects_foreign_and_truncated_data() {
    let raw = bytes("coord_train_37");
    for len in [0, 7, 8, 100, 1048, V0_ACCOUNT_SIZE - 1, V1_ACCOUNT_SIZE - 1] {
        assert_eq!(
            decode_bytes(&raw[..len]),
            Err(DecodeError::Size { len }),
            "{len}"
        );
    }
    let mut longer = raw.clone();
    longer.push(0);
    assert_eq!(
        decode_bytes(&longer),
        Err(DecodeError::Size {
            len: V1_ACCOUNT_SIZE + 1
        })
    );

    let mut foreign = raw.clone();
    foreign[..8].copy_from_slice(&COORDINATOR_INSTANCE_DISCRIMINATOR);
    assert_eq!(
        decode_bytes(&foreign),
        Err(DecodeError::Discriminator {
            found: COORDINATOR_INSTANCE_DISCRIMINATOR
        })
    );
    let mut flipped = bytes("psyche_repo_v0_consilience");
    flipped[3] ^= 0xff;
    assert!(matches!(
        decode_bytes(&flipped),
        Err(DecodeError::Discriminator { .. })
    ));

    let mut version = raw.clone();
    version[8] = 2;
    assert_eq!(decode_bytes(&version), Err(DecodeError::Version(2)));
    let mut version = raw.clone();
    version[15] = 0x80;
    assert!(matches!(
        decode_bytes(&version),
        Err(DecodeError::Version(_))
    ));

    // A window that stops short of what the decoder needs.
    let short = AccountData::windows(V1_ACCOUNT_SIZE, vec![(0, raw[..500].to_vec())]);
    assert!(matches!(
        decode_run(&short),
        Err(DecodeError::Missing { .. })
    ));
    let none = AccountData::windows(V1_ACCOUNT_SIZE, Vec::new());
    assert_eq!(
        decode_run(&none),
        Err(DecodeError::Missing { offset: 0, len: 8 })
    );
    // The discriminator is checked before anything else is needed.
    let disc_only = AccountData::windows(V1_ACCOUNT_SIZE, vec![(0, foreign[..8].to_vec())]);
    assert!(matches!(
        decode_run(&disc_only),
        Err(DecodeError::Discriminator { .. })
    ));

    for err in [
        DecodeError::Size { len: 3 },
        DecodeError::Discriminator { found: [1; 8] },
        DecodeError::Version(9),
        DecodeError::Missing { offset: 1, len: 2 },
        DecodeError::RunIdLength(99),
    ] {
        let boxed: Box<dyn std::error::Error> = Box::new(err.clone());
        assert!(!boxed.to_string().is_empty());
    }
    assert_eq!(
        DecodeError::Discriminator {
            found: COORDINATOR_ACCOUNT_DISCRIMINATOR
        }
        .to_string(),
        "unexpected discriminator ef21b1372c9b562b"
    );
}

#[test]
fn unknown_tags_and_odd_bytes_decode_leniently() {
    let raw = bytes("coord_train_37");
    let o = Layout::V1.offsets();
    let l = o.model + 8;
    let patch = |edits: &[(usize, &[u8])]| {
        let mut b = raw.clone();
        for (at, bytes) in edits {
            b[*at..*at + bytes.len()].copy_from_slice(bytes);
        }
        decode_bytes(&b).unwrap()
    };

    let run = patch(&[(o.run_state, &[42])]);
    assert_eq!(run.state, RunState::Unknown(42));
    assert_eq!(run.state.as_str(), "unknown");
    assert!(!run.halted() && !run.active());
    assert_eq!(run.phase_deadline(), None);

    let run = patch(&[
        (l + LLM_ARCHITECTURE, &9u32.to_le_bytes()),
        (l + LLM_CHECKPOINT, &77u32.to_le_bytes()),
        (l + LLM_DATA_TYPE, &5u32.to_le_bytes()),
        (l + LLM_DATA_LOCATION, &99u32.to_le_bytes()),
        (l + LLM_LR_SCHEDULE, &50u32.to_le_bytes()),
        (l + LLM_OPTIMIZER, &13u32.to_le_bytes()),
    ]);
    let llm = run.model.llm().unwrap();
    assert_eq!(llm.architecture, Architecture::Unknown(9));
    assert_eq!(llm.checkpoint, Checkpoint::Unknown(77));
    assert_eq!(llm.checkpoint.kind_str(), "unknown");
    assert_eq!(llm.data_type.as_str(), "unknown");
    assert_eq!(llm.data_location, DataLocation::Unknown(99));
    assert_eq!(llm.lr_schedule, LrSchedule::Unknown(50));
    assert_eq!(llm.optimizer, Optimizer::Unknown(13));
    assert_eq!(decode_bytes(&encode_run(&run, Layout::V1)).unwrap(), run);

    // Gcs variants, which no fixture holds: same repr(Rust) shape as HubRepo.
    let run = patch(&[(l + LLM_CHECKPOINT, &5u32.to_le_bytes())]);
    assert_eq!(
        run.model.llm().unwrap().checkpoint,
        Checkpoint::P2PGcs(GcsRepo {
            bucket: "PsycheFoundation/consilience-40b-7Y9v38s5".into(),
            prefix: Some("main".into()),
        })
    );
    assert_eq!(run.model.llm().unwrap().checkpoint.kind_str(), "p2p_gcs");
    // An Option tag other than 0/1 is not a valid Rust value: read as None.
    let run = patch(&[(l + LLM_CHECKPOINT + 4, &[7])]);
    assert_eq!(
        run.model
            .llm()
            .unwrap()
            .checkpoint
            .hub_repo()
            .unwrap()
            .revision,
        None
    );

    let run = patch(&[(o.model, &5u32.to_le_bytes())]);
    assert_eq!(run.model, Model::Unknown(5));
    assert_eq!(run.sequence_length(), 0);
    assert_eq!(run.tokens_per_step(), 0);
    assert_eq!(decode_bytes(&encode_run(&run, Layout::V1)).unwrap(), run);

    let run = patch(&[(o.epoch_clients + 64, &[200])]);
    let detail = run.detail.unwrap();
    assert_eq!(detail.epoch_clients[0].state, ClientState::Unknown(200));
    assert_eq!(detail.epoch_clients_by_state.unknown, 1);

    // List lengths at capacity decode; beyond it they are errors, never clamped.
    let run = patch(&[
        (o.epoch_clients_len(), &(MAX_CLIENTS as u64).to_le_bytes()),
        (o.round_tail(0), &(MAX_WITNESSES as u64).to_le_bytes()),
    ]);
    assert_eq!(run.lists.epoch_clients, MAX_CLIENTS);
    assert_eq!(run.rounds[0].witnesses_len, MAX_WITNESSES);
    assert_eq!(run.detail.unwrap().epoch_clients.len(), MAX_CLIENTS);
    for (at, len) in [
        (o.epoch_clients_len(), u64::MAX),
        (o.epoch_clients_len(), MAX_CLIENTS as u64 + 1),
        (o.round_tail(0), 1000),
    ] {
        let mut b = raw.clone();
        b[at..at + 8].copy_from_slice(&len.to_le_bytes());
        assert!(
            matches!(
                decode_bytes(&b),
                Err(DecodeError::ListLength { len: l, .. }) if l == len
            ),
            "length {len} at {at}"
        );
    }

    let run = patch(&[
        (o.name, &[b'a'; 64]),
        (o.description, &[0xff, 0xfe, b'x', 0]),
    ]);
    assert_eq!(run.metadata.name, "a".repeat(64));
    assert_eq!(run.metadata.description, "\u{fffd}\u{fffd}x");

    let run = patch(&[
        (o.pending_pause, &[9]),
        (o.rounds_head, &7u32.to_le_bytes()),
    ]);
    assert!(run.pending_pause);
    assert_eq!(run.current_round(), None);
    assert_eq!(run.previous_round(), None);
    assert_eq!(run.witness_quorum(), None);
    // Psyche falls back to epoch_start_data_index without a current round.
    assert_eq!(
        run.total_tokens_processed(),
        run.total_tokens_processed_at(None)
    );
}

#[test]
fn instance_errors() {
    let raw = bytes("coord_train_37.instance");
    assert_eq!(
        decode_instance(&raw[..172]),
        Err(DecodeError::Size { len: 172 })
    );
    assert_eq!(decode_instance(&[]), Err(DecodeError::Size { len: 0 }));
    let mut wrong = raw.clone();
    wrong[0] ^= 1;
    assert!(matches!(
        decode_instance(&wrong),
        Err(DecodeError::Discriminator { .. })
    ));
    for len in [65u32, 1000, u32::MAX] {
        let mut bad = raw.clone();
        bad[105..109].copy_from_slice(&len.to_le_bytes());
        assert_eq!(decode_instance(&bad), Err(DecodeError::RunIdLength(len)));
    }
    let mut full = raw.clone();
    full[105..109].copy_from_slice(&64u32.to_le_bytes());
    full[109..173].fill(b'z');
    assert_eq!(decode_instance(&full).unwrap().run_id, "z".repeat(64));
    assert!(decode_instance(&bytes("coord_train_37")).is_err());
}

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Calls everything a consumer might call on a decoded run.
fn exercise(run: &Run) {
    let _ = (
        run.current_round(),
        run.previous_round(),
        run.previous_previous_round(),
        run.halted(),
        run.active(),
        run.tokens_per_step(),
        run.tokens_trained(),
        run.total_tokens_processed(),
        run.progress_ratio(),
        run.phase_deadline(),
        run.witness_quorum(),
        run.cold_start_warmup_bounds(),
        run.learning_rate(),
        run.layout.detail_windows(&run.lists),
    );
    // Bounded: the fuzzed configs may be absurd.
    let _ = run.tokens_after_steps(u64::from(run.config.total_steps.min(1_000_000)));
    for layout in [Layout::V0, Layout::V1] {
        let _ = decode_bytes(&encode_run(run, layout));
    }
}

#[test]
fn fuzz_never_panics() {
    let seeds = [bytes("coord_train_37"), bytes("psyche_repo_v0_consilience")];
    let hot: Vec<usize> = [Layout::V1, Layout::V0]
        .iter()
        .flat_map(|l| l.state_windows().iter().flat_map(|w| w.offset..w.end()))
        .collect();
    let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
    let mut decoded = 0;
    for _ in 0..1500 {
        let mut raw = seeds[rng.below(2)].clone();
        let data = match rng.below(4) {
            0 => {
                raw.truncate(rng.below(raw.len() + 1));
                AccountData::full(raw)
            }
            1 => {
                for _ in 0..1 + rng.below(32) {
                    let at = if rng.below(2) == 0 {
                        hot[rng.below(hot.len())]
                    } else {
                        rng.below(raw.len())
                    };
                    if let Some(b) = raw.get_mut(at) {
                        *b ^= 1 << rng.below(8);
                        if rng.below(4) == 0 {
                            *b = 0xff;
                        }
                    }
                }
                AccountData::full(raw)
            }
            2 => {
                let layout = Layout::from_account_size(raw.len()).unwrap();
                let mut windows = Vec::new();
                for w in layout.state_windows() {
                    if rng.below(5) != 0 {
                        windows.push(Window {
                            offset: w.offset + rng.below(3),
                            len: w.len.saturating_sub(rng.below(3)),
                        });
                    }
                }
                AccountData::sliced(&raw, &windows)
            }
            _ => {
                let windows: Vec<(usize, Vec<u8>)> = (0..rng.below(6))
                    .map(|_| {
                        let offset = match rng.below(3) {
                            0 => usize::MAX - rng.below(16),
                            _ => rng.below(raw.len() + 64),
                        };
                        let bytes = (0..rng.below(2048)).map(|_| rng.next() as u8).collect();
                        (offset, bytes)
                    })
                    .collect();
                let total = [raw.len(), rng.below(usize::MAX), V0_ACCOUNT_SIZE][rng.below(3)];
                AccountData::windows(total, windows)
            }
        };
        if let Ok(run) = decode_run(&data) {
            exercise(&run);
            decoded += 1;
        }
    }
    assert!(decoded > 50, "only {decoded} fuzz cases decoded");

    let instance = bytes("coord_finished.instance");
    for _ in 0..2000 {
        let mut raw = instance.clone();
        if rng.below(3) == 0 {
            raw.truncate(rng.below(raw.len() + 1));
        }
        for _ in 0..rng.below(8) {
            let at = rng.below(raw.len());
            if let Some(b) = raw.get_mut(at) {
                *b = rng.next() as u8;
            }
        }
        if let Ok(decoded) = decode_instance(&raw) {
            let _ = bs58(&decoded.coordinator_account);
            let _ = encode_instance(&decoded);
        }
    }
}
