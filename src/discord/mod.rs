//! The Discord adapter: translates gateway events into core calls and answers into Discord
//! messages, nothing more. Everything it shows comes from an [`crate::Answer`] or the index.
//!
//! - [`commands`]: the slash commands generated from the fact cards.
//! - [`embed`]: answers as embeds within Discord's limits, with no pings.
//! - [`handler`]: the event routing table.

pub mod commands;
pub mod embed;
pub mod handler;

use std::sync::Arc;

use serenity::all::{ClientBuilder, GatewayIntents, GuildId, HttpBuilder};
use thiserror::Error;
use tracing::info;

use crate::index::Index;

/// What the bot needs to run; built from the environment at the edge.
#[derive(Clone)]
pub struct BotConfig {
    pub token: String,
    pub guild: Option<GuildId>,
    /// REST base URL replacing Discord's (a ratelimit proxy or a test server).
    pub api_base: Option<String>,
}

impl std::fmt::Debug for BotConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BotConfig")
            .field("token", &"[redacted]")
            .field("guild", &self.guild)
            .field("api_base", &self.api_base)
            .finish()
    }
}

#[derive(Debug, Error)]
pub enum BotError {
    #[error("Discord rejected DISCORD_TOKEN (gateway close 4004, authentication failed); put the bot token from the Developer Portal in .env (see .env.example)")]
    InvalidToken,
    #[error("Discord refused the gateway intents (close 4014); citebot needs no privileged intent, check the application's settings")]
    DisallowedIntents,
    #[error("Discord client error: {0}")]
    Client(#[source] Box<serenity::Error>),
}

/// Guilds, guild messages and direct messages: no privileged intent. Discord delivers the content
/// of messages that mention the bot without MESSAGE_CONTENT.
pub fn intents() -> GatewayIntents {
    GatewayIntents::GUILDS | GatewayIntents::GUILD_MESSAGES | GatewayIntents::DIRECT_MESSAGES
}

/// Runs the bot until Ctrl-C or SIGTERM (then shuts the shards down and returns `Ok`).
pub async fn run(config: BotConfig, index: Arc<Index>) -> Result<(), BotError> {
    let mut http = HttpBuilder::new(&config.token);
    if let Some(base) = &config.api_base {
        // serenity only sends REST to a proxy when its in-process ratelimiter is off.
        http = http
            .proxy(base.trim_end_matches('/'))
            .ratelimiter_disabled(true);
    }
    let handler = handler::Handler::new(index, config.guild);
    let mut client = ClientBuilder::new_with_http(http.build(), intents())
        .event_handler(handler)
        .await
        .map_err(|e| BotError::Client(Box::new(e)))?;
    let shard_manager = client.shard_manager.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        info!("shutting down");
        shard_manager.shutdown_all().await;
    });
    client.start().await.map_err(|err| match err {
        serenity::Error::Gateway(serenity::gateway::GatewayError::InvalidAuthentication) => {
            BotError::InvalidToken
        }
        serenity::Error::Gateway(serenity::gateway::GatewayError::DisallowedGatewayIntents) => {
            BotError::DisallowedIntents
        }
        other => BotError::Client(Box::new(other)),
    })
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
