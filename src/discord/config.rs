//! The bot's configuration, read from the environment (a `.env` file is loaded first by the
//! binary) and validated before anything connects.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serenity::all::GuildId;
use thiserror::Error;

use super::ShardPlan;
use crate::cooldown::{parse_cooldown, CooldownParseError, CooldownSpec};

/// What the bot needs to run.
#[derive(Clone)]
pub struct BotConfig {
    pub token: String,
    pub guild: Option<GuildId>,
    /// REST base URL replacing Discord's (a ratelimit proxy or a test server).
    pub api_base: Option<String>,
    /// The responses folder, watched for changes.
    pub responses: PathBuf,
    /// How often the responses folder is checked for changes.
    pub reload_interval: Duration,
    /// Per-user limit on free questions; `None` for no limit.
    pub cooldown: Option<CooldownSpec>,
    pub shards: ShardPlan,
    /// The question log's database; `None` keeps no log.
    pub db: Option<PathBuf>,
    /// Log rows older than this are deleted (`CITEBOT_RETENTION`, default 30 days).
    pub retention: Duration,
    /// Channels and forums where every message is read (`CITEBOT_ASK_CHANNELS`); empty by
    /// default. Needs the privileged Message Content intent.
    pub ask_channels: Vec<u64>,
}

/// How long the question log keeps a row unless `CITEBOT_RETENTION` says otherwise.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(30 * 86_400);

