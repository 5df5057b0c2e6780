//! citebot against the baseline a straightforward strsim bot would be: the whole question
//! (lowercased, accents folded) compared with every card paraphrase by normalized Levenshtein;
//! the best paraphrase's card wins, below a threshold it refuses.
//!
//! Run with `cargo bench --bench baseline`. Before criterion runs it prints, once:
//! - the baseline's threshold sweep on `tests/data/devset.tsv` and the threshold chosen by the
//!   objective `tests/quality.rs` tunes citebot with (so the baseline gets the same fair tuning);
//! - dev-set accuracy of both (in-scope top-1, out-of-scope refusal rate, wrong answers);
//! - per-call latency of `ask` for both (every dev question timed individually, p50/p99).
//!
//! A second baseline is a plain BM25 engine (the `bm25` crate's search engine; words folded,
//! stop words out, Snowball-stemmed) over the article's sentences, returning the best sentence:
//! what a naive retrieval bot would do. It neither refuses nor picks cards, so only its speed is
//! compared.
//!
//! Then criterion measures, in the same run: `index.ask` and both baselines cycling over the dev
//! set, autocomplete (`suggest("porque o r2", 25)`) and rendering answers into Discord embeds.
//! The speed ratios of the medians are printed at the end.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The allocator the binary ships with (see src/main.rs), so the figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::Criterion;

use citebot::discord::embed::answer_embed;
use citebot::text::fold;
use citebot::{Answer, Index, Responses};

/// The targets the project sets for `ask` (microseconds).
const ASK_MEDIAN_TARGET_US: f64 = 50.0;
const ASK_P99_TARGET_US: f64 = 200.0;
/// The quality gate `tests/quality.rs` enforces on citebot.
const GATE_ACCURACY: f64 = 0.95;
const GATE_REFUSAL: f64 = 0.90;

const GROUP: &str = "dev_ask";
const CITEBOT_ID: &str = "citebot";
const BASELINE_ID: &str = "strsim_baseline";
const BM25_ID: &str = "bm25_sentences";

/// The BM25 baseline's words: folded tokens without stop words, stemmed as Portuguese (the
/// article's language) by the same Snowball stemmer the bm25 crate's own tokenizer uses.
struct ArticleWords;

impl bm25::Tokenizer for ArticleWords {
    fn tokenize(&self, text: &str) -> Vec<String> {
        citebot::text::tokenize(text)
            .into_iter()
            .filter(|token| !citebot::text::is_stopword(&token.text))
            .map(|token| citebot::text::stems(&token.text).0)
            .collect()
    }
}

type Bm25 = bm25::SearchEngine<u32, u32, ArticleWords>;

/// The BM25 baseline: the article's sentences, searched with the `bm25` crate.
fn bm25_engine(index: &Index) -> Bm25 {
    let article = &index.responses().article;
    let sentences: Vec<String> = article
        .sentences
        .iter()
        .map(|s| article.sentence_text(s).to_string())
        .collect();
    bm25::SearchEngineBuilder::<u32, u32, ArticleWords>::with_tokenizer_and_corpus(
        ArticleWords,
        sentences,
    )
    .build()
}

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[path = "../tests/common/mod.rs"]
mod common;

use citebot_testkit::sets::{question_set, Labelled};

fn accepts(item: &Labelled, command: &str) -> bool {
    item.expected.iter().any(|e| e == command)
}

// ---------------------------------------------------------------------------------------------
// The baseline
// ---------------------------------------------------------------------------------------------

/// Every card paraphrase, folded once at start-up (as such a bot would), with its card.
struct Baseline {
    paraphrases: Vec<(usize, String)>,
    commands: Vec<String>,
    threshold: f64,
}

impl Baseline {
    fn new(index: &Index, threshold: f64) -> Baseline {
        let mut paraphrases = Vec::new();
        for (card, fact) in index.cards().iter().enumerate() {
            for (_lang, question) in fact.questions() {
                paraphrases.push((card, fold(question)));
            }
        }
        Baseline {
            paraphrases,
            commands: index.cards().iter().map(|c| c.command.clone()).collect(),
            threshold,
        }
    }

