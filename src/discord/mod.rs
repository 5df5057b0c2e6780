//! The Discord adapter: translates gateway events into core calls and answers into Discord
//! messages, nothing more. Everything it shows comes from an [`crate::Answer`] or the index.
//!
//! - [`config`]: the environment, validated.
//! - [`deliver`]: REST calls bounded in time, logged, retried only on 429.
//! - [`commands`]: the slash commands generated from the fact cards.
//! - [`embed`]: answers as embeds within Discord's limits, with no pings.
//! - [`feedback`]: 👍 / 👎 under answers; the versioned custom ids of citebot's components.
//! - [`moderation`]: `/teach`, "Teach citebot" and `/stats`, for members who manage the server.
//! - [`reply`]: the one pure function from a request (any entry point) to a reply.
//! - [`conversation`]: the last question per thread or DM, and the threads seen created.
//! - [`registration`]: commands overwritten only when they differ; their ids kept.
//! - [`handler`]: the event routing table.

pub mod commands;
pub mod config;
pub mod conversation;
pub mod deliver;
pub mod embed;
pub mod feedback;
pub mod handler;
pub mod moderation;
pub mod registration;
pub mod reply;

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use serenity::all::{ClientBuilder, GatewayIntents, HttpBuilder};
use thiserror::Error;
use tracing::{info, warn};

pub use config::{BotConfig, ConfigError};

use crate::cooldown::Cooldown;
use crate::index::Index;
use crate::reload::{Reload, Watcher};
use handler::BotState;

/// Which shards this process runs (`CITEBOT_SHARDS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ShardPlan {
    /// Discord's recommended count (`GET /gateway/bot`), all in this process.
    #[default]
    Auto,
    /// Shards `first..=last` of `total`, e.g. `0-3/8`; other processes run the rest.
    Range { first: u32, last: u32, total: u32 },
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid CITEBOT_SHARDS {0:?}: expected `auto`, or FIRST-LAST/TOTAL such as 0-3/8 (or N/TOTAL for one shard)")]
pub struct ShardPlanError(String);

impl FromStr for ShardPlan {
    type Err = ShardPlanError;

    fn from_str(text: &str) -> Result<ShardPlan, ShardPlanError> {
        let text = text.trim();
        if text.is_empty() || text.eq_ignore_ascii_case("auto") {
            return Ok(ShardPlan::Auto);
        }
        let error = || ShardPlanError(text.to_string());
        let (range, total) = text.split_once('/').ok_or_else(error)?;
        let total: u32 = total.trim().parse().map_err(|_| error())?;
        let (first, last) = match range.split_once('-') {
            Some((first, last)) => (
                first.trim().parse().map_err(|_| error())?,
                last.trim().parse().map_err(|_| error())?,
            ),
            None => {
                let only: u32 = range.trim().parse().map_err(|_| error())?;
                (only, only)
            }
        };
        if total == 0 || first > last || last >= total {
            return Err(error());
        }
        Ok(ShardPlan::Range { first, last, total })
    }
}

