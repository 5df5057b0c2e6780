//! Core benchmarks: building the index from `responses/`, and answering the dev set.
//! Run with `cargo bench --bench core`.

use std::path::Path;

/// The allocator the binary ships with (see src/main.rs), so the figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion};

use citebot::{Index, Responses};

fn responses() -> Responses {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("responses");
    Responses::load(&dir).expect("valid responses")
}

fn dev_questions() -> Vec<String> {
    citebot_testkit::sets::questions("devset.tsv")
}

fn bench_build(c: &mut Criterion) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("responses");
    c.bench_function("load+validate+build index", |b| {
        b.iter(|| Index::build(Responses::load(black_box(&dir)).expect("valid")))
    });
    let loaded = responses();
    // The build alone: cloning the loaded responses and dropping the index are not timed.
    c.bench_function("build index (already loaded)", |b| {
        b.iter_batched(
            || loaded.clone(),
            |responses| Index::build(black_box(responses)),
            BatchSize::SmallInput,
        )
    });
}

fn bench_ask(c: &mut Criterion) {
    let index = Index::build(responses());
    let questions = dev_questions();
    let mut next = 0;
    c.bench_function("ask (one dev-set question, cycling)", |b| {
        b.iter(|| {
            let question = &questions[next % questions.len()];
            next += 1;
            index.ask(black_box(question), None)
        })
    });
    c.bench_function("suggest (autocomplete 'porque o r2')", |b| {
        b.iter(|| index.suggest(black_box("porque o r2"), 25))
    });
}

criterion_group!(benches, bench_build, bench_ask);
criterion_main!(benches);
