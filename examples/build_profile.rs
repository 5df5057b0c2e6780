//! Builds the index repeatedly, for profiling: `perf record cargo run --release --example build_profile`.
use citebot::{Index, Responses};
fn main() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("responses");
    let responses = Responses::load(&dir).expect("valid");
    for _ in 0..200 {
        std::hint::black_box(Index::build(responses.clone()));
    }
}
