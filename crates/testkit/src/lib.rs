//! What citebot's integration tests and benches share, compiled once for all of them: the real
//! `citebot run` binary as a child process ([`bot`]), and the labelled question sets of
//! `tests/data` ([`sets`]).

pub mod bot;
pub mod sets;
