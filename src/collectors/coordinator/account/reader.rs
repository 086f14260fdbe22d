//! The reader: [`decode_run`] and [`decode_instance`], built on checked reads of
//! [`AccountData`].

use super::layout::{
    AccountData, CLIENT_VERSION_LEN, COORDINATOR_ACCOUNT_DISCRIMINATOR,
    COORDINATOR_ACCOUNT_VERSION, COORDINATOR_INSTANCE_DISCRIMINATOR, DESCRIPTION_LEN,
    EPOCH_CLIENT_SIZE, INSTANCE_ACCOUNT_SIZE, INSTANCE_BUMP, INSTANCE_COORDINATOR_ACCOUNT,
    INSTANCE_JOIN_AUTHORITY, INSTANCE_MAIN_AUTHORITY, INSTANCE_RUN_ID, INSTANCE_RUN_ID_LEN,
    INSTANCE_RUN_ID_MAX_LEN, LLM_ARCHITECTURE, LLM_CHECKPOINT, LLM_COLD_START, LLM_DATA_LOCATION,
    LLM_DATA_TYPE, LLM_LR_SCHEDULE, LLM_MAX_SEQ_LEN, LLM_OPTIMIZER, Layout, ListLengths,
    MAX_CLIENTS, MAX_WITNESSES, NAME_LEN, NUM_STORED_ROUNDS, Offsets, REGISTERED_CLIENT_SIZE,
    STRING_LEN, URL_LEN,
};
use super::model::{
    Architecture, Checkpoint, DataLocation, DataType, GcsRepo, HttpDataLocation, HttpLocation,
    HubRepo, Llm, LrSchedule, Model, Optimizer, Shuffle, TokenSize,
};
use super::types::{
    ClientState, ClientsState, Config, DecodeError, EpochClient, EpochRates, EpochState, Instance,
    Metadata, Progress, RegisteredClient, Round, Run, RunDetail, RunState,
};

struct Reader<'a> {
    data: &'a AccountData,
}

impl Reader<'_> {
    fn read(&self, offset: usize, len: usize) -> Result<&[u8], DecodeError> {
        self.data
            .get(offset, len)
            .ok_or(DecodeError::Missing { offset, len })
    }
    fn array<const N: usize>(&self, offset: usize) -> Result<[u8; N], DecodeError> {
        let bytes = self.read(offset, N)?;
        <[u8; N]>::try_from(bytes).map_err(|_| DecodeError::Missing { offset, len: N })
    }
    fn u8(&self, offset: usize) -> Result<u8, DecodeError> {
        Ok(u8::from_le_bytes(self.array(offset)?))
    }
    fn bool(&self, offset: usize) -> Result<bool, DecodeError> {
        Ok(self.u8(offset)? != 0)
    }
    fn u16(&self, offset: usize) -> Result<u16, DecodeError> {
        Ok(u16::from_le_bytes(self.array(offset)?))
    }
    fn u32(&self, offset: usize) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.array(offset)?))
    }
    fn u64(&self, offset: usize) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.array(offset)?))
    }
    fn f32(&self, offset: usize) -> Result<f32, DecodeError> {
        Ok(f32::from_le_bytes(self.array(offset)?))
    }
    fn f64(&self, offset: usize) -> Result<f64, DecodeError> {
        Ok(f64::from_le_bytes(self.array(offset)?))
    }
    /// A list length, which Psyche keeps within the list's capacity: more means the
    /// bytes are not what this layout says (an error, never a clamp).
    fn len(&self, offset: usize, capacity: usize) -> Result<usize, DecodeError> {
        let raw = self.u64(offset)?;
        usize::try_from(raw)
            .ok()
            .filter(|n| *n <= capacity)
            .ok_or(DecodeError::ListLength {
                offset,
                len: raw,
                capacity,
            })
    }
    fn string(&self, offset: usize, len: usize) -> Result<String, DecodeError> {
        Ok(fixed_string(self.read(offset, len)?))
    }
    /// `Option<FixedString<64>>` as rustc lays it out: tag byte, then the bytes.
    fn option_string(&self, offset: usize) -> Result<Option<String>, DecodeError> {
        match self.u8(offset)? {
            1 => Ok(Some(self.string(offset + 1, STRING_LEN)?)),
            _ => Ok(None),
        }
    }
    /// `Option<f32>` (repr(Rust)): tag byte, value at +4.
    fn option_f32(&self, offset: usize) -> Result<Option<f32>, DecodeError> {
        match self.u8(offset)? {
            1 => Ok(Some(self.f32(offset + 4)?)),
            _ => Ok(None),
        }
    }
}

