#!/usr/bin/env python3
"""Writes deploy/prometheus/alerts.scenarios.test.yml (stdlib only).

promtool unit tests of the shipped rules over realistic, complete series sets:
each simulated exporter target serves what a real psyche-exporter serves for
its runs, repos, pools and collectors (the families of tests/golden/*.txt),
minute by minute, from a small model of each run's life (epochs with warmup,
training and cooldown, a brief wait for members between epochs, pauses,
checkpoints uploaded at the end of each epoch).

    python3 deploy/prometheus/scenarios.py           # rewrite the test file
    python3 deploy/prometheus/scenarios.py --check   # exit 1 if it is stale

tests/run-all.sh runs `--check`, then promtool on the file.
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "alerts.scenarios.test.yml")

STATES = ["uninitialized", "waiting_for_members", "warmup", "round_train", "round_witness",
          "cooldown", "finished", "paused"]
PHASES = ["warmup", "round_train", "round_witness", "cooldown"]
CLIENT_STATES = ["healthy", "dropped", "withdrawn", "ejected"]
ERROR_KINDS = ["decode", "http", "missing", "rate_limited", "rpc", "status", "timeout", "too_large"]
PROGRAM = "4SHugWqSXwKE5fqDchkJcPEqnoZE22VYKtSTVm7axbT7"
RUNBOOK = "docs/runbook.md#"


def labels(d):
    return "{" + ",".join(f'{k}="{v}"' for k, v in d.items()) + "}"


def fmt_value(v):
    if v is None:
        return "_"
    if v == "stale":
        return "stale"
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return repr(v) if isinstance(v, float) else str(v)


def encode(values):
    """promtool's notation: `vxN` is N+1 samples of v, `_xN` N missing ones."""
    out, i = [], 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and values[j + 1] == values[i]:
            j += 1
        n = j - i + 1
        v = fmt_value(values[i])
        if n == 1:
            out.append(v)
        elif v == "_":
            out.append(f"_x{n}")
        elif v == "stale":
            out.append(f"stale _x{n - 1}" if n > 2 else "stale _")
        else:
            out.append(f"{v}x{n - 1}")
        i = j + 1
    return " ".join(out)


class Scenario:
    """One promtool test: its series, minute by minute, and what it expects."""

    def __init__(self, name, minutes):
        self.name, self.minutes = name, minutes
        self.series = {}
        self.alerts = []
        self.exprs = []

    def put(self, name, lbls, fn):
        """fn(t) -> value at minute t (None: no sample, "stale": ended)."""
        key = name + labels(lbls)
        assert key not in self.series, key
        self.series[key] = [fn(t) for t in range(self.minutes + 1)]

    def expect(self, minute, alertname, *firing):
        """`firing`: (labels, annotations) of every alert firing at `minute`."""
        self.alerts.append((minute, alertname, firing))

    def expect_expr(self, minute, expr, samples):
        self.exprs.append((minute, expr, samples))


# ---------------------------------------------------------------- an exporter target


def target(sc, job, instance, collectors=("solana", "coordinator", "huggingface", "pool", "treasurer",
                                          "telemetry"), up=lambda t: 1, health=None):
    """`up` and the exporter's own families. health(collector, t) -> dict of
    up/serving/last_success/errors overrides."""
    base = {"job": job, "instance": instance}
    sc.put("up", base, up)
    served = lambda f: (lambda t: f(t) if up(t) == 1 else "stale")
    sc.put("psyche_exporter_build_info", {**base, "version": "0.1.0", "revision": "d33cf60a1b2c"},
           served(lambda t: 1))
    intervals = {"solana": 15, "coordinator": 30, "huggingface": 300, "pool": 60, "treasurer": 60,
                 "telemetry": 30}
    for c in collectors:
        lb = {**base, "collector": c}
        h = (lambda t, c=c: (health(c, t) if health else None) or {})
        sc.put("psyche_exporter_collector_up", lb, served(lambda t, h=h: h(t).get("up", 1)))
        sc.put("psyche_exporter_collector_serving", lb, served(lambda t, h=h: h(t).get("serving", 1)))
        sc.put("psyche_exporter_collector_interval_seconds", lb, served(lambda t, c=c: intervals[c]))
        sc.put("psyche_exporter_collector_last_success_timestamp_seconds", lb,
               served(lambda t, h=h: h(t).get("last_success", t * 60)))
        sc.put("psyche_exporter_collector_poll_duration_seconds", lb, served(lambda t: 0.25))
        for kind in ERROR_KINDS:
            sc.put("psyche_exporter_collector_poll_errors_total", {**lb, "kind": kind},
                   served(lambda t, h=h, kind=kind: h(t).get("errors", {}).get(kind, 0)))
        sc.put("psyche_exporter_upstream_requests_total", {**lb, "method": "getHealth"},
               served(lambda t: 4 * t))
        sc.put("psyche_exporter_upstream_bytes_total", lb, served(lambda t: 2000 * t))
    return base


