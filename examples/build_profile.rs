//! Loads the responses and builds the index repeatedly, as every `citebot ask` process does, for
//! profiling: `perf record cargo run --release --example build_profile`. With `--build-only`,
//! the responses are loaded once and only the build repeats, so a profile shows the build alone.
use citebot::{Index, Responses};

/// The allocator the binary ships with (see src/main.rs), so the figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
fn main() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("responses");
    let build_only = std::env::args().any(|a| a == "--build-only");
    let runs = 200;
    let loaded_once = Responses::load(&dir).expect("valid");
    let (mut loading, mut building) = (std::time::Duration::ZERO, std::time::Duration::ZERO);
    for _ in 0..runs {
        let started = std::time::Instant::now();
        let responses = if build_only {
            loaded_once.clone()
        } else {
            Responses::load(&dir).expect("valid")
        };
        let loaded = std::time::Instant::now();
        std::hint::black_box(Index::build(responses));
        loading += loaded - started;
        building += loaded.elapsed();
    }
    println!(
        "load {:.2} ms, build {:.2} ms (mean of {runs})",
        loading.as_secs_f64() * 1e3 / runs as f64,
        building.as_secs_f64() * 1e3 / runs as f64
    );
}
