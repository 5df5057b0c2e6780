//! End-to-end load: the real `citebot run` binary against the Discord simulator (`crates/discord-sim`) on
//! loopback, at concurrency 1, 16 and 64.
//!
//! Run with `cargo bench --bench e2e_load`. Cargo builds the `citebot` binary with the bench
//! profile first (`CARGO_BIN_EXE_citebot`, i.e. `target/release/citebot`), so nothing has to be
//! built by hand. `CITEBOT_LOAD_N` sets the interactions per level (default 2000; concurrency 1
//! gets a quarter of it, at most 500). `CITEBOT_LOAD_RESPONSES` serves another responses folder
//! than `<repo>/responses` (e.g. a fixed copy while that one is being edited). `CITEBOT_LOAD_DB`
//! is the bot's question log: a path, or `off` to measure without it (default: a fresh file in
//! the bot's temporary folder, so the log is on, as it is by default in production).
//!
//! Each worker of a level loops: build an interaction, `dispatch_interaction`, `wait_callback`.
//! The mix: 40% fact commands (cycling through every card, some `private`), 50% `/ask` with
//! dev-set questions, 10% `/ask` autocomplete with the first half of a dev-set question; locales
//! alternate en-US / pt-BR; every interaction comes from a different user (a big server), so the
//! per-user cooldown on `/ask` never limits anyone.
//!
//! Measured per level:
//! - latency from just before `dispatch_interaction` to the moment the simulator recorded the
//!   bot's callback request (`Recorded::at`), and to `wait_callback` returning in the driver;
//! - throughput (interactions / wall time of the level);
//! - answered exactly once (`sim.callbacks(id).len() == 1`), lost, rejected, late (> 3 s,
//!   Discord's deadline: those would be lost on Discord);
//! - CPU time of the bot process and of this process (simulator + driver), from /proc;
//! - the bot's VmRSS / VmHWM idle after READY and right after each level.

use discord_sim as sim;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sim::{Route, SimConfig, SimError, Simulator};

use citebot_testkit::bot::Bot;

const WAIT: Duration = Duration::from_secs(10);
/// Discord's deadline for the first response to an interaction.
const DISCORD_DEADLINE: Duration = Duration::from_secs(3);
const USER_BASE: u64 = 910_000_000_000_000_000;

// Targets the project sets.
const E2E_P99_C1_TARGET_MS: f64 = 2.0;
const THROUGHPUT_C64_TARGET: f64 = 2000.0;
const IDLE_RSS_TARGET_MB: f64 = 30.0;

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `<repo>/responses`, or `CITEBOT_LOAD_RESPONSES` (to measure a fixed copy while `responses/`
/// is being edited).
fn responses_dir() -> PathBuf {
    std::env::var_os("CITEBOT_LOAD_RESPONSES")
        .filter(|v| !v.is_empty())
        .map_or_else(|| manifest_dir().join("responses"), PathBuf::from)
}

// ---------------------------------------------------------------------------------------------
// The bot process
// ---------------------------------------------------------------------------------------------

/// The real `citebot run` binary against the simulator, logging warnings only, with the question
/// log `CITEBOT_LOAD_DB` (or a fresh `citebot.db` in the bot's own folder).
fn start_bot(sim: &Simulator) -> Bot {
    let question_log = std::env::var("CITEBOT_LOAD_DB")
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "citebot.db".to_string());
    Bot::start(
        &sim.api_base(),
        sim.token(),
        &responses_dir(),
        &[("RUST_LOG", "warn"), ("CITEBOT_DB", &question_log)],
    )
}