def endpoint(sc, base, url, up=lambda t: 1, behind=lambda t: 0):
    lb = {**base, "endpoint": url}
    sc.put("psyche_solana_rpc_info", {**lb, "cluster": "devnet", "version": "2.2.7"}, lambda t: 1)
    sc.put("psyche_solana_rpc_up", lb, up)
    sc.put("psyche_solana_rpc_latency_seconds", lb, lambda t: 0.08)
    sc.put("psyche_solana_slots_behind", lb, behind)
    for c in ("processed", "confirmed", "finalized"):
        sc.put("psyche_solana_slot", {**lb, "commitment": c}, lambda t: 349_000_000 + 150 * t)


# ---------------------------------------------------------------- a training run


class Life:
    """What a run does each minute: its state, and the derived counters.

    `plan` is a list of (minutes, kind): "epochs" trains epochs of `train`
    minutes (1 minute waiting for members, 1 warmup, `train` alternating
    round_train/round_witness, 1 cooldown), "paused", "waiting", "finished".
    Each training minute is `steps` steps. A checkpoint of the epoch's last
    step reaches the Hub `upload` minutes after its cooldown ends, unless the
    minute is in `stall` (from that minute on, no upload lands)."""

    def __init__(self, plan, train=10, steps=1, upload=2, stall=None, step0=1000, epoch0=10):
        self.rows = []
        state, step, epoch, start = None, step0, epoch0, 0
        uploads = []  # (minute it lands, step, ts)
        ckpt = (step0, -600)  # the checkpoint before minute 0: step, unix time
        t = 0
        for minutes, kind in plan:
            end = t + minutes
            while t < end:
                if kind == "epochs":
                    cycle = train + 3
                    pos = (t - (end - minutes)) % cycle
                    if pos == 0:
                        new = "waiting_for_members"
                    elif pos == 1:
                        new = "warmup"
                        epoch += 1
                    elif pos < cycle - 1:
                        new = "round_train" if (pos - 2) % 2 == 0 else "round_witness"
                    else:
                        new = "cooldown"
                        if stall is None or t < stall:
                            uploads.append((t + 1 + upload, step - 1, (t + 1 + upload) * 60))
                    if new.startswith("round_"):
                        step += steps
                else:
                    new = {"paused": "paused", "waiting": "waiting_for_members", "finished": "finished"}[kind]
                if new != state:
                    state, start = new, t * 60
                for u in [u for u in uploads if u[0] == t]:
                    ckpt = (u[1], u[2])
                self.rows.append({"state": state, "start": start, "step": step, "epoch": epoch,
                                  "ckpt_step": ckpt[0], "ckpt_ts": ckpt[1]})
                t += 1
        self.rows.append(dict(self.rows[-1]))

    def at(self, t):
        return self.rows[min(t, len(self.rows) - 1)]