impl std::fmt::Debug for BotConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BotConfig")
            .field("token", &"[redacted]")
            .field("guild", &self.guild)
            .field("api_base", &self.api_base)
            .field("responses", &self.responses)
            .field("cooldown", &self.cooldown)
            .field("shards", &self.shards)
            .field("db", &self.db)
            .field("retention", &self.retention)
            .field("ask_channels", &self.ask_channels)
            .finish()
    }
}

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("DISCORD_TOKEN is not set: copy .env.example to .env and put your bot token in it")]
    MissingToken,
    #[error("DISCORD_GUILD_ID must be a guild id (a number), got {0:?}")]
    GuildId(String),
    #[error("DISCORD_API_BASE must be an http:// or https:// URL, got {0:?}")]
    ApiBase(String),
    #[error("CITEBOT_COOLDOWN: {0}")]
    Cooldown(#[from] CooldownParseError),
    #[error(transparent)]
    Shards(#[from] super::ShardPlanError),
    #[error("CITEBOT_RETENTION: {0}")]
    Retention(String),
    #[error("CITEBOT_ASK_CHANNELS must be channel ids separated by commas, got {0:?}")]
    AskChannels(String),
}

impl BotConfig {
    /// Reads `DISCORD_TOKEN`, `DISCORD_GUILD_ID`, `DISCORD_API_BASE`, `CITEBOT_COOLDOWN` and
    /// `CITEBOT_SHARDS` through `var` (the process environment in the binary).
    pub fn from_env(
        var: impl Fn(&str) -> Option<String>,
        responses: &Path,
    ) -> Result<BotConfig, ConfigError> {
        let set = |name: &str| {
            var(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let token = set("DISCORD_TOKEN").ok_or(ConfigError::MissingToken)?;
        let guild = match set("DISCORD_GUILD_ID") {
            Some(raw) => Some(
                raw.parse::<std::num::NonZeroU64>()
                    .map(|id| GuildId::new(id.get()))
                    .map_err(|_| ConfigError::GuildId(raw))?,
            ),
            None => None,
        };
        let api_base = match set("DISCORD_API_BASE") {
            Some(base) if base.starts_with("http://") || base.starts_with("https://") => Some(base),
            Some(base) => return Err(ConfigError::ApiBase(base)),
            None => None,
        };
        let cooldown = match set("CITEBOT_COOLDOWN") {
            Some(text) => parse_cooldown(&text)?,
            None => Some(CooldownSpec::DEFAULT),
        };
        let shards = set("CITEBOT_SHARDS").unwrap_or_default().parse()?;
        let ask_channels = match set("CITEBOT_ASK_CHANNELS") {
            Some(text) => text
                .split([',', ' '])
                .map(str::trim)
                .filter(|id| !id.is_empty())
                .map(|id| {
                    id.parse::<std::num::NonZeroU64>()
                        .map(std::num::NonZeroU64::get)
                        .map_err(|_| ConfigError::AskChannels(text.clone()))
                })
                .collect::<Result<Vec<u64>, _>>()?,
            None => Vec::new(),
        };
        let retention = match set("CITEBOT_RETENTION") {
            Some(text) => crate::store::parse_period(&text).map_err(ConfigError::Retention)?,
            None => DEFAULT_RETENTION,
        };
        Ok(BotConfig {
            token,
            guild,
            api_base,
            responses: responses.to_path_buf(),
            reload_interval: Duration::from_secs(1),
            cooldown,
            shards,
            db: Some(PathBuf::from("citebot.db")),
            retention,
            ask_channels,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<BotConfig, ConfigError> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        BotConfig::from_env(
            |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()),
            Path::new("responses"),
        )
    }

    #[test]
    fn defaults_need_only_a_token() {
        let config = config(&[("DISCORD_TOKEN", " abc.def.ghi ")]).expect("valid");
        assert_eq!(config.token, "abc.def.ghi");
        assert_eq!(config.guild, None);
        assert_eq!(config.api_base, None);
        assert_eq!(config.cooldown, Some(CooldownSpec::DEFAULT));
        assert_eq!(config.shards, ShardPlan::Auto);
        assert!(
            config.ask_channels.is_empty(),
            "no channel is watched by default"
        );
        assert!(
            !format!("{config:?}").contains("abc.def.ghi"),
            "Debug hides the token"
        );
    }

    #[test]
    fn every_bad_value_is_a_clear_error() {
        assert!(matches!(config(&[]), Err(ConfigError::MissingToken)));
        assert!(matches!(
            config(&[("DISCORD_TOKEN", "  ")]),
            Err(ConfigError::MissingToken)
        ));
        let with = |k: &'static str, v: &'static str| config(&[("DISCORD_TOKEN", "t"), (k, v)]);
        assert!(matches!(
            with("DISCORD_GUILD_ID", "my-server"),
            Err(ConfigError::GuildId(_))
        ));
        assert!(matches!(
            with("DISCORD_GUILD_ID", "0"),
            Err(ConfigError::GuildId(_))
        ));
        assert!(matches!(
            with("DISCORD_API_BASE", "localhost:8080"),
            Err(ConfigError::ApiBase(_))
        ));
        assert!(matches!(
            with("CITEBOT_COOLDOWN", "fast"),
            Err(ConfigError::Cooldown(_))
        ));
        assert!(matches!(
            with("CITEBOT_SHARDS", "9/2"),
            Err(ConfigError::Shards(_))
        ));
        assert!(matches!(
            with("CITEBOT_RETENTION", "forever"),
            Err(ConfigError::Retention(_))
        ));
        assert!(matches!(
            with("CITEBOT_ASK_CHANNELS", "123,general"),
            Err(ConfigError::AskChannels(_))
        ));
        assert_eq!(
            with("CITEBOT_ASK_CHANNELS", " 123, 456 ")
                .expect("valid")
                .ask_channels,
            vec![123, 456]
        );
        assert_eq!(
            with("CITEBOT_RETENTION", "7d").expect("valid").retention,
            Duration::from_secs(7 * 86_400)
        );
        assert_eq!(
            with("CITEBOT_COOLDOWN", "off").expect("valid").cooldown,
            None
        );
        assert_eq!(
            with("DISCORD_GUILD_ID", "123").expect("valid").guild,
            Some(GuildId::new(123))
        );
    }
}