fn fixed_string(bytes: &[u8]) -> String {
    let used = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(bytes.get(..used).unwrap_or_default()).into_owned()
}

/// Decodes a `CoordinatorAccount` from a whole account or from windows of it.
///
/// Size, discriminator and (v1) version are checked first. [`Run::detail`] is filled only
/// when the windows cover the used part of all three client lists.
pub fn decode_run(data: &AccountData) -> Result<Run, DecodeError> {
    let layout = Layout::from_account_size(data.total_len()).ok_or(DecodeError::Size {
        len: data.total_len(),
    })?;
    let r = Reader { data };
    let found: [u8; 8] = r.array(0)?;
    if found != COORDINATOR_ACCOUNT_DISCRIMINATOR {
        return Err(DecodeError::Discriminator { found });
    }
    let o = layout.offsets();
    let version = match o.version {
        Some(at) => match r.u64(at)? {
            COORDINATOR_ACCOUNT_VERSION => Some(COORDINATOR_ACCOUNT_VERSION),
            other => return Err(DecodeError::Version(other)),
        },
        None => None,
    };

    let mut rounds = [Round::default(); NUM_STORED_ROUNDS];
    for (index, round) in rounds.iter_mut().enumerate() {
        *round = decode_round(&r, o.round_tail(index))?;
    }
    let lists = ListLengths {
        epoch_clients: r.len(o.epoch_clients_len(), MAX_CLIENTS)?,
        exited_clients: r.len(o.exited_clients_len(), MAX_CLIENTS)?,
        registered_clients: r.len(o.registered_clients_len(), MAX_CLIENTS)?,
    };
    let clients_state = ClientsState {
        next_active: r.u64(o.next_active())?,
        current_epoch_rates: decode_rates(&r, o.current_epoch_rates())?,
        future_epoch_rates: decode_rates(&r, o.future_epoch_rates())?,
    };
    let detail = match decode_detail(&r, o, &lists, clients_state.next_active) {
        Ok(detail) => Some(detail),
        Err(DecodeError::Missing { .. }) => None,
        Err(other) => return Err(other),
    };

    Ok(Run {
        layout,
        version,
        nonce: r.u64(o.nonce)?,
        run_id: r.string(o.run_id, o.run_id_len)?,
        metadata: Metadata {
            name: r.string(o.name, NAME_LEN)?,
            description: r.string(o.description, DESCRIPTION_LEN)?,
            num_parameters: r.u64(o.num_parameters)?,
            vocab_size: r.u64(o.vocab_size)?,
        },
        state: RunState::from_code(r.u8(o.run_state)?),
        state_start_timestamp: r.u64(o.run_state_start)?,
        pending_pause: r.bool(o.pending_pause)?,
        model: decode_model(&r, o.model)?,
        config: decode_config(&r, o)?,
        progress: Progress {
            epoch: r.u16(o.progress)?,
            step: r.u32(o.progress + 4)?,
            epoch_start_data_index: r.u64(o.progress + 8)?,
        },
        epoch: EpochState {
            rounds_head: r.u32(o.rounds_head)?,
            start_step: r.u32(o.rounds_head + 4)?,
            last_step: o.last_step.map(|at| r.u32(at)).transpose()?,
            start_timestamp: o.epoch_start_timestamp.map(|at| r.u64(at)).transpose()?,
            first_round: r.bool(o.first_round)?,
            cold_start_epoch: r.bool(o.cold_start_epoch)?,
            checkpointed: o.checkpointed.map(|at| r.bool(at)).transpose()?,
        },
        rounds,
        lists,
        clients_state,
        is_warmup_first_tick: r.bool(o.is_warmup_first_tick)?,
        is_training_first_tick: r.bool(o.is_warmup_first_tick + 1)?,
        client_version: o
            .client_version
            .map(|at| r.string(at, CLIENT_VERSION_LEN))
            .transpose()?,
        detail,
    })
}