#[derive(Debug, Error)]
pub enum BotError {
    #[error("Discord rejected DISCORD_TOKEN (gateway close 4004 or HTTP 401: authentication failed); put the bot token from the Developer Portal in .env (see .env.example)")]
    InvalidToken,
    #[error("Discord refused the gateway intents (close 4014): CITEBOT_ASK_CHANNELS needs the privileged Message Content intent; turn on \"Message Content Intent\" under Bot -> Privileged Gateway Intents in the Developer Portal, or leave CITEBOT_ASK_CHANNELS empty")]
    MessageContentRefused,
    #[error("Discord refused the gateway intents (close 4014); citebot needs no privileged intent without CITEBOT_ASK_CHANNELS, check the application's settings")]
    DisallowedIntents,
    #[error("Discord client error: {0}")]
    Client(#[source] Box<serenity::Error>),
    #[error("the question log (CITEBOT_DB): {0}; set CITEBOT_DB to another file, or to `off`")]
    Store(#[source] Box<crate::store::StoreError>),
}

/// Guilds, guild messages and direct messages: no privileged intent, since Discord delivers the
/// content of messages that mention the bot without MESSAGE_CONTENT. Watched channels need the
/// content of every message, so only then is the privileged intent asked for.
pub fn intents(watching: bool) -> GatewayIntents {
    let base =
        GatewayIntents::GUILDS | GatewayIntents::GUILD_MESSAGES | GatewayIntents::DIRECT_MESSAGES;
    if watching {
        base | GatewayIntents::MESSAGE_CONTENT
    } else {
        base
    }
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
    let (memory, writer) = match &config.db {
        Some(path) => {
            let open = |path: &std::path::Path| {
                crate::store::SqliteStore::open(path).map_err(|e| BotError::Store(Box::new(e)))
            };
            let (log, writer) =
                crate::store::QuestionLog::start(Box::new(open(path)?), config.retention);
            info!(db = %path.display(), retention_days = config.retention.as_secs() / 86_400, "question log on");
            (
                Some(handler::Memory::new(log, Box::new(open(path)?))),
                Some(writer),
            )
        }
        None => {
            info!("question log off (CITEBOT_DB=off)");
            (None, None)
        }
    };
    let state = Arc::new(BotState::new(
        index,
        config.guild,
        config.cooldown.map(Cooldown::new),
        memory,
        config.responses.clone(),
        config.ask_channels.iter().copied().collect(),
    ));
    let result = serve(config, state, http).await;
    if let Some(writer) = writer {
        // Whatever was queued is committed before the process exits.
        tokio::task::block_in_place(|| writer.finish(SHUTDOWN_GRACE));
    }
    result
}

/// Connects and answers until a shutdown signal.
async fn serve(config: BotConfig, state: Arc<BotState>, http: HttpBuilder) -> Result<(), BotError> {
    let watching = !config.ask_channels.is_empty();
    if watching {
        info!(channels = ?config.ask_channels, "watching channels (Message Content intent)");
    }
    let mut client = ClientBuilder::new_with_http(http.build(), intents(watching))
        .event_handler(handler::Handler::new(state.clone()))
        .await
        .map_err(|e| BotError::Client(Box::new(e)))?;
    let shard_manager = client.shard_manager.clone();
    tokio::spawn(watch_responses(
        config.responses.clone(),
        config.reload_interval,
        state.clone(),
    ));
    tokio::spawn(warn_while_unreachable(
        state,
        config.api_base.clone(),
        UNREACHABLE_AFTER,
    ));
    // The signal races the client itself, not only its shards: while the gateway is unreachable
    // serenity retries forever and `shutdown_all` has nothing to stop.
    let started = tokio::select! {
        started = start(&mut client, config.shards) => started,
        () = shutdown_signal() => {
            info!("shutting down");
            if tokio::time::timeout(SHUTDOWN_GRACE, shard_manager.shutdown_all()).await.is_err() {
                warn!("shards did not stop within {SHUTDOWN_GRACE:?}; exiting anyway");
            }
            return Ok(());
        }
    };
    started.map_err(|err| match err {
        serenity::Error::Gateway(serenity::gateway::GatewayError::InvalidAuthentication) => {
            BotError::InvalidToken
        }
        // With autosharding, the token is first used by `GET /gateway/bot`.
        ref http if deliver::status_of(http) == Some(401) => BotError::InvalidToken,
        serenity::Error::Gateway(serenity::gateway::GatewayError::DisallowedGatewayIntents) => {
            if watching {
                BotError::MessageContentRefused
            } else {
                BotError::DisallowedIntents
            }
        }
        other => BotError::Client(Box::new(other)),
    })
}

/// In-flight replies get this long to finish once a shutdown is asked for.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);
/// Without a gateway session after this long, the log says Discord is unreachable.
const UNREACHABLE_AFTER: Duration = Duration::from_secs(10);

async fn start(client: &mut serenity::Client, shards: ShardPlan) -> Result<(), serenity::Error> {
    match shards {
        ShardPlan::Auto => client.start_autosharded().await,
        ShardPlan::Range { first, last, total } => {
            info!(first, last, total, "starting a range of shards");
            // serenity 0.12 reads this range's end as inclusive ("up to and including").
            #[allow(clippy::range_minus_one)]
            client.start_shard_range(first..last, total).await
        }
    }
}

/// Says plainly, and again every so often, that no gateway session could be opened: serenity's
/// own retries log only transport errors.
async fn warn_while_unreachable(state: Arc<BotState>, api_base: Option<String>, after: Duration) {
    let mut waited = Duration::ZERO;
    loop {
        tokio::time::sleep(after).await;
        waited += after;
        if state.is_connected() {
            return;
        }
        let target = api_base.as_deref().unwrap_or("discord.com");
        warn!(
            "Discord is unreachable: no gateway session after {}s (REST base {target}); still retrying. Check the network and DISCORD_API_BASE",
            waited.as_secs()
        );
    }
}

/// Reloads `responses/` when it changes (polled) or on SIGHUP; a broken change is logged with
/// every `path:line` problem and the previous index keeps serving.
async fn watch_responses(dir: PathBuf, interval: Duration, state: Arc<BotState>) {
    let watcher = Arc::new(std::sync::Mutex::new(Watcher::new(&dir)));
    #[cfg(unix)]
    let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        #[cfg(unix)]
        let forced = match hangup.as_mut() {
            Some(hangup) => tokio::select! {
                _ = ticker.tick() => false,
                _ = hangup.recv() => true,
            },
            None => {
                ticker.tick().await;
                false
            }
        };
        #[cfg(not(unix))]
        let forced = {
            ticker.tick().await;
            false
        };
        if forced {
            info!("SIGHUP: reloading responses");
        }
        // Loading reads files and builds the index: keep it off the async workers.
        let watcher = watcher.clone();
        let polled = tokio::task::spawn_blocking(move || {
            watcher
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .poll(forced)
        })
        .await
        .unwrap_or_else(|err| {
            warn!(error = %err, "reload task failed");
            None
        });
        match polled {
            None => {}
            Some(Reload::Rebuilt(index)) => state.replace_index(*index).await,
            Some(Reload::Rejected(problems)) => {
                for problem in &problems.0 {
                    warn!("{problem}");
                }
                warn!(
                    errors = problems.errors().count(),
                    "responses/ has errors; still serving the previous index"
                );
            }
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_plans_parse() {
        assert_eq!("auto".parse(), Ok(ShardPlan::Auto));
        assert_eq!("".parse(), Ok(ShardPlan::Auto));
        assert_eq!(
            "0-3/8".parse(),
            Ok(ShardPlan::Range {
                first: 0,
                last: 3,
                total: 8
            })
        );
        assert_eq!(
            "1/2".parse(),
            Ok(ShardPlan::Range {
                first: 1,
                last: 1,
                total: 2
            })
        );
        for bad in ["0-3", "4-3/8", "0-8/8", "x/2", "0/0", "1-2/x"] {
            assert!(bad.parse::<ShardPlan>().is_err(), "{bad}");
        }
    }
}
