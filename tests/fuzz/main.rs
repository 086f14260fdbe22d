//! A fuzz driver for every decoder of untrusted bytes, on the stable toolchain (no
//! cargo-fuzz): a seeded PRNG makes random inputs, truncations and mutations of the real
//! account fixtures and of valid encodings (`targets.rs`), each decode runs under
//! `catch_unwind`, and a counting global allocator measures the peak bytes allocated while
//! it runs, which must stay within the target's bound: `k × input bytes + c (+ the cap the
//! caller passes)`.
//!
//! A `harness = false` test: `cargo test` runs a short run (10⁵ inputs in all, a few
//! seconds); the long run is `cargo test --release --test fuzz -- --inputs 10000000`.
//! Flags: `--inputs N` (total over the targets, default 100,000, or `FUZZ_INPUTS`),
//! `--seed N`, `--replay TARGET CASE BUDGET` (write one input to a file and decode it with
//! the default panic hook; a finding prints the command), and name filters as `cargo test` passes them (`fuzz::pool`).
//! Every input is a pure function of (seed, target, case), so a finding is reproduced
//! by its case number; panicking or over-bound inputs are also written to
//! `$CARGO_TARGET_TMPDIR/fuzz/`. The process fails on any finding.

// The counting allocator must implement `GlobalAlloc`, an `unsafe trait`; the crate denies
// `unsafe_code`, so this test binary (and only it) allows it. The impl forwards every call to
// `System` unchanged and only adds atomic counters.
#![allow(unsafe_code)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod generate;
mod targets;

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Write as _;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

use generate::{Case, Rng, Seeds};
use targets::{Input, TARGETS, Target};

/// Bytes currently allocated through the global allocator.
static CURRENT: AtomicUsize = AtomicUsize::new(0);
/// Highest `CURRENT` since the last [`Meter::start`].
static PEAK: AtomicUsize = AtomicUsize::new(0);
/// `CURRENT` when the measured decode started.
static BASE: AtomicUsize = AtomicUsize::new(0);
/// Whether a decode is being measured.
static ARMED: AtomicBool = AtomicBool::new(false);
/// Which target and case is being decoded, for the message of the hard limit.
static TARGET: AtomicUsize = AtomicUsize::new(0);
static CASE: AtomicU64 = AtomicU64::new(0);
static BUDGET: AtomicU64 = AtomicU64::new(0);

/// One decode asking for more than this in all is stopped (the allocation fails and the
/// process aborts) after a message naming the target and case: a way to report an
/// allocation that would otherwise exhaust the machine.
const HARD_LIMIT: usize = 256 << 20;

struct Counting;

impl Counting {
    /// Whether `more` bytes may be allocated now; prints the finding when not.
    fn admit(more: usize) -> bool {
        if !ARMED.load(Relaxed) {
            return true;
        }
        let used = CURRENT
            .load(Relaxed)
            .saturating_sub(BASE.load(Relaxed))
            .saturating_add(more);
        if used <= HARD_LIMIT {
            return true;
        }
        // No allocation here: format into a stack buffer, write it unbuffered.
        let mut buf = [0u8; 200];
        let mut out = std::io::Cursor::new(&mut buf[..]);
        let target = TARGETS.get(TARGET.load(Relaxed)).map_or("?", |t| t.name);
        let case = CASE.load(Relaxed);
        let _ = write!(
            out,
            "\nfuzz: FINDING {target} case {case}: one decode asks for {used} bytes (hard limit {HARD_LIMIT}); replay with --replay {target} {case} {}\n",
            BUDGET.load(Relaxed)
        );
        let n = usize::try_from(out.position()).unwrap_or(0);
        let _ = std::io::stderr().write_all(&buf[..n]);
        false
    }

    fn grew(by: usize) {
        let now = CURRENT.fetch_add(by, Relaxed) + by;
        PEAK.fetch_max(now, Relaxed);
    }

    fn shrank(by: usize) {
        CURRENT.fetch_sub(by, Relaxed);
    }
}

// SAFETY: every method forwards to `System` with the caller's arguments and returns its
// result unchanged (or null, which `GlobalAlloc` allows, when the hard limit is hit).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if !Self::admit(layout.size()) {
            return std::ptr::null_mut();
        }
        // SAFETY: the caller's contract is System's.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            Self::grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if !Self::admit(layout.size()) {
            return std::ptr::null_mut();
        }
        // SAFETY: as above.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            Self::grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) };
        Self::shrank(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let old = layout.size();
        if new_size > old && !Self::admit(new_size - old) {
            return std::ptr::null_mut();
        }
        // SAFETY: as above.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= old {
                Self::grew(new_size - old);
            } else {
                Self::shrank(old - new_size);
            }
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Measures the peak bytes allocated between `start` and `stop` above what was allocated
/// at `start`. The driver is single-threaded, so every allocation counted is the decoder's.
fn measure<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = CURRENT.load(Relaxed);
    BASE.store(base, Relaxed);
    PEAK.store(base, Relaxed);
    ARMED.store(true, Relaxed);
    let out = f();
    ARMED.store(false, Relaxed);
    (out, PEAK.load(Relaxed).saturating_sub(base))
}