    /// The best paraphrase's card and its similarity (ties: the first paraphrase).
    fn best(&self, question: &str) -> (usize, f64) {
        let folded = fold(question);
        let mut best = (usize::MAX, f64::MIN);
        for (card, paraphrase) in &self.paraphrases {
            let similarity = strsim::normalized_levenshtein(&folded, paraphrase);
            if similarity > best.1 {
                best = (*card, similarity);
            }
        }
        best
    }

    /// The card command answered, or `None` for a refusal.
    fn ask(&self, question: &str) -> Option<&str> {
        let (card, similarity) = self.best(question);
        (similarity >= self.threshold).then(|| self.commands[card].as_str())
    }
}

// ---------------------------------------------------------------------------------------------
// Dev-set figures
// ---------------------------------------------------------------------------------------------

/// What a question got.
#[derive(Debug, Clone, Copy)]
enum Outcome<'a> {
    Card(&'a str),
    /// Answered with no card: citebot's direct passage.
    Passage,
    Refused,
}

impl<'a> Outcome<'a> {
    fn of_citebot(answer: &'a Answer) -> Outcome<'a> {
        match answer.fact() {
            Some(command) => Outcome::Card(command),
            None if answer.is_answered() => Outcome::Passage,
            None => Outcome::Refused,
        }
    }

    fn of_baseline(answered: Option<&'a str>) -> Outcome<'a> {
        answered.map_or(Outcome::Refused, Outcome::Card)
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct Figures {
    in_scope: usize,
    in_scope_correct: usize,
    out_of_scope: usize,
    refused: usize,
    /// Answered with the wrong card, or answered at all when it should have refused.
    wrong: usize,
}

impl Figures {
    fn accuracy(&self) -> f64 {
        self.in_scope_correct as f64 / self.in_scope.max(1) as f64
    }

    fn refusal_rate(&self) -> f64 {
        self.refused as f64 / self.out_of_scope.max(1) as f64
    }

    /// The objective `tests/quality.rs` (`tune_on_the_dev_set`) picks citebot's constants with.
    /// A wrong answer costs twice a needless refusal.
    fn objective(&self) -> f64 {
        let asked = (self.in_scope + self.out_of_scope).max(1) as f64;
        self.accuracy() + self.refusal_rate() - 2.0 * self.wrong as f64 / asked
    }

    fn passes_gate(&self) -> bool {
        self.accuracy() >= GATE_ACCURACY && self.refusal_rate() >= GATE_REFUSAL
    }

    fn add(&mut self, item: &Labelled, outcome: Outcome) {
        if item.is_refusal() {
            self.out_of_scope += 1;
            match outcome {
                Outcome::Refused => self.refused += 1,
                Outcome::Card(_) | Outcome::Passage => self.wrong += 1,
            }
        } else {
            self.in_scope += 1;
            match outcome {
                Outcome::Card(command) if accepts(item, command) => self.in_scope_correct += 1,
                Outcome::Card(_) => self.wrong += 1,
                // A direct passage for an in-scope question is a miss, not a wrong card
                // (as `tests/common` counts it).
                Outcome::Passage | Outcome::Refused => {}
            }
        }
    }
}

fn citebot_figures(index: &Index, set: &[Labelled]) -> (Figures, usize) {
    let mut figures = Figures::default();
    let mut passages = 0;
    for item in set {
        let answer = index.ask(&item.question, None);
        let outcome = Outcome::of_citebot(&answer);
        if !item.is_refusal() && matches!(outcome, Outcome::Passage) {
            passages += 1;
        }
        figures.add(item, outcome);
    }
    (figures, passages)
}

/// Sweeps thresholds 0.00..=1.00 by 0.01 and returns the best by the tuning objective (ties: the
/// lower threshold), printing the sweep around it.
fn choose_threshold(index: &Index, set: &[Labelled]) -> (f64, Figures) {
    let probe = Baseline::new(index, 0.0);
    let best: Vec<(usize, f64)> = set.iter().map(|item| probe.best(&item.question)).collect();
    let figures_at = |threshold: f64| {
        let mut figures = Figures::default();
        for (item, &(card, similarity)) in set.iter().zip(&best) {
            let answered = (similarity >= threshold).then(|| probe.commands[card].as_str());
            figures.add(item, Outcome::of_baseline(answered));
        }
        figures
    };
    let sweep: Vec<(f64, Figures)> = (0..=100)
        .map(|t| {
            let threshold = f64::from(t) / 100.0;
            (threshold, figures_at(threshold))
        })
        .collect();
    let (chosen, figures) = sweep
        .iter()
        .copied()
        .fold(None::<(f64, Figures)>, |acc, (t, f)| match acc {
            Some((_, g)) if g.objective() >= f.objective() => acc,
            _ => Some((t, f)),
        })
        .expect("the sweep is not empty");
    let gate_passes = sweep.iter().filter(|(_, f)| f.passes_gate()).count();
    println!("baseline threshold sweep on the dev set (objective = acc + refusal - 2 wrong/asked, as tests/quality.rs tunes citebot):");
    println!(
        "  {:>9} | {:>13} | {:>12} | {:>5} | {:>9}",
        "threshold", "in-scope top1", "refusal rate", "wrong", "objective"
    );
    for (t, f) in &sweep {
        let step = (t * 100.0).round() as i64;
        if step % 10 == 0 || (t - chosen).abs() < 0.035 {
            println!(
                "  {:>9.2} | {:>13.3} | {:>12.3} | {:>5} | {:>9.3}{}",
                t,
                f.accuracy(),
                f.refusal_rate(),
                f.wrong,
                f.objective(),
                if (t - chosen).abs() < 1e-9 {
                    "  <- chosen"
                } else {
                    ""
                }
            );
        }
    }
    println!(
        "  thresholds meeting the real gate (top-1 >= {GATE_ACCURACY}, refusal >= {GATE_REFUSAL}): {gate_passes} of {}",
        sweep.len()
    );
    (chosen, figures)
}

fn print_accuracy(citebot: &Figures, passages: usize, baseline: &Figures, threshold: f64) {
    let row = |name: &str, f: &Figures| {
        println!(
            "  {:<28} | {:>3}/{} = {:.3} | {:>3}/{} = {:.3} | {:>5} | {}",
            name,
            f.in_scope_correct,
            f.in_scope,
            f.accuracy(),
            f.refused,
            f.out_of_scope,
            f.refusal_rate(),
            f.wrong,
            if f.passes_gate() { "pass" } else { "FAIL" },
        );
    };
    println!();
    println!("dev-set accuracy (tests/data/devset.tsv):");
    println!(
        "  {:<28} | {:>15} | {:>15} | {:>5} | gate (>= {GATE_ACCURACY}, >= {GATE_REFUSAL})",
        "", "in-scope top-1", "refused", "wrong"
    );
    row("citebot", citebot);
    row(&format!("strsim baseline (t = {threshold:.2})"), baseline);
    println!("  (citebot answered {passages} in-scope question(s) with a direct passage: counted as misses, not wrong)");
}

// ---------------------------------------------------------------------------------------------
// Per-call latency
// ---------------------------------------------------------------------------------------------

struct Latency {
    samples: Vec<Duration>,
}

impl Latency {
    /// Times every question `reps` times individually (after one untimed warm-up round).
    fn measure(set: &[Labelled], reps: usize, mut call: impl FnMut(&str)) -> Latency {
        for item in set {
            call(black_box(&item.question));
        }
        let mut samples = Vec::with_capacity(set.len() * reps);
        for _ in 0..reps {
            for item in set {
                let started = Instant::now();
                call(black_box(&item.question));
                samples.push(started.elapsed());
            }
        }
        samples.sort_unstable();
        Latency { samples }
    }

    fn quantile(&self, q: f64) -> Duration {
        let i = ((self.samples.len() - 1) as f64 * q).round() as usize;
        self.samples[i]
    }

    fn mean(&self) -> Duration {
        self.samples.iter().sum::<Duration>() / self.samples.len() as u32
    }
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn print_latency(citebot: &Latency, citebot_reps: usize, baseline: &Latency, baseline_reps: usize) {
    println!();
    println!("per-call latency of one question (each dev question timed individually, Instant):");
    println!(
        "  {:<16} | {:>8} | {:>9} | {:>9} | {:>9} | {:>9} | {:>9}",
        "", "samples", "mean µs", "p50 µs", "p90 µs", "p99 µs", "max µs"
    );
    for (name, l, reps) in [
        ("citebot ask", citebot, citebot_reps),
        ("strsim baseline", baseline, baseline_reps),
    ] {
        println!(
            "  {:<16} | {:>8} | {:>9.1} | {:>9.1} | {:>9.1} | {:>9.1} | {:>9.1}   ({reps} reps per question)",
            name,
            l.samples.len(),
            us(l.mean()),
            us(l.quantile(0.5)),
            us(l.quantile(0.9)),
            us(l.quantile(0.99)),
            us(*l.samples.last().expect("samples")),
        );
    }
    let (p50, p99) = (us(citebot.quantile(0.5)), us(citebot.quantile(0.99)));
    println!(
        "  citebot targets: median {p50:.1} µs vs <= {ASK_MEDIAN_TARGET_US} µs ({}), p99 {p99:.1} µs vs <= {ASK_P99_TARGET_US} µs ({})",
        if p50 <= ASK_MEDIAN_TARGET_US { "met" } else { "MISSED" },
        if p99 <= ASK_P99_TARGET_US { "met" } else { "MISSED" },
    );
    println!(
        "  mean ratio baseline / citebot: {:.1}x",
        us(baseline.mean()) / us(citebot.mean())
    );
}

/// The slowest questions for citebot by their own median, to show where the tail comes from.
fn print_slowest(index: &Index, set: &[Labelled], reps: usize) {
    let mut per_question: Vec<(Duration, &str)> = set
        .iter()
        .map(|item| {
            let mut times: Vec<Duration> = (0..reps)
                .map(|_| {
                    let started = Instant::now();
                    black_box(index.ask(black_box(&item.question), None));
                    started.elapsed()
                })
                .collect();
            times.sort_unstable();
            (times[times.len() / 2], item.question.as_str())
        })
        .collect();
    per_question.sort_unstable_by_key(|&(median, _)| std::cmp::Reverse(median));
    println!("  citebot's slowest dev questions (median of {reps} calls each):");
    for (median, question) in per_question.iter().take(5) {
        println!("    {:>7.1} µs  {question:?}", us(*median));
    }
}

// ---------------------------------------------------------------------------------------------
// Criterion
// ---------------------------------------------------------------------------------------------

fn criterion_benches(
    c: &mut Criterion,
    index: &Index,
    baseline: &Baseline,
    bm25: &Bm25,
    set: &[Labelled],
) {
    let questions: Vec<&str> = set.iter().map(|item| item.question.as_str()).collect();
    {
        let mut group = c.benchmark_group(GROUP);
        let mut next = 0;
        group.bench_function(CITEBOT_ID, |b| {
            b.iter(|| {
                let question = questions[next % questions.len()];
                next += 1;
                index.ask(black_box(question), None)
            })
        });
        let mut next = 0;
        group.bench_function(BASELINE_ID, |b| {
            b.iter(|| {
                let question = questions[next % questions.len()];
                next += 1;
                baseline.ask(black_box(question)).map(str::len)
            })
        });
        let mut next = 0;
        group.bench_function(BM25_ID, |b| {
            b.iter(|| {
                let question = questions[next % questions.len()];
                next += 1;
                bm25.search(black_box(question), 1)
            })
        });
        group.finish();
    }
    c.bench_function("suggest_porque_o_r2", |b| {
        b.iter(|| index.suggest(black_box("porque o r2"), 25))
    });
    let answers: Vec<Answer> = questions.iter().map(|q| index.ask(q, None)).collect();
    let mut next = 0;
    c.bench_function("answer_embed_dev_answers", |b| {
        b.iter(|| {
            let answer = &answers[next % answers.len()];
            next += 1;
            answer_embed(black_box(answer), index, &Default::default()).total_chars
        })
    });
    let answer = index
        .fact_answer("why-r2-delayed", citebot::Lang::En)
        .expect("the why-r2-delayed card exists");
    c.bench_function("answer_embed_why_r2_delayed", |b| {
        b.iter(|| answer_embed(black_box(&answer), index, &Default::default()).total_chars)
    });
}

/// Where criterion writes its estimates (the same rule criterion 0.5 follows, simplified).
fn criterion_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return PathBuf::from(home);
    }
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest_dir().join("target"))
        .join("criterion")
}

/// Criterion's median estimate (ns) of one benchmark of this run, if it was run.
fn criterion_median_ns(group: &str, id: &str, since: std::time::SystemTime) -> Option<f64> {
    let path = criterion_dir()
        .join(group)
        .join(id)
        .join("new/estimates.json");
    let modified = std::fs::metadata(&path).ok()?.modified().ok()?;
    if modified < since {
        return None;
    }
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
    json["median"]["point_estimate"].as_f64()
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

fn main() {
    println!(
        "load average at start: {} ({} cores; timings below are only as quiet as the machine)",
        load_average(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    // `cargo bench` passes `--bench`; `cargo test --benches` does not (criterion then runs each
    // benchmark once), so the hand-timed sections shrink to a smoke test.
    let full = std::env::args().any(|a| a == "--bench");
    if !full {
        println!("smoke run (no --bench, e.g. `cargo test --benches`): the numbers below are not measurements");
    }
    let dir = manifest_dir().join("responses");
    let responses = Responses::load(&dir).expect("the shipped responses/ are valid");
    let index = Index::build(responses);
    let set = question_set("devset.tsv");

    let (citebot, passages) = citebot_figures(&index, &set);
    let (threshold, _) = choose_threshold(&index, &set);
    let baseline = Baseline::new(&index, threshold);
    let mut baseline_figures = Figures::default();
    for item in &set {
        baseline_figures.add(item, Outcome::of_baseline(baseline.ask(&item.question)));
    }
    print_accuracy(&citebot, passages, &baseline_figures, threshold);
    println!(
        "  ({} questions: {} in scope, {} to refuse; the baseline compares against {} paraphrases of {} cards)",
        set.len(),
        citebot.in_scope,
        citebot.out_of_scope,
        baseline.paraphrases.len(),
        baseline.commands.len()
    );

    let (citebot_reps, baseline_reps) = if full { (200, 20) } else { (1, 1) };
    let citebot_latency = Latency::measure(&set, citebot_reps, |q| {
        black_box(index.ask(q, None));
    });
    let baseline_latency = Latency::measure(&set, baseline_reps, |q| {
        black_box(baseline.ask(q));
    });
    print_latency(
        &citebot_latency,
        citebot_reps,
        &baseline_latency,
        baseline_reps,
    );
    print_slowest(&index, &set, if full { 51 } else { 1 });
    println!();

    let started = std::time::SystemTime::now();
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(5))
        .configure_from_args();
    let bm25 = bm25_engine(&index);
    criterion_benches(&mut c, &index, &baseline, &bm25, &set);
    c.final_summary();

    let medians = (
        criterion_median_ns(GROUP, CITEBOT_ID, started),
        criterion_median_ns(GROUP, BASELINE_ID, started),
        criterion_median_ns(GROUP, BM25_ID, started),
    );
    if let (Some(ours), Some(theirs)) = (medians.0, medians.1) {
        println!();
        println!(
            "criterion medians, dev set cycling: citebot {:.2} µs, strsim baseline {:.2} µs: the baseline is {:.1}x slower",
            ours / 1e3,
            theirs / 1e3,
            theirs / ours
        );
    }
    if let (Some(ours), Some(bm25)) = (medians.0, medians.2) {
        println!(
            "criterion medians, dev set cycling: citebot {:.2} µs, BM25 over the article's sentences {:.2} µs: citebot costs {:.2}x BM25 per question",
            ours / 1e3,
            bm25 / 1e3,
            ours / bm25
        );
    }
    println!("load average at end: {}", load_average());
}