/// The last `lines` lines the bot wrote.
fn log_tail(bot: &Bot, lines: usize) -> String {
    let log = bot.output();
    let all: Vec<&str> = log.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

// ---------------------------------------------------------------------------------------------
// /proc
// ---------------------------------------------------------------------------------------------

/// (VmRSS, VmHWM) in MiB.
fn memory_mib(pid: &str) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(f64::NAN, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// User + system CPU time of a whole process (all threads), in seconds.
fn cpu_seconds(pid: &str, ticks_per_second: f64) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name, which is in parentheses: state is field 3, utime 14, stime 15.
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return f64::NAN;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    (ticks(11) + ticks(12)) / ticks_per_second
}

/// Busy CPU time of the whole machine (every process, all cores), in seconds.
fn machine_busy_seconds(ticks_per_second: f64) -> f64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(cpu) = stat.lines().find(|l| l.starts_with("cpu ")) else {
        return f64::NAN;
    };
    let fields: Vec<f64> = cpu
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is already in user).
    let total: f64 = fields.iter().take(8).sum();
    let idle = fields.get(3).unwrap_or(&0.0) + fields.get(4).unwrap_or(&0.0);
    (total - idle) / ticks_per_second
}

fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

// ---------------------------------------------------------------------------------------------
// The workload
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Kind {
    Fact,
    Ask,
    Autocomplete,
}

impl Kind {
    const ALL: [Kind; 3] = [Kind::Fact, Kind::Ask, Kind::Autocomplete];

    fn name(self) -> &'static str {
        match self {
            Kind::Fact => "fact command",
            Kind::Ask => "/ask",
            Kind::Autocomplete => "autocomplete",
        }
    }
}

struct Workload {
    facts: Vec<String>,
    questions: Vec<String>,
    /// Interactions built so far, over all levels: gives every one its own user.
    serial: AtomicUsize,
}

impl Workload {
    fn load() -> Workload {
        let dir = responses_dir();
        let responses = citebot::Responses::load(&dir).unwrap_or_else(|problems| {
            panic!(
                "{} is not valid, the bot would refuse to start:\n{problems}",
                dir.display()
            )
        });
        let facts = responses.cards.iter().map(|c| c.command.clone()).collect();
        let path = manifest_dir().join("tests/data/devset.tsv");
        let questions = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .filter_map(|l| l.split_once('\t').map(|(_, q)| q.to_string()))
            .collect();
        Workload {
            facts,
            questions,
            serial: AtomicUsize::new(0),
        }
    }

    /// The i-th interaction of the mix: (kind, id, INTERACTION_CREATE payload).
    fn build(&self, sim: &Simulator, i: usize) -> (Kind, u64, Value) {
        let serial = self.serial.fetch_add(1, Ordering::Relaxed);
        let user = USER_BASE + serial as u64;
        let locale = if (i / 10).is_multiple_of(2) {
            "en-US"
        } else {
            "pt-BR"
        };
        let question = &self.questions[(i * 7) % self.questions.len()];
        let (kind, builder) = match i % 10 {
            0..=3 => {
                let fact = &self.facts[(i / 10 * 4 + i % 10) % self.facts.len()];
                let builder = sim.slash_command(fact);
                let builder = if i.is_multiple_of(7) {
                    builder.option("private", json!(true))
                } else {
                    builder
                };
                (Kind::Fact, builder)
            }
            4..=8 => (
                Kind::Ask,
                sim.slash_command("ask").option("question", json!(question)),
            ),
            _ => {
                let half: String = question
                    .chars()
                    .take(question.chars().count().div_ceil(2))
                    .collect();
                (
                    Kind::Autocomplete,
                    sim.autocomplete("ask", "question", &half),
                )
            }
        };
        let (id, payload) = builder.locale(locale).user(user).build();
        (kind, id, payload)
    }
}

// ---------------------------------------------------------------------------------------------
// One level
// ---------------------------------------------------------------------------------------------

enum Outcome {
    Answered(Instant),
    /// `wait_callback` timed out.
    Lost,
    /// The simulator rejected the bot's callback the way Discord would.
    Rejected(String),
    DispatchFailed(String),
}

struct Sample {
    kind: Kind,
    id: u64,
    started: Instant,
    outcome: Outcome,
}

struct Level {
    concurrency: usize,
    samples: Vec<Sample>,
    wall: Duration,
    /// When the simulator recorded the first accepted callback (`Recorded::at`), by interaction.
    recorded: HashMap<u64, Instant>,
    exactly_once: usize,
    duplicates: usize,
    missing: usize,
    cooldown_notices: usize,
    bot_cpu: f64,
    own_cpu: f64,
    machine_cpu: f64,
    bot_memory: (f64, f64),
    own_memory: (f64, f64),
    requests_before: usize,
    load: String,
}

