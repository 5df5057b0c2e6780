//! citebot: answers questions about a news article with short answers backed by verbatim,
//! paragraph-numbered quotes of it, and says so when the article does not answer.
//!
//! # Layout
//! The data flows one way: `responses/` -> [`responses::Responses`] -> [`index::Index`] ->
//! [`answer::Answer`] -> a renderer.
//! - [`text`]: folding, tokens, stems and stop words shared by everything that compares text.
//! - [`article`]: the article as received, its paragraphs and sentences, and quote location.
//! - [`lexicon`]: concepts that join synonyms of both languages (`responses/lexicon.toml`).
//! - [`facts`]: one fact card per file (`responses/facts/*.toml`), parsed and checked.
//! - [`responses`]: loads the whole folder and reports every problem as `path:line`.
//! - [`index`]: the immutable question-to-fact index; `ask`, `fact_answer`, `suggest`.
//! - [`answer`]: the `Answer` every renderer takes.
//! - [`render`]: the terminal and JSON renderings used by the command-line tool.
//! - [`learn`]: `/teach`: appends a missed question to a card's `learned/` file, validated.
//! - [`reload`]: notices changes to `responses/` and rebuilds, keeping the last good index.
//! - [`cooldown`]: the per-user limit on free questions.
//! - [`store`]: what citebot remembers of what it was asked (SQLite), read by `citebot report`.
//! - [`discord`]: the Discord adapter (serenity); the only module that knows about Discord.
//!
//! Nothing but `discord` knows about Discord; it only translates events to these calls.

pub mod answer;
pub mod article;
pub mod cooldown;
pub mod discord;
pub mod facts;
pub mod index;
pub mod learn;
pub mod lexicon;
pub mod problem;
pub mod reader;
pub mod reload;
pub mod render;
pub mod responses;
pub mod store;
pub mod text;

pub use answer::{Answer, Citation, Lang, Matched};
pub use index::Index;
pub use problem::{Problem, Problems};
pub use responses::Responses;