fn decode_rates(r: &Reader<'_>, at: usize) -> Result<EpochRates, DecodeError> {
    Ok(EpochRates {
        earning_rate_total_shared: r.u64(at)?,
        slashing_rate_per_client: r.u64(at + 8)?,
    })
}

fn decode_round(r: &Reader<'_>, tail: usize) -> Result<Round, DecodeError> {
    Ok(Round {
        witnesses_len: r.len(tail, MAX_WITNESSES)?,
        data_index: r.u64(tail + 8)?,
        random_seed: r.u64(tail + 16)?,
        height: r.u32(tail + 24)?,
        clients_len: r.u16(tail + 28)?,
        tie_breaker_tasks: r.u16(tail + 30)?,
    })
}

fn decode_config(r: &Reader<'_>, o: &Offsets) -> Result<Config, DecodeError> {
    let t = o.total_steps;
    Ok(Config {
        warmup_time: r.u64(o.config)?,
        cooldown_time: r.u64(o.config + 8)?,
        max_round_train_time: r.u64(o.config + 16)?,
        round_witness_time: r.u64(o.config + 24)?,
        global_batch_size_warmup_tokens: r.u64(o.config + 32)?,
        epoch_time: o.epoch_time.map(|at| r.u64(at)).transpose()?,
        rounds_per_epoch: o.rounds_per_epoch.map(|at| r.u32(at)).transpose()?,
        total_steps: r.u32(t)?,
        init_min_clients: r.u16(t + 4)?,
        min_clients: r.u16(t + 6)?,
        witness_nodes: r.u16(t + 8)?,
        global_batch_size_start: r.u16(t + 10)?,
        global_batch_size_end: r.u16(t + 12)?,
        verification_percent: r.u8(t + 14)?,
        waiting_for_members_extra_time: o
            .waiting_for_members_extra_time
            .map(|at| r.u8(at))
            .transpose()?,
    })
}

fn decode_model(r: &Reader<'_>, at: usize) -> Result<Model, DecodeError> {
    let tag = r.u32(at)?;
    if tag != 0 {
        return Ok(Model::Unknown(tag));
    }
    let l = at + 8;
    Ok(Model::Llm(Llm {
        max_seq_len: r.u32(l + LLM_MAX_SEQ_LEN)?,
        cold_start_warmup_steps: r.u32(l + LLM_COLD_START)?,
        architecture: Architecture::from_code(r.u32(l + LLM_ARCHITECTURE)?),
        checkpoint: decode_checkpoint(r, l + LLM_CHECKPOINT)?,
        data_type: DataType::from_code(r.u32(l + LLM_DATA_TYPE)?),
        data_location: decode_data_location(r, l + LLM_DATA_LOCATION)?,
        lr_schedule: decode_lr_schedule(r, l + LLM_LR_SCHEDULE)?,
        optimizer: decode_optimizer(r, l + LLM_OPTIMIZER)?,
    }))
}