async fn run_level(
    sim: &Simulator,
    workload: &Arc<Workload>,
    bot: &Bot,
    concurrency: usize,
    n: usize,
    ticks: f64,
) -> Level {
    let bot_pid = bot.pid().to_string();
    let load = load_average();
    let requests_before = sim.requests().len();
    let (bot_cpu0, own_cpu0, machine_cpu0) = (
        cpu_seconds(&bot_pid, ticks),
        cpu_seconds("self", ticks),
        machine_busy_seconds(ticks),
    );
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (sim, workload, next) = (sim.clone(), workload.clone(), next.clone());
        workers.push(tokio::spawn(async move {
            let mut samples = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return samples;
                }
                let (kind, id, payload) = workload.build(&sim, i);
                let started = Instant::now();
                let outcome = match sim.dispatch_interaction(payload).await {
                    Err(e) => Outcome::DispatchFailed(e.to_string()),
                    Ok(()) => match sim.wait_callback(id, WAIT).await {
                        Ok(_) => Outcome::Answered(Instant::now()),
                        Err(SimError::Timeout { .. }) => Outcome::Lost,
                        Err(e) => Outcome::Rejected(e.to_string()),
                    },
                };
                samples.push(Sample {
                    kind,
                    id,
                    started,
                    outcome,
                });
            }
        }));
    }
    let mut samples = Vec::with_capacity(n);
    for worker in workers {
        samples.extend(worker.await.expect("a load worker panicked"));
    }
    let wall = started.elapsed();
    let (bot_cpu, own_cpu, machine_cpu) = (
        cpu_seconds(&bot_pid, ticks) - bot_cpu0,
        cpu_seconds("self", ticks) - own_cpu0,
        machine_busy_seconds(ticks) - machine_cpu0,
    );
    let bot_memory = memory_mib(&bot_pid);
    let own_memory = memory_mib("self");

    // Give a second callback (a retry, a bug) time to show up before counting.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let ids: std::collections::HashSet<u64> = samples.iter().map(|s| s.id).collect();
    let mut recorded = HashMap::new();
    let mut cooldown_notices = 0;
    for r in sim.requests() {
        if let Route::InteractionCallback { interaction_id, .. } = r.route {
            if r.accepted() && ids.contains(&interaction_id) {
                recorded.entry(interaction_id).or_insert(r.at);
                let content = r.body["data"]["content"].as_str().unwrap_or("");
                if content.starts_with("Slow down") || content.starts_with("Calma") {
                    cooldown_notices += 1;
                }
            }
        }
    }
    let (mut exactly_once, mut duplicates, mut missing) = (0, 0, 0);
    for sample in &samples {
        match sim.callbacks(sample.id).len() {
            1 => exactly_once += 1,
            0 => missing += 1,
            _ => duplicates += 1,
        }
    }
    Level {
        concurrency,
        samples,
        wall,
        recorded,
        exactly_once,
        duplicates,
        missing,
        cooldown_notices,
        bot_cpu,
        own_cpu,
        machine_cpu,
        bot_memory,
        own_memory,
        requests_before,
        load,
    }
}

// ---------------------------------------------------------------------------------------------
// Statistics and tables
// ---------------------------------------------------------------------------------------------

struct Stats {
    n: usize,
    p50: f64,
    p99: f64,
    max: f64,
    mean: f64,
}

/// Milliseconds.
fn stats(mut values: Vec<f64>) -> Option<Stats> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable_by(f64::total_cmp);
    let q = |q: f64| values[((values.len() - 1) as f64 * q).round() as usize];
    Some(Stats {
        n: values.len(),
        p50: q(0.5),
        p99: q(0.99),
        max: values[values.len() - 1],
        mean: values.iter().sum::<f64>() / values.len() as f64,
    })
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

impl Level {
    /// Dispatch -> callback recorded by the simulator, ms.
    fn recorded_latencies(&self, kind: Option<Kind>) -> Vec<f64> {
        self.samples
            .iter()
            .filter(|s| kind.is_none_or(|k| s.kind == k))
            .filter_map(|s| {
                let at = self.recorded.get(&s.id)?;
                Some(ms(at.saturating_duration_since(s.started)))
            })
            .collect()
    }