/// The message of the last panic, recorded by the hook installed for the run.
static LAST_PANIC: Mutex<String> = Mutex::new(String::new());

struct Options {
    inputs: u64,
    seed: u64,
    replay: Option<(String, u64, u64)>,
    filters: Vec<String>,
    list: bool,
}

fn options() -> Options {
    let mut o = Options {
        inputs: std::env::var("FUZZ_INPUTS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(100_000),
        seed: 0x005e_ed0f_f022,
        replay: None,
        filters: Vec::new(),
        list: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--inputs" => {
                o.inputs = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--inputs N")
            }
            "--seed" => o.seed = args.next().and_then(|v| v.parse().ok()).expect("--seed N"),
            "--replay" => {
                let usage = "--replay TARGET CASE BUDGET";
                let target = args.next().expect(usage);
                let case = args.next().and_then(|v| v.parse().ok()).expect(usage);
                let budget = args.next().and_then(|v| v.parse().ok()).expect(usage);
                o.replay = Some((target, case, budget));
            }
            "--list" => o.list = true,
            // libtest's own flags, as `cargo test -- ...` may pass them: nothing to do.
            "--skip" | "--test-threads" | "--format" | "--color" | "-Z" | "--logfile" => {
                args.next();
            }
            flag if flag.starts_with('-') => {}
            filter => o.filters.push(filter.to_owned()),
        }
    }
    o
}

fn selected(o: &Options, t: &Target) -> bool {
    let name = format!("fuzz::{}", t.name);
    o.filters.is_empty() || o.filters.iter().any(|f| name.contains(f.as_str()))
}

/// Per-target statistics of a run.
#[derive(Default)]
struct Stats {
    inputs: u64,
    decoded: u64,
    bytes: u64,
    max_size: usize,
    max_peak: usize,
    /// Largest peak (less the caller's cap) over the input size, among inputs of at least
    /// 64 bytes.
    max_ratio: f64,
    /// Smallest `c` the target's `k` would need: max of peak − cap − k × size.
    need_c: usize,
    /// The slowest decode.
    slowest: Duration,
    panics: u64,
    over_bound: u64,
    time: Duration,
}

fn findings_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz")
}

