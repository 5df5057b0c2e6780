//! Reading what the bot sent back through the simulator: interaction callbacks, their flags,
//! their buttons and their embeds.

use std::time::Duration;

use discord_sim::Simulator;
use serde_json::Value;

/// How long a test waits for the bot's answer.
pub const WAIT: Duration = Duration::from_secs(10);

/// Sends an interaction and returns its callback's `data`.
pub async fn callback(sim: &Simulator, (id, interaction): (u64, Value)) -> Value {
    sim.dispatch_interaction(interaction)
        .await
        .expect("dispatch");
    sim.wait_callback(id, WAIT).await.expect("callback")["data"].clone()
}

/// `/ask question` from `user`; returns the interaction's id and its callback's `data`.
pub async fn ask(sim: &Simulator, question: &str, user: u64) -> (u64, Value) {
    let (id, interaction) = sim
        .slash_command("ask")
        .option("question", serde_json::json!(question))
        .user(user)
        .build();
    (id, callback(sim, (id, interaction)).await)
}

/// Whether only the clicker or asker sees the message (flag 64).
pub fn is_ephemeral(data: &Value) -> bool {
    data["flags"].as_u64().unwrap_or(0) & 64 != 0
}

/// The custom ids of every component of a message, row by row.
pub fn custom_ids(data: &Value) -> Vec<String> {
    data["components"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row["components"].as_array().into_iter().flatten())
        .filter_map(|c| c["custom_id"].as_str().map(str::to_string))
        .collect()
}

/// The first embed's title.
pub fn title(body: &Value) -> String {
    body["embeds"][0]["title"]
        .as_str()
        .unwrap_or("")
        .to_string()
}