def run(sc, base, run_id, life, epoch_time=600, warmup=120, cooldown=120, min_clients=4, healthy=8,
        repo=None, verified=lambda t: 1, funded=None, total_steps=1_000_000):
    """Every family the exporter serves for one run (coordinator, the Hub join, the treasurer)."""
    lb = {**base, "program": PROGRAM, "run_id": run_id}
    repo = repo or f"PsycheFoundation/{run_id}"
    sc.put("psyche_run_info", {**lb, "name": run_id, "account": "9gEKgj6f3sjYkKPN6Kki4aABFjLzB6vwmiocTvfgzuax",
                               "layout": "v1", "architecture": "hf_llama", "data_type": "pretraining",
                               "client_version": "psyche-client-v0.2.1"}, lambda t: 1)
    for s in STATES:
        sc.put("psyche_run_state", {**lb, "state": s}, lambda t, s=s: int(life.at(t)["state"] == s))
    sc.put("psyche_run_step", lb, lambda t: life.at(t)["step"])
    sc.put("psyche_run_total_steps", lb, lambda t: total_steps)
    sc.put("psyche_run_epoch", lb, lambda t: life.at(t)["epoch"])
    sc.put("psyche_run_progress_ratio", lb, lambda t: round((life.at(t)["step"] - 1) / total_steps, 6))
    for s in CLIENT_STATES:
        sc.put("psyche_run_epoch_clients", {**lb, "state": s},
               lambda t, s=s: healthy if s == "healthy" and life.at(t)["state"] not in
               ("paused", "finished") else 0)
        sc.put("psyche_run_exited_clients", {**lb, "state": s}, lambda t: 0)
    sc.put("psyche_run_min_clients", lb, lambda t: min_clients)
    sc.put("psyche_run_init_min_clients", lb, lambda t: min_clients)
    sc.put("psyche_run_pending_clients", lb, lambda t: 0)
    sc.put("psyche_run_registered_clients", lb, lambda t: 40)
    sc.put("psyche_run_pending_pause", lb, lambda t: 0)
    sc.put("psyche_run_epoch_time_seconds", lb, lambda t: epoch_time)
    timeouts = {"warmup": warmup, "round_train": 150, "round_witness": 25, "cooldown": cooldown}
    for p in PHASES:
        sc.put("psyche_run_phase_timeout_seconds", {**lb, "phase": p}, lambda t, p=p: timeouts[p])
    sc.put("psyche_run_state_start_timestamp_seconds", lb, lambda t: life.at(t)["start"])
    sc.put("psyche_run_phase_deadline_timestamp_seconds", lb,
           lambda t: life.at(t)["start"] + timeouts[life.at(t)["state"]]
           if life.at(t)["state"] in timeouts else None)
    sc.put("psyche_run_tokens_trained", lb, lambda t: life.at(t)["step"] * 2_097_152)
    sc.put("psyche_run_tokens_per_step", lb, lambda t: 2_097_152)
    sc.put("psyche_run_nonce", lb, lambda t: 5000 + t)
    # The Hub join.
    sc.put("psyche_run_checkpoint_info", {**lb, "kind": "hub", "repo": repo, "revision": "5b1e7c0d"},
           lambda t: 1)
    sc.put("psyche_run_checkpoint_timestamp_seconds", lb, lambda t: life.at(t)["ckpt_ts"])
    sc.put("psyche_run_checkpoint_step", lb, lambda t: life.at(t)["ckpt_step"])
    sc.put("psyche_run_checkpoint_lag_steps", lb, lambda t: life.at(t)["step"] - life.at(t)["ckpt_step"])
    sc.put("psyche_run_checkpoint_verified", lb, verified)
    if funded is not None:
        sc.put("psyche_treasurer_run_info", {**lb, "treasurer_run": "W18VYADXf32E6gaHFfdsfj5zmuBCNEvpfC7VCBompGa",
                                             "collateral_mint": "22LNhhyLF1GBZSTq6PZU6QM5VBX878TX2AtqGECtSq1L"},
               lambda t: 1)
        sc.put("psyche_treasurer_funded_epochs", lb, lambda t: funded)
        sc.put("psyche_treasurer_vault_balance_tokens", lb, lambda t: 2500)
        sc.put("psyche_treasurer_claimed_points", lb, lambda t: 100_000)
        sc.put("psyche_treasurer_unclaimed_points", lb, lambda t: 20_000)
    return lb


def hub_repo(sc, base, repo, state=lambda t: "ok"):
    lb = {**base, "repo": repo}
    sc.put("psyche_hf_model_info", {**lb, "pipeline_tag": "text-generation", "library": "transformers"},
           lambda t: 1 if state(t) == "ok" else None)
    for s in ("ok", "unauthorized", "not_found"):
        sc.put("psyche_hf_model_state", {**lb, "state": s}, lambda t, s=s: int(state(t) == s))
    sc.put("psyche_hf_model_downloads", lb, lambda t: 1200 if state(t) == "ok" else None)