fn decode_checkpoint(r: &Reader<'_>, at: usize) -> Result<Checkpoint, DecodeError> {
    // repr(Rust) payload: Option (tag + 64 bytes) first, then the 64-byte repo/bucket.
    let option_at = at + 4;
    let main_at = option_at + 1 + STRING_LEN;
    let hub = || -> Result<HubRepo, DecodeError> {
        Ok(HubRepo {
            repo_id: r.string(main_at, STRING_LEN)?,
            revision: r.option_string(option_at)?,
        })
    };
    let gcs = || -> Result<GcsRepo, DecodeError> {
        Ok(GcsRepo {
            bucket: r.string(main_at, STRING_LEN)?,
            prefix: r.option_string(option_at)?,
        })
    };
    Ok(match r.u32(at)? {
        0 => Checkpoint::Ephemeral,
        1 => Checkpoint::Dummy(hub()?),
        2 => Checkpoint::Hub(hub()?),
        3 => Checkpoint::P2P(hub()?),
        4 => Checkpoint::Gcs(gcs()?),
        5 => Checkpoint::P2PGcs(gcs()?),
        other => Checkpoint::Unknown(other),
    })
}

fn decode_data_location(r: &Reader<'_>, at: usize) -> Result<DataLocation, DecodeError> {
    let p = at + 4;
    Ok(match r.u32(at)? {
        0 => DataLocation::Dummy,
        1 => DataLocation::Server(r.string(p, STRING_LEN)?),
        2 => DataLocation::Local(r.string(p, URL_LEN)?),
        3 => DataLocation::Http(HttpDataLocation {
            location: decode_http_location(r, p)?,
            token_size_in_bytes: TokenSize::from_code(r.u32(p + 260)?),
            shuffle: match r.u32(p + 264)? {
                0 => Shuffle::DontShuffle,
                1 => Shuffle::Seeded(r.array(p + 268)?),
                other => Shuffle::Unknown(other),
            },
        }),
        4 => DataLocation::WeightedHttp(r.string(p, URL_LEN)?),
        5 => DataLocation::Preprocessed(r.string(p, URL_LEN)?),
        other => DataLocation::Unknown(other),
    })
}

fn decode_http_location(r: &Reader<'_>, at: usize) -> Result<HttpLocation, DecodeError> {
    let p = at + 4;
    Ok(match r.u32(at)? {
        0 => HttpLocation::SingleUrl(r.string(p, URL_LEN)?),
        1 => HttpLocation::NumberedFiles {
            url_template: r.string(p, STRING_LEN)?,
            start_index: r.u32(p + 64)?,
            n_left_pad_zeros: r.u8(p + 68)?,
            num_files: r.u32(p + 72)?,
        },
        2 => HttpLocation::Gcp {
            bucket_name: r.string(p, STRING_LEN)?,
            filter_directory: r.string(p + 64, URL_LEN)?,
        },
        other => HttpLocation::Unknown(other),
    })
}

fn decode_lr_schedule(r: &Reader<'_>, at: usize) -> Result<LrSchedule, DecodeError> {
    // 4-byte pad after the tag: the payload holds f64s.
    let p = at + 8;
    Ok(match r.u32(at)? {
        0 => LrSchedule::Constant {
            base_lr: r.f64(p)?,
            warmup_init_lr: r.f64(p + 8)?,
            warmup_steps: r.u32(p + 16)?,
        },
        tag @ (1 | 2) => {
            let (base_lr, warmup_init_lr, final_lr) = (r.f64(p)?, r.f64(p + 8)?, r.f64(p + 16)?);
            let (warmup_steps, total_steps) = (r.u32(p + 24)?, r.u32(p + 28)?);
            if tag == 1 {
                LrSchedule::Linear {
                    base_lr,
                    warmup_init_lr,
                    final_lr,
                    warmup_steps,
                    total_steps,
                }
            } else {
                LrSchedule::Cosine {
                    base_lr,
                    warmup_init_lr,
                    final_lr,
                    warmup_steps,
                    total_steps,
                }
            }
        }
        3 => LrSchedule::WarmupStableDecay {
            base_lr: r.f64(p)?,
            warmup_init_lr: r.f64(p + 8)?,
            cosine_decay_final_lr: r.f64(p + 16)?,
            linear_decay_final_lr: r.f64(p + 24)?,
            warmup_steps: r.u32(p + 32)?,
            stable_steps: r.u32(p + 36)?,
            cosine_decay_steps: r.u32(p + 40)?,
            linear_decay_steps: r.u32(p + 44)?,
        },
        other => LrSchedule::Unknown(other),
    })
}

