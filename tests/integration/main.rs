//! Every integration test in one binary: each file here is one user-facing area, and linking
//! serenity once instead of once per file keeps CI's build small and fast.

#[path = "../common/mod.rs"]
mod common;

mod check;
mod cli;
mod conversation_e2e;
mod discord_e2e;
mod memory_e2e;
mod props;
mod report;
mod resilience;
mod scaling;
mod sim_shards;
mod sim_smoke;