def pool(sc, base, name, index, fill, frozen=0):
    lb = {**base, "pool": name, "index": str(index)}
    sc.put("psyche_pool_info", {**lb, "program": "CQy5JKR2Lrm16pqSY5nkMaMYSazRk2aYx99pJDNGupR7",
                                "collateral_mint": "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"}, lambda t: 1)
    sc.put("psyche_pool_max_deposit_tokens", lb, lambda t: 1_000_000)
    sc.put("psyche_pool_deposited_tokens", lb, lambda t: 1_000_000 * fill(t))
    sc.put("psyche_pool_remaining_tokens", lb, lambda t: 1_000_000 * (1 - fill(t)))
    sc.put("psyche_pool_fill_ratio", lb, fill)
    sc.put("psyche_pool_full", lb, lambda t: int(fill(t) >= 1))
    sc.put("psyche_pool_frozen", lb, lambda t: frozen)
    sc.put("psyche_pool_claiming_enabled", lb, lambda t: 0)
    sc.put("psyche_pool_lenders", lb, lambda t: 120)


def alert(name, severity, lbls, summary, description):
    return ({**lbls, "severity": severity},
            {"summary": summary, "description": description, "runbook_url": RUNBOOK + name.lower()})


# ================================================================ scenarios


def exporter_targets():
    """The exporter goes down; a node_exporter in a job named like it is down
    from the start; another exporter job vanishes from discovery."""
    sc = Scenario("exporter targets: down, vanished, a node_exporter that is not the exporter", 60)
    target(sc, "psyche", "exp:10580", up=lambda t: 1 if t < 10 else 0)
    target(sc, "psyche-dev", "dev:10580", up=lambda t: 1 if t < 20 else "stale")
    target(sc, "psyche-prod", "prod:10580")
    sc.put("up", {"job": "psyche-nodes", "instance": "gpu-1:9100"}, lambda t: 0)
    sc.put("node_load1", {"job": "psyche-nodes", "instance": "gpu-1:9100"}, lambda t: None)
    down = alert("PsycheExporterDown", "critical", {"job": "psyche", "instance": "exp:10580"},
                 "psyche-exporter exp:10580 is down",
                 "Prometheus cannot scrape exp:10580 (job psyche): no Psyche data at all.")
    for m in (5, 14):
        sc.expect(m, "PsycheExporterDown")
    sc.expect(16, "PsycheExporterDown", down)
    sc.expect(50, "PsycheExporterDown", down)
    sc.expect(25, "PsycheExporterAbsent")
    sc.expect(31, "PsycheExporterAbsent",
              alert("PsycheExporterAbsent", "critical", {"job": "psyche-dev"},
                    "Job psyche-dev has no psyche-exporter target any more",
                    "Job psyche-dev served psyche_exporter_build_info in the last 7 days but Prometheus "
                    "discovers no target for it now: nothing watches the Psyche network."))
    return sc