fn decode_optimizer(r: &Reader<'_>, at: usize) -> Result<Optimizer, DecodeError> {
    let p = at + 4;
    Ok(match r.u32(at)? {
        0 => Optimizer::Dummy,
        1 => Optimizer::AdamW {
            betas: [r.f32(p)?, r.f32(p + 4)?],
            weight_decay: r.f32(p + 8)?,
            eps: r.f32(p + 12)?,
            clip_grad_norm: r.option_f32(p + 16)?,
        },
        2 => Optimizer::Distro {
            clip_grad_norm: r.option_f32(p)?,
            weight_decay: r.option_f32(p + 8)?,
            compression_decay: r.f32(p + 16)?,
            compression_topk: r.u16(p + 20)?,
            compression_chunk: r.u16(p + 22)?,
            quantize_1bit: r.bool(p + 24)?,
        },
        other => Optimizer::Unknown(other),
    })
}

fn decode_detail(
    r: &Reader<'_>,
    o: &Offsets,
    lists: &ListLengths,
    next_active: u64,
) -> Result<RunDetail, DecodeError> {
    let epoch_client = |at: usize| -> Result<EpochClient, DecodeError> {
        Ok(EpochClient {
            signer: r.array(at)?,
            p2p_identity: r.array(at + 32)?,
            state: ClientState::from_code(r.u8(at + 64)?),
            exited_height: r.u32(at + 68)?,
        })
    };
    let epoch_list = |start: usize, n: usize| -> Result<Vec<EpochClient>, DecodeError> {
        (0..n)
            .map(|k| epoch_client(start + k * EPOCH_CLIENT_SIZE))
            .collect()
    };
    let registered = (0..lists.registered_clients)
        .map(|k| {
            let at = o.registered_clients + k * REGISTERED_CLIENT_SIZE;
            Ok(RegisteredClient {
                signer: r.array(at)?,
                p2p_identity: r.array(at + 32)?,
                earned: r.u64(at + 72)?,
                slashed: r.u64(at + 80)?,
                active: r.u64(at + 88)?,
            })
        })
        .collect::<Result<Vec<_>, DecodeError>>()?;
    Ok(RunDetail::new(
        epoch_list(o.epoch_clients, lists.epoch_clients)?,
        epoch_list(o.exited_clients, lists.exited_clients)?,
        registered,
        next_active,
    ))
}

/// Decodes a 173-byte `CoordinatorInstance` (borsh).
pub fn decode_instance(bytes: &[u8]) -> Result<Instance, DecodeError> {
    if bytes.len() != INSTANCE_ACCOUNT_SIZE {
        return Err(DecodeError::Size { len: bytes.len() });
    }
    let data = AccountData::windows(bytes.len(), vec![(0, bytes.to_vec())]);
    let r = Reader { data: &data };
    let found: [u8; 8] = r.array(0)?;
    if found != COORDINATOR_INSTANCE_DISCRIMINATOR {
        return Err(DecodeError::Discriminator { found });
    }
    let len = r.u32(INSTANCE_RUN_ID_LEN)?;
    let run_id = usize::try_from(len)
        .ok()
        .filter(|&n| n <= INSTANCE_RUN_ID_MAX_LEN)
        .and_then(|n| bytes.get(INSTANCE_RUN_ID..INSTANCE_RUN_ID + n))
        .ok_or(DecodeError::RunIdLength(len))?;
    Ok(Instance {
        bump: r.u8(INSTANCE_BUMP)?,
        main_authority: r.array(INSTANCE_MAIN_AUTHORITY)?,
        join_authority: r.array(INSTANCE_JOIN_AUTHORITY)?,
        coordinator_account: r.array(INSTANCE_COORDINATOR_ACCOUNT)?,
        run_id: String::from_utf8_lossy(run_id).into_owned(),
    })
}