fn case_seed(seed: u64, target: usize, case: u64) -> u64 {
    let mut r = Rng::new(seed ^ (target as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    r.next_u64() ^ case.wrapping_mul(0xd1b5_4a32_d192_ed03)
}

fn generate(t: &Target, index: usize, seeds: &Seeds, o: &Options, case: u64, budget: u64) -> Input {
    let mut c = Case {
        rng: Rng::new(case_seed(o.seed, index, case)),
        seeds,
        index: case,
        budget,
    };
    (t.generate)(&mut c)
}

/// Writes the input of a finding to a file; returns its path.
fn dump(t: &Target, case: u64, budget: u64, input: &Input, what: &str) -> String {
    let dir = findings_dir();
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join(format!("{}-{case}.{}", t.name, input.extension()));
    let _ = std::fs::write(&path, input.dump());
    let shown = format!(
        "{} (replay: --replay {} {case} {budget})",
        path.display(),
        t.name
    );
    eprintln!(
        "fuzz: FINDING {} case {case}: {what}; input in {shown}",
        t.name
    );
    shown
}

fn run_target(
    o: &Options,
    index: usize,
    t: &Target,
    budget: u64,
    failures: &mut Vec<String>,
) -> Stats {
    let seeds = Seeds::new((t.seeds)());
    let mut s = Stats::default();
    let started = Instant::now();
    TARGET.store(index, Relaxed);
    BUDGET.store(budget, Relaxed);
    for case in 0..budget {
        CASE.store(case, Relaxed);
        let input = generate(t, index, &seeds, o, case, budget);
        let size = input.size();
        let allowance = input.allowance();
        let bound = t.bound(size, allowance);
        let clock = Instant::now();
        let (result, peak) = measure(|| catch_unwind(AssertUnwindSafe(|| (t.decode)(input))));
        s.slowest = s.slowest.max(clock.elapsed());
        s.inputs += 1;
        s.bytes += size as u64;
        s.max_size = s.max_size.max(size);
        s.max_peak = s.max_peak.max(peak);
        let own = peak.saturating_sub(allowance);
        if size >= 64 {
            s.max_ratio = s.max_ratio.max(own as f64 / size as f64);
        }
        s.need_c = s.need_c.max(own.saturating_sub(t.k.saturating_mul(size)));
        match result {
            Ok(ok) => s.decoded += u64::from(ok),
            Err(_) => {
                s.panics += 1;
                if s.panics <= 5 {
                    let message = LAST_PANIC.lock().map(|m| m.clone()).unwrap_or_default();
                    let input = generate(t, index, &seeds, o, case, budget);
                    let path = dump(t, case, budget, &input, &format!("panic: {message}"));
                    failures.push(format!(
                        "{} case {case} panicked ({message}): {path}",
                        t.name
                    ));
                }
            }
        }
        if peak > bound {
            s.over_bound += 1;
            if s.over_bound <= 5 {
                let input = generate(t, index, &seeds, o, case, budget);
                let what =
                    format!("peak allocation {peak} B for {size} input bytes (bound {bound})");
                let path = dump(t, case, budget, &input, &what);
                failures.push(format!("{} case {case}: {what}: {path}", t.name));
            }
        }
    }
    s.time = started.elapsed();
    s
}

/// `VmHWM` of this process (peak resident set), in KiB; counts the C allocations (zstd)
/// the global allocator cannot see.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The process's peak RSS must stay under this (the fixtures, the seeds and a few zstd
/// contexts take a few tens of MiB).
const RSS_LIMIT_KIB: u64 = 256 << 10;

fn replay(o: &Options, target: &str, case: u64, budget: u64) {
    let (index, t) = TARGETS
        .iter()
        .enumerate()
        .find(|(_, t)| t.name == target)
        .unwrap_or_else(|| panic!("no target {target}"));
    let seeds = Seeds::new((t.seeds)());
    let input = generate(t, index, &seeds, o, case, budget);
    let dir = findings_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{target}-{case}.{}", input.extension()));
    std::fs::write(&path, input.dump()).unwrap();
    let size = input.size();
    let bound = t.bound(size, input.allowance());
    eprintln!(
        "fuzz: {target} case {case}: {size} bytes, written to {}",
        path.display()
    );
    let (ok, peak) = measure(|| (t.decode)(input));
    eprintln!("fuzz: decoded: {ok}, peak allocation {peak} B (bound {bound})");
}

fn main() {
    let o = options();
    if o.list {
        for t in TARGETS.iter().filter(|t| selected(&o, t)) {
            println!("fuzz::{}: test", t.name);
        }
        return;
    }
    if let Some((target, case, budget)) = &o.replay {
        replay(&o, target, *case, *budget);
        return;
    }
    let chosen: Vec<(usize, &Target)> = TARGETS
        .iter()
        .enumerate()
        .filter(|(_, t)| selected(&o, t))
        .collect();
    if chosen.is_empty() {
        return;
    }
    std::panic::set_hook(Box::new(|info| {
        if let Ok(mut m) = LAST_PANIC.lock() {
            *m = info.to_string();
        }
    }));
    let per_target = o.inputs.div_ceil(chosen.len() as u64);
    println!(
        "fuzz: {} inputs over {} targets, seed {}",
        per_target * chosen.len() as u64,
        chosen.len(),
        o.seed
    );
    println!(
        "{:<22} {:>10} {:>9} {:>10} {:>11} {:>11} {:>8} {:>8} {:>9} {:>8} {:>10}",
        "target",
        "inputs",
        "decoded",
        "max input",
        "bound k,c",
        "max peak B",
        "peak/in",
        "need c",
        "slowest",
        "secs",
        "inputs/s"
    );
    let mut failures = Vec::new();
    let started = Instant::now();
    let mut total = 0;
    for (index, t) in chosen {
        let s = run_target(&o, index, t, per_target, &mut failures);
        total += s.inputs;
        let secs = s.time.as_secs_f64();
        println!(
            "{:<22} {:>10} {:>9} {:>10} {:>11} {:>11} {:>8.2} {:>8} {:>9} {:>8.1} {:>10.0}",
            t.name,
            s.inputs,
            s.decoded,
            s.max_size,
            format!("{},{}", t.k, t.c),
            s.max_peak,
            s.max_ratio,
            s.need_c,
            format!("{:.0?}", s.slowest),
            secs,
            s.inputs as f64 / secs.max(1e-9),
        );
        if s.panics + s.over_bound > 0 {
            println!(
                "{:<22} {} panics, {} over the bound",
                "", s.panics, s.over_bound
            );
        }
        let _ = std::io::stdout().flush();
    }
    let secs = started.elapsed().as_secs_f64();
    let rss = peak_rss_kib();
    println!(
        "fuzz: {total} inputs in {secs:.1} s ({:.0} inputs/s), {} findings, peak RSS {} KiB",
        total as f64 / secs.max(1e-9),
        failures.len(),
        rss.map_or("?".into(), |r| r.to_string())
    );
    if let Some(rss) = rss.filter(|r| *r > RSS_LIMIT_KIB) {
        failures.push(format!("peak RSS {rss} KiB over {RSS_LIMIT_KIB} KiB"));
    }
    if !failures.is_empty() {
        for f in &failures {
            eprintln!("fuzz: {f}");
        }
        std::process::exit(1);
    }
}