def collectors():
    """exp: the coordinator's RPC answers an account layout the exporter
    cannot decode (from minute 5); the telemetry collector's data is dropped
    (from minute 10); one of two Solana RPC endpoints is down (the solana
    collector fails with it). ok: every collector healthy."""
    sc = Scenario("collectors: decode errors, data dropped, one RPC endpoint down", 60)

    def health(c, t):
        if c == "coordinator" and t >= 5:
            return {"up": 0, "errors": {"decode": 3 * (t - 4)}, "last_success": 5 * 60 - 30}
        if c == "telemetry" and t >= 10:
            return {"up": 0, "serving": 0, "errors": {"timeout": t - 9}, "last_success": 9 * 60}
        if c == "solana":
            return {"up": 0, "errors": {"http": t}}
        return None

    base = target(sc, "psyche", "exp:10580", health=health)
    endpoint(sc, base, "https://bad.example", up=lambda t: 0)
    endpoint(sc, base, "https://good.example")
    ok = target(sc, "psyche", "ok:10580")
    endpoint(sc, ok, "https://good.example")
    lb = lambda c: {"job": "psyche", "instance": "exp:10580", "collector": c}
    sc.expect(12, "PsycheCollectorFailing",
              alert("PsycheCollectorFailing", "warning", lb("solana"),
                    "Collector solana has been failing for 10 minutes",
                    "The solana collector's polls fail or are incomplete; the landing page of exp:10580 "
                    "shows the last error."))
    sc.expect(16, "PsycheCollectorFailing", *[
        alert("PsycheCollectorFailing", "warning", lb(c), f"Collector {c} has been failing for 10 minutes",
              f"The {c} collector's polls fail or are incomplete; the landing page of exp:10580 shows the "
              "last error.") for c in ("solana", "coordinator")])
    sc.expect(9, "PsycheSolanaRpcDown")
    sc.expect(11, "PsycheSolanaRpcDown",
              alert("PsycheSolanaRpcDown", "warning", {"job": "psyche", "instance": "exp:10580",
                                                        "endpoint": "https://bad.example"},
                    "Solana RPC https://bad.example is down",
                    "https://bad.example has not answered getHealth with ok for 10 minutes."))
    sc.expect(14, "PsycheCollectorNotServing")
    sc.expect(16, "PsycheCollectorNotServing",
              alert("PsycheCollectorNotServing", "critical", lb("telemetry"), "Collector telemetry serves no data",
                    "exp:10580 dropped the telemetry collector's data (its last good poll is older than its max "
                    "age): its dashboards are blank and the alerts on its data cannot fire."))
    sc.expect(30, "PsycheDecodeErrors")
    sc.expect(40, "PsycheDecodeErrors",
              alert("PsycheDecodeErrors", "warning", {**lb("coordinator"), "kind": "decode"},
                    "Collector coordinator cannot decode what its upstream sends",
                    "The coordinator collector of exp:10580 has had decode errors for 30 minutes (45 in the last "
                    "15): an upstream layout changed; upgrade the exporter."))
    sc.expect(4, "PsycheCollectorStale")
    sc.expect(9, "PsycheCollectorStale",
              alert("PsycheCollectorStale", "warning", lb("coordinator"), "Collector coordinator has no fresh data",
                    "The last successful coordinator poll was 4m 30s ago, more than three poll intervals; its "
                    "data is being dropped."))
    return sc


CADENCE = 600 + 120 + 120  # epoch_time + warmup + cooldown timeouts: 14 minutes


def checkpoints():
    """Epochs of 10 training minutes (13 with the wait, warmup and cooldown),
    cadence 14 minutes. resumed-ok and resumed-stalled were paused for 5 hours
    with a checkpoint from before the pause; resumed-ok uploads again at the
    end of its first epoch, resumed-stalled never does. stalled trains on and
    its uploads stop at minute 100. healthy uploads every epoch. paused and
    finished have old checkpoints and never page."""
    sc = Scenario("checkpoints: resume after a pause, uploads stalled while epochs go on", 400)
    base = target(sc, "psyche", "exp:10580")
    resume = [(26, "epochs"), (300, "paused"), (74, "epochs")]
    run(sc, base, "resumed-ok", Life(resume))
    run(sc, base, "resumed-stalled", Life(resume, stall=326))
    run(sc, base, "stalled", Life([(400, "epochs")], stall=100))
    run(sc, base, "healthy", Life([(400, "epochs")]))
    run(sc, base, "paused", Life([(10, "epochs"), (390, "paused")]))
    run(sc, base, "finished", Life([(10, "epochs"), (390, "finished")]))
    for r in ("resumed-ok", "resumed-stalled", "stalled", "healthy", "paused", "finished"):
        hub_repo(sc, base, f"PsycheFoundation/{r}")
    lb = lambda r: {"job": "psyche", "instance": "exp:10580", "program": PROGRAM, "run_id": r}
    sc.expect_expr(30, 'psyche:run_checkpoint_cadence_seconds{run_id="healthy"}', [(lb("healthy"), CADENCE)])
    # stalled: its last upload lands at minute 93 (the epoch ending at 90);
    # past 2 × 14 minutes at 121, pending 15 minutes.
    sc.expect(130, "PsycheCheckpointStale")
    stale = lambda r, age: alert(
        "PsycheCheckpointStale", "critical", lb(r), f"Run {r} has no new checkpoint for {age}",
        f"Training run {r} (program {PROGRAM}) is training but its newest checkpoint on the Hub is {age} old, "
        "more than twice its expected cadence (one per epoch) of training time.")
    sc.expect(140, "PsycheCheckpointStale", stale("stalled", "47m 0s"))
    # The runs resume at minute 326: no page shortly after, with a 5-hour-old
    # checkpoint (the former rule paged from minute 341).
    sc.expect(345, "PsycheCheckpointStale", stale("stalled", "4h 12m 0s"))
    # resumed-stalled: due 2 × 14 minutes after it resumed, pending 15.
    sc.expect(370, "PsycheCheckpointStale", stale("resumed-stalled", "5h 42m 0s"), stale("stalled", "4h 37m 0s"))
    return sc