    /// Dispatch -> `wait_callback` returned in the driver, ms.
    fn observed_latencies(&self) -> Vec<f64> {
        self.samples
            .iter()
            .filter_map(|s| match s.outcome {
                Outcome::Answered(at) => Some(ms(at.duration_since(s.started))),
                _ => None,
            })
            .collect()
    }

    fn count(&self, f: impl Fn(&Outcome) -> bool) -> usize {
        self.samples.iter().filter(|s| f(&s.outcome)).count()
    }

    fn late(&self) -> usize {
        self.recorded_latencies(None)
            .iter()
            .filter(|&&l| l > ms(DISCORD_DEADLINE))
            .count()
    }

    fn throughput(&self) -> f64 {
        self.samples.len() as f64 / self.wall.as_secs_f64()
    }
}

fn print_tables(idle: (f64, f64), levels: &[Level]) {
    println!();
    println!("end-to-end latency and throughput (dispatch_interaction -> callback; ms):");
    println!(
        "  {:>4} | {:>5} | {:>8} | {:>7} | {:>7} | {:>7} | {:>7} | {:>13} | {:>7} | {:>5} | {:>4} | {:>4} | {:>4}",
        "conc", "n", "inter./s", "p50", "p99", "max", "mean", "driver p50/99", "exactly", "lost", "dup", "rej", ">3s"
    );
    for level in levels {
        let recorded = stats(level.recorded_latencies(None));
        let observed = stats(level.observed_latencies());
        let (p50, p99, max, mean) = recorded
            .as_ref()
            .map_or((f64::NAN, f64::NAN, f64::NAN, f64::NAN), |s| {
                (s.p50, s.p99, s.max, s.mean)
            });
        let driver = observed.map_or("-".to_string(), |s| format!("{:.2}/{:.2}", s.p50, s.p99));
        println!(
            "  {:>4} | {:>5} | {:>8.0} | {:>7.3} | {:>7.3} | {:>7.2} | {:>7.3} | {:>13} | {:>7} | {:>5} | {:>4} | {:>4} | {:>4}",
            level.concurrency,
            level.samples.len(),
            level.throughput(),
            p50,
            p99,
            max,
            mean,
            driver,
            level.exactly_once,
            level.missing,
            level.duplicates,
            level.count(|o| matches!(o, Outcome::Rejected(_))),
            level.late(),
        );
    }
    println!("  (p50/p99/max/mean: until the simulator recorded the bot's callback request; driver: until wait_callback returned;");
    println!("   exactly: sim.callbacks(id).len() == 1; lost: no accepted callback; dup: more than one; rej: callbacks the simulator rejected)");

    println!();
    println!("latency by kind of interaction (dispatch -> callback recorded; ms):");
    println!(
        "  {:>4} | {:<12} | {:>5} | {:>7} | {:>7} | {:>7}",
        "conc", "kind", "n", "p50", "p99", "max"
    );
    for level in levels {
        for kind in Kind::ALL {
            if let Some(s) = stats(level.recorded_latencies(Some(kind))) {
                println!(
                    "  {:>4} | {:<12} | {:>5} | {:>7.3} | {:>7.3} | {:>7.2}",
                    level.concurrency,
                    kind.name(),
                    s.n,
                    s.p50,
                    s.p99,
                    s.max
                );
            }
        }
    }

    println!();
    println!(
        "resources (CPU time from /proc over the level's wall time: cores busy, and µs per interaction; {} cores):",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "  {:>4} | {:>15} | {:>15} | {:>15} | {:>13} | {:>15} | {:>11} | {:>14}",
        "conc",
        "bot cores µs/i",
        "sim cores µs/i",
        "other cores",
        "machine cores",
        "bot RSS/HWM MiB",
        "sim RSS MiB",
        "load avg"
    );
    println!(
        "  {:>4} | {:>15} | {:>15} | {:>15} | {:>13} | {:>15} | {:>11} | {:>14}",
        "idle",
        "",
        "",
        "",
        "",
        format!("{:.1}/{:.1}", idle.0, idle.1),
        "",
        ""
    );
    for level in levels {
        let wall = level.wall.as_secs_f64();
        let n = level.samples.len() as f64;
        let other = level.machine_cpu - level.bot_cpu - level.own_cpu;
        println!(
            "  {:>4} | {:>15} | {:>15} | {:>15.2} | {:>13.2} | {:>15} | {:>11.1} | {:>14}",
            level.concurrency,
            format!(
                "{:.2} {:>5.0}",
                level.bot_cpu / wall,
                level.bot_cpu / n * 1e6
            ),
            format!(
                "{:.2} {:>5.0}",
                level.own_cpu / wall,
                level.own_cpu / n * 1e6
            ),
            other.max(0.0) / wall,
            level.machine_cpu / wall,
            format!("{:.1}/{:.1}", level.bot_memory.0, level.bot_memory.1),
            level.own_memory.0,
            level.load,
        );
    }
    println!("  (sim = this process: the simulator's server, its validation and records, and the load driver;");
    println!("   other = every other process on the machine; RSS right after the level; load avg: before the level)");
    let cooldown: usize = levels.iter().map(|l| l.cooldown_notices).sum();
    if cooldown > 0 {
        println!("  note: {cooldown} callback(s) were cooldown notices, not answers");
    }
}

