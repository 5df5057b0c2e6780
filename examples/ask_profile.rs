//! Asks every question of the dev sets repeatedly, for profiling the answering path alone:
//! `perf record cargo run --release --example ask_profile`.
use citebot::{Index, Responses};

/// The allocator the binary ships with (see src/main.rs), so the figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
fn main() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let index = Index::build(Responses::load(&root.join("responses")).expect("valid"));
    let mut questions = Vec::new();
    for set in [
        "devset.tsv",
        "devset2.tsv",
        "devset3.tsv",
        "devset4.tsv",
        "devset5.tsv",
    ] {
        let text = std::fs::read_to_string(root.join("tests/data").join(set)).expect("dev set");
        questions.extend(
            text.lines()
                .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
                .filter_map(|l| l.rsplit('\t').next().map(str::to_string)),
        );
    }
    let rounds = 200;
    let started = std::time::Instant::now();
    for _ in 0..rounds {
        for question in &questions {
            std::hint::black_box(index.ask(question, None));
        }
    }
    let per_question = started.elapsed().as_secs_f64() * 1e6 / (rounds * questions.len()) as f64;
    println!(
        "{} questions, {per_question:.2} µs per ask (mean)",
        questions.len()
    );
}