def fast_run():
    """A fast run: 50 steps a minute, hour-long epochs (3000 steps each), its
    checkpoint reaching the Hub 3 minutes after each epoch: the lag is a
    sawtooth up to 3051 steps, above the former fixed 500 for most of each
    epoch (the former rule paged every epoch). fast-stalled's uploads stop at minute 200."""
    sc = Scenario("checkpoint lag: a fast run's own cadence", 480)
    base = target(sc, "psyche", "exp:10580")
    plan = [(480, "epochs")]
    run(sc, base, "fast", Life(plan, train=60, steps=50, upload=3), epoch_time=3600)
    run(sc, base, "fast-stalled", Life(plan, train=60, steps=50, upload=3, stall=200), epoch_time=3600)
    for r in ("fast", "fast-stalled"):
        hub_repo(sc, base, f"PsycheFoundation/{r}")
    lb = lambda r: {"job": "psyche", "instance": "exp:10580", "program": PROGRAM, "run_id": r}
    sc.expect_expr(400, "psyche:run_steps_per_epoch", [(lb("fast"), 2850), (lb("fast-stalled"), 2850)])
    sc.expect_expr(400, "max_over_time(psyche_run_checkpoint_lag_steps{run_id=\"fast\"}[6h])",
                   [(lb("fast"), 3051)])
    for m in (100, 200, 300):
        sc.expect(m, "PsycheCheckpointLagging")
    # fast-stalled's last upload lands at minute 192; its lag passes
    # 2 × 2850 steps about two epochs later; pending 30 minutes.
    sc.expect(400, "PsycheCheckpointLagging",
              alert("PsycheCheckpointLagging", "warning", lb("fast-stalled"),
                    "Run fast-stalled's checkpoint is 10051 steps behind training",
                    "The newest checkpoint of run fast-stalled is 10051 steps behind the step in progress, more "
                    "than two epochs of its own cadence."))
    return sc


def runs_and_funding():
    """waiting: stuck waiting for members from minute 10; treasuries low for an
    active and a finished run (only the active one pages); pools almost full,
    frozen, half full; a repo the Hub refuses, named by a run's checkpoint."""
    sc = Scenario("waiting for members, treasuries, pools, Hub repos", 200)
    base = target(sc, "psyche", "exp:10580")
    run(sc, base, "waiting", Life([(10, "epochs"), (190, "waiting")]), funded=40)
    run(sc, base, "low", Life([(200, "epochs")]), funded=2)
    run(sc, base, "done", Life([(10, "epochs"), (190, "finished")]), funded=1)
    run(sc, base, "private", Life([(200, "epochs")]), repo="PsycheFoundation/private",
        verified=lambda t: int(t < 5))
    for r in ("waiting", "low", "done"):
        hub_repo(sc, base, f"PsycheFoundation/{r}")
    hub_repo(sc, base, "PsycheFoundation/private", state=lambda t: "ok" if t < 5 else "unauthorized")
    pool(sc, base, "PoolAlmost", 0, lambda t: 0.5 if t < 10 else 0.95)
    pool(sc, base, "PoolFrozen", 1, lambda t: 1, frozen=1)
    pool(sc, base, "PoolHalf", 2, lambda t: 0.5)
    lb = lambda r: {"job": "psyche", "instance": "exp:10580", "program": PROGRAM, "run_id": r}
    sc.expect(140, "PsycheRunWaitingForMembers")
    sc.expect(150, "PsycheRunWaitingForMembers",
              alert("PsycheRunWaitingForMembers", "warning", lb("waiting"),
                    "Run waiting has been waiting for members for 2h 20m 0s",
                    f"Run waiting (program {PROGRAM}) has not had enough clients to start an epoch for 2h 20m 0s; "
                    "it trains nothing until init_min_clients join."))
    sc.expect(50, "PsycheTreasuryLow")
    sc.expect(70, "PsycheTreasuryLow",
              alert("PsycheTreasuryLow", "warning", lb("low"), "Run low's treasury funds 2 more epochs",
                    "At the current earning rate the reward vault of run low covers only 2 more epochs beyond "
                    "what is already owed."))
    sc.expect(60, "PsycheMiningPoolAlmostFull")
    sc.expect(75, "PsycheMiningPoolAlmostFull",
              alert("PsycheMiningPoolAlmostFull", "info",
                    {"job": "psyche", "instance": "exp:10580", "pool": "PoolAlmost", "index": "0"},
                    "Mining pool 0 is 95% full",
                    "Mining pool PoolAlmost holds 95% of its maximum deposit; lenders will soon be turned away "
                    "unless its capacity is raised."))
    sc.expect(70, "PsycheMiningPoolFrozen",
              alert("PsycheMiningPoolFrozen", "info",
                    {"job": "psyche", "instance": "exp:10580", "pool": "PoolFrozen", "index": "1"},
                    "Mining pool 1 is frozen", "Mining pool PoolFrozen no longer accepts deposits."))
    sc.expect(30, "PsycheHubRepoNotReadable")
    sc.expect(40, "PsycheHubRepoNotReadable",
              alert("PsycheHubRepoNotReadable", "warning",
                    {"job": "psyche", "instance": "exp:10580", "repo": "PsycheFoundation/private",
                     "state": "unauthorized"},
                    "HuggingFace repo PsycheFoundation/private is not readable (unauthorized)",
                    "The Hub answers unauthorized for PsycheFoundation/private (401/403: private, gated or the "
                    "token lacks access; 404: renamed or deleted): the checkpoints of the runs that name it "
                    "cannot be checked."))
    sc.expect(30, "PsycheCheckpointNotOnHub")
    sc.expect(40, "PsycheCheckpointNotOnHub",
              alert("PsycheCheckpointNotOnHub", "warning", {**lb("private"), "repo": "PsycheFoundation/private"},
                    "Run private: the on-chain checkpoint is not on the Hub",
                    "The revision run private records on chain does not exist in its HuggingFace repo "
                    "PsycheFoundation/private (or the repo is missing or private)."))
    return sc