fn print_targets(idle: (f64, f64), levels: &[Level]) {
    println!();
    println!("targets:");
    let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
    if let Some(level) = levels.iter().find(|l| l.concurrency == 1) {
        if let Some(s) = stats(level.recorded_latencies(None)) {
            println!(
                "  end-to-end p99 at concurrency 1: {:.3} ms vs <= {E2E_P99_C1_TARGET_MS} ms ({})",
                s.p99,
                verdict(s.p99 <= E2E_P99_C1_TARGET_MS)
            );
        }
    }
    if let Some(level) = levels.iter().find(|l| l.concurrency == 64) {
        println!(
            "  throughput at concurrency 64: {:.0} interactions/s vs >= {THROUGHPUT_C64_TARGET} ({})",
            level.throughput(),
            verdict(level.throughput() >= THROUGHPUT_C64_TARGET)
        );
    }
    println!(
        "  idle RSS: {:.1} MiB vs <= {IDLE_RSS_TARGET_MB} MB ({})",
        idle.0,
        verdict(idle.0 * 1.048_576 <= IDLE_RSS_TARGET_MB)
    );
    let answered: usize = levels.iter().map(|l| l.exactly_once).sum();
    let total: usize = levels.iter().map(|l| l.samples.len()).sum();
    println!(
        "  answered exactly once: {answered}/{total} ({})",
        verdict(answered == total)
    );
}

/// Latencies stuck near Linux's 40 ms delayed-ACK timer while the machine is mostly idle are the
/// signature of Nagle's algorithm on a socket that sends small writes without `TCP_NODELAY`.
fn print_delayed_ack_signature(levels: &[Level]) {
    println!();
    for level in levels {
        let latencies = level.recorded_latencies(None);
        let stalled = latencies
            .iter()
            .filter(|&&l| (38.0..=60.0).contains(&l))
            .count();
        println!(
            "  concurrency {:>2}: {stalled}/{} interactions took 38-60 ms (Linux's delayed-ACK timer is 40 ms)",
            level.concurrency,
            latencies.len()
        );
    }
}

/// The cost of the simulator's own bookkeeping at the size it reached, measured directly.
fn print_simulator_costs(sim: &Simulator, levels: &[Level]) {
    let requests = sim.requests().len();
    let Some(id) = levels.last().and_then(|l| l.samples.last()).map(|s| s.id) else {
        return;
    };
    let started = Instant::now();
    let rounds = 200;
    for _ in 0..rounds {
        std::hint::black_box(sim.callbacks(id));
    }
    let scan = started.elapsed() / rounds;
    println!();
    println!(
        "simulator: {requests} REST requests recorded; one scan of them (what every wait_callback check does, under the simulator's single state lock) takes {:.1} µs",
        scan.as_secs_f64() * 1e6
    );
    let before: Vec<String> = levels
        .iter()
        .map(|l| format!("{} before concurrency {}", l.requests_before, l.concurrency))
        .collect();
    println!(
        "  records only grow ({}); each state change wakes every waiting wait_callback, and each rescans them all",
        before.join(", ")
    );
}

