//! Scale out: several bot processes split the shards (`CITEBOT_SHARDS=FIRST-LAST/TOTAL`), each
//! identifies with its own shard and answers only its own guilds; `auto` runs Discord's
//! recommended count in one process.

use crate::common;
use discord_sim as sim;

use std::time::Duration;

use citebot_testkit::bot::Bot;
use sim::{guild_on_shard, SimConfig, Simulator};

const WAIT: Duration = Duration::from_secs(15);

async fn two_shard_simulator() -> Simulator {
    let guilds = vec![guild_on_shard(0, 2), guild_on_shard(1, 2)];
    Simulator::start(SimConfig {
        heartbeat_interval: Duration::from_millis(400),
        shards: 2,
        guilds,
        ..SimConfig::default()
    })
    .await
}

/// Sends `/h20-deal` in `guild` and returns its interaction id once it is answered exactly once.
async fn answered_in(sim: &Simulator, guild: u64) -> u64 {
    let (id, interaction) = sim.slash_command("h20-deal").guild(guild).build();
    sim.dispatch_interaction(interaction)
        .await
        .expect("dispatch");
    sim.wait_callback(id, WAIT).await.expect("answered");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sim.callbacks(id).len(), 1, "answered exactly once");
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_split_the_shards_and_answer_only_their_guilds() {
    let sim = two_shard_simulator().await;
    let responses = common::responses_dir();
    let first = Bot::start(
        &sim.api_base(),
        sim.token(),
        &responses,
        &[("CITEBOT_SHARDS", "0-0/2")],
    );
    let second = Bot::start(
        &sim.api_base(),
        sim.token(),
        &responses,
        &[("CITEBOT_SHARDS", "1-1/2")],
    );
    let zero = sim
        .wait_ready_shard(0, WAIT)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", first.output()));
    let one = sim
        .wait_ready_shard(1, WAIT)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", second.output()));
    assert_eq!(zero.shard_pair(), [0, 2]);
    assert_eq!(one.shard_pair(), [1, 2]);
    assert_eq!(
        sim.identifies().len(),
        2,
        "one IDENTIFY per shard, no duplicates"
    );

    let on_zero = answered_in(&sim, guild_on_shard(0, 2)).await;
    let on_one = answered_in(&sim, guild_on_shard(1, 2)).await;
    // Each process logs the interactions it answered, by id.
    let (first_log, second_log) = (first.output(), second.output());
    assert!(
        first_log.contains(&on_zero.to_string()),
        "shard 0's guild answered by process 0:\n{first_log}"
    );
    assert!(
        !first_log.contains(&on_one.to_string()),
        "process 0 answered shard 1's guild"
    );
    assert!(
        second_log.contains(&on_one.to_string()),
        "shard 1's guild answered by process 1:\n{second_log}"
    );
    assert!(
        !second_log.contains(&on_zero.to_string()),
        "process 1 answered shard 0's guild"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_runs_the_recommended_shard_count_in_one_process() {
    let sim = two_shard_simulator().await;
    let bot = Bot::start(&sim.api_base(), sim.token(), &common::responses_dir(), &[]);
    if let Err(err) = sim.wait_shards_ready(2, Duration::from_secs(25)).await {
        panic!("{err}\n{}", bot.output());
    }
    answered_in(&sim, guild_on_shard(0, 2)).await;
    answered_in(&sim, guild_on_shard(1, 2)).await;
}

#[test]
fn an_invalid_shard_range_is_a_clear_error() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_citebot"))
        .arg("run")
        .env("DISCORD_TOKEN", "x.y.z")
        .env("CITEBOT_SHARDS", "3-1/2")
        .env("CITEBOT_RESPONSES", common::responses_dir())
        .output()
        .expect("run");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("CITEBOT_SHARDS") && stderr.contains("0-3/8"),
        "{stderr}"
    );
}