SCENARIOS = [exporter_targets, collectors, checkpoints, fast_run, runs_and_funding]


# ---------------------------------------------------------------- YAML


def q(s):
    return json.dumps(s, ensure_ascii=False)


def render():
    out = ["# Generated by deploy/prometheus/scenarios.py: edit that, then run it.",
           "# promtool test rules alerts.scenarios.test.yml",
           "rule_files:", "  - alerts.yml", "evaluation_interval: 1m", "", "tests:"]
    for make in SCENARIOS:
        sc = make()
        out.append(f"  # {sc.name}")
        for line in (make.__doc__ or "").strip().splitlines():
            out.append(f"  # {line.strip()}")
        out += ["  - interval: 1m", "    input_series:"]
        for key, values in sc.series.items():
            out.append(f"      - series: {q(key)}")
            out.append(f"        values: {q(encode(values))}")
        if sc.exprs:
            out.append("    promql_expr_test:")
            for minute, expr, samples in sc.exprs:
                out += [f"      - expr: {q(expr)}", f"        eval_time: {minute}m", "        exp_samples:"]
                for lbls, value in samples:
                    name = expr.split("{")[0] if "(" not in expr else ""
                    out.append(f"          - labels: {q(name + labels(lbls))}")
                    out.append(f"            value: {value}")
        out.append("    alert_rule_test:")
        for minute, name, firing in sc.alerts:
            out += [f"      - eval_time: {minute}m", f"        alertname: {name}"]
            if not firing:
                out.append("        exp_alerts: []")
                continue
            out.append("        exp_alerts:")
            for lbls, ann in firing:
                out.append("          - exp_labels:")
                for k, v in lbls.items():
                    out.append(f"              {k}: {q(v)}")
                out.append("            exp_annotations:")
                for k, v in ann.items():
                    out.append(f"              {k}: {q(v)}")
        out.append("")
    return "\n".join(out)


def main():
    text = render()
    if "--check" in sys.argv[1:]:
        with open(OUT, encoding="utf-8") as f:
            if f.read() != text:
                print(f"{OUT} is stale: run python3 {os.path.relpath(__file__)}", file=sys.stderr)
                return 1
        return 0
    with open(OUT, "w", encoding="utf-8") as f:
        f.write(text)
    print(OUT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