// ---------------------------------------------------------------------------------------------
// main
// ---------------------------------------------------------------------------------------------

fn main() {
    let n: usize = std::env::var("CITEBOT_LOAD_N")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(2000);
    // `cargo test --benches` runs this without `--bench`: keep that to a smoke test.
    let full = std::env::args().any(|a| a == "--bench");
    if !full {
        println!("smoke run (no --bench, e.g. `cargo test --benches`): the numbers below are not measurements");
    }
    let n = if full { n } else { n.min(20) };
    let plan = [(1, (n / 4).clamp(1, 500)), (16, n), (64, n)];

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("start the tokio runtime");
    runtime.block_on(async move {
        let workload = Arc::new(Workload::load());
        let sim = Simulator::start(SimConfig {
            heartbeat_interval: Duration::from_secs(5),
            ..SimConfig::default()
        })
        .await;
        let bot = start_bot(&sim);
        if let Err(err) = sim.wait_ready(WAIT).await {
            panic!("the bot did not connect: {err}\n{}", log_tail(&bot, 30));
        }
        sim.wait_bulk_overwrite(WAIT)
            .await
            .expect("the bot registers its commands");
        tokio::time::sleep(Duration::from_millis(500)).await;
        let idle = memory_mib(&bot.pid().to_string());
        let ticks = clock_ticks();
        println!(
            "citebot e2e load: {} serving {} ({} cards, {} dev questions), question log {}, bot pid {}, load average {}",
            env!("CARGO_BIN_EXE_citebot"),
            responses_dir().display(),
            workload.facts.len(),
            workload.questions.len(),
            if std::env::var("CITEBOT_LOAD_DB").is_ok_and(|v| v.eq_ignore_ascii_case("off")) {
                "off"
            } else {
                "on"
            },
            bot.pid(),
            load_average()
        );
        println!(
            "idle after READY: VmRSS {:.1} MiB, VmHWM {:.1} MiB",
            idle.0, idle.1
        );

        // Warm-up: connections, caches, the allocator; not measured.
        let warm = run_level(&sim, &workload, &bot, 4, 100.min(n * 5), ticks).await;
        if warm.exactly_once != warm.samples.len() {
            panic!(
                "warm-up: only {}/{} interactions answered exactly once\n{}",
                warm.exactly_once,
                warm.samples.len(),
                log_tail(&bot, 30)
            );
        }

        let mut levels = Vec::new();
        for (concurrency, count) in plan {
            let level = run_level(&sim, &workload, &bot, concurrency, count, ticks).await;
            println!(
                "  concurrency {concurrency}: {count} interactions in {:.2} s",
                level.wall.as_secs_f64()
            );
            levels.push(level);
        }
        print_tables(idle, &levels);
        print_targets(idle, &levels);
        print_delayed_ack_signature(&levels);
        print_simulator_costs(&sim, &levels);

        for level in &levels {
            for sample in &level.samples {
                match &sample.outcome {
                    Outcome::Rejected(e) | Outcome::DispatchFailed(e) => {
                        println!("first failure at concurrency {}: {e}", level.concurrency);
                        break;
                    }
                    _ => {}
                }
            }
        }
        let answered: usize = levels.iter().map(|l| l.exactly_once).sum();
        let total: usize = levels.iter().map(|l| l.samples.len()).sum();
        let warnings = bot.output().lines().count();
        if warnings > 0 {
            println!(
                "bot log: {warnings} line(s) at RUST_LOG=warn; last ones:\n{}",
                log_tail(&bot, 5)
            );
        }
        drop(bot);
        sim.shutdown();
        if answered != total {
            eprintln!("e2e_load: {} of {total} interactions were not answered exactly once", total - answered);
            std::process::exit(1);
        }
    });
}
