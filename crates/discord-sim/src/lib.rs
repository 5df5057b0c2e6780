//! A Discord simulator on loopback for integration tests (REST + gateway on one port).
//!
//! Nothing in the test suite may reach the internet, so the real bot (serenity 0.12.5) is pointed
//! at this simulator: REST through `HttpBuilder::new(token).proxy(sim.api_base())
//! .ratelimiter_disabled(true)`, and the gateway through the URL the simulator returns from
//! `GET /api/v10/gateway` (`ws://127.0.0.1:PORT/gateway`, serenity appends `?v=10`).
//!
//! Everything the simulator sends is checked first against serenity's own model types (serenity
//! silently drops dispatches whose payload does not deserialize, which would make a test hang).
//! Everything the bot sends is recorded and checked against Discord's documented limits (empty
//! messages, 2000-character content, embed limits, command name rules, ...), and rejected with
//! Discord-style JSON errors when Discord would reject it.
//!
//! # Quick start
//!
//! ```ignore
//! mod sim;
//! use sim::*;
//!
//! let sim = Simulator::start(SimConfig { heartbeat_interval: Duration::from_millis(500), ..Default::default() }).await;
//! sim.add_channel(Channel { id: 200, kind: ChannelKind::Text, guild_id: Some(sim.config().guild_id) });
//! // start the bot with `sim.api_base()` / `sim.token()`, then:
//! let identify = sim.wait_ready(Duration::from_secs(10)).await?;      // IdentifyInfo { intents, shard, .. }
//! let cmds = sim.wait_bulk_overwrite(Duration::from_secs(5)).await?;  // Recorded { body: [commands], .. }
//! let (id, json) = sim.slash_command("ask").option("question", json!("why?")).locale("pt-BR").channel(200).build();
//! sim.dispatch_interaction(json).await?;
//! let cb = sim.wait_callback(id, Duration::from_secs(5)).await?;     // {"type": 4, "data": {...}}
//! let (msg_id, json) = sim.message_mentioning_bot(200, "hello").author(42).build();
//! sim.dispatch_message_create(json).await?;
//! let reply = sim.wait_channel_message(200, Duration::from_secs(5)).await?;  // body POSTed by the bot
//! ```
//!
//! # API summary
//!
//! Setup and identity
//! - `Simulator::start(SimConfig) -> Simulator` (async; `Simulator` is `Clone`, all clones share state)
//! - `api_base() -> String` (`http://127.0.0.1:PORT`), `gateway_url() -> String`, `token() -> &str`,
//!   `config() -> &SimConfig`, `http() -> serenity::http::Http` (proxy + ratelimiter disabled),
//!   `http_with_token(&str) -> Http`, `shutdown()`
//! - `add_channel(Channel)`, `channel(id) -> Option<Channel>`; channels referenced by dispatched
//!   interactions/messages are auto-registered (text channel in the guild, or DM) if missing.
//!
//! Gateway
//! - `wait_ready(timeout) -> SimResult<IdentifyInfo>` (latest successful IDENTIFY that got READY)
//! - `wait_identify_count(n, timeout) -> SimResult<IdentifyInfo>` (the n-th, 1-based)
//! - `wait_resume_count(n, timeout) -> SimResult<ResumeInfo>`, `wait_heartbeats(n, timeout)`
//! - `dispatch(t, d) -> SimResult<u64>` (any event, validated; returns the sequence number)
//! - `dispatch_interaction(json)`, `dispatch_message_create(json)` (validated; the latter fails with
//!   `SimError::FilteredByIntents` if the identified intents would stop Discord from sending it)
//! - builders: `slash_command(name)`, `autocomplete(command, option, partial)`,
//!   `message_mentioning_bot(channel, text)`, `message(channel, text)`; each has `.build()` returning
//!   `(id, json)` and `.send().await` which builds and dispatches.
//! - inspection: `identifies()`, `resumes()`, `heartbeat_count()`, `auth_failures()`,
//!   `server_closes()`, `connection_count()`, `gateway_received()`, `sessions()`,
//!   `wait_server_close(code, timeout)`
//!
//! Sharding (several shards, possibly from several bot processes, like Discord)
//! - `SimConfig::shards` is the shard count `GET /gateway/bot` recommends (default 1; what
//!   serenity's `start_autosharded` uses). IDENTIFY may carry any `shard: [id, total]` with
//!   `total >= 1`; `id >= total` gets close 4010. 4011 "Sharding required." is only sent if
//!   `SimConfig::require_sharding` is set and `total < shards` (no `shard` field counts as
//!   `[0, 1]`).
//! - Each IDENTIFY is its own session (session_id, sequence numbers, replay log,
//!   `resume_gateway_url`: the gateway URL for unsharded bots, `.../gateway/shard-{id}-{total}`
//!   otherwise). READY of shard `[i, n]` lists only `SimConfig::guilds` with
//!   `(guild_id >> 22) % n == i` and carries `shard`. RESUME resumes the session it names.
//! - Routing: events go to the session of the shard that owns their guild,
//!   `(guild_id >> 22) % total` (`shard_for_guild`), DMs / events without a guild to shard 0.
//!   `total` is the shard total of the latest IDENTIFY/RESUME; the latest IDENTIFY/RESUME of
//!   each `[id, total]` is the one that receives its events. A disconnected shard's events wait
//!   in its session log (replayed on RESUME); a shard that never identified makes `dispatch*`
//!   fail with `SimError::NoShardSession`. With one shard all this is the previous behaviour.
//! - `guild_on_shard(shard, total) -> u64`, `guilds_on_shard(shard, total, n) -> Vec<u64>`,
//!   `shard_for_guild(guild_id, total) -> u32` (free functions); `route_of(Option<guild>) ->
//!   SimResult<[u32; 2]>`; `dispatch_to_shard(shard, t, d)`.
//! - `wait_ready_shard(shard, timeout) -> SimResult<IdentifyInfo>`,
//!   `wait_shards_ready(total, timeout) -> SimResult<Vec<IdentifyInfo>>` (indexed by shard id);
//!   `ResumeInfo::shard`, `IdentifyInfo::shard_pair()/shard_id()`, `sessions() -> Vec<SessionInfo>`.
//! - Gateway fault hooks apply to every shard's connection; `_shard(id, ..)` variants target one:
//!   `send_reconnect_shard`, `close_gateway_shard`, `invalidate_session_shard`,
//!   `set_heartbeat_ack_shard`, `request_heartbeat_shard`.
//! - serenity 0.12.5: `start_shard_range(a..b, n)` boots shards `a..=b` (the end is inclusive,
//!   so shard 0 only is `0..0`), its shard queuer waits 5 s between two IDENTIFYs of one client,
//!   and it ignores `resume_gateway_url` (it resumes on the URL from `GET /gateway`).
//!
//! REST recording (bodies are JSON; multipart bodies are recorded from `payload_json`)
//! - `requests() -> Vec<Recorded>`, `unknown_routes() -> Vec<Recorded>`, `internal_errors()`
//! - `wait_request(timeout, |r| ..) -> SimResult<Recorded>`
//! - `wait_callback(interaction_id, timeout) -> SimResult<Value>` (callback body `{type, data}`),
//!   `callbacks(interaction_id) -> Vec<Value>` (all accepted callbacks, to assert "exactly once")
//! - `wait_original_edit(key, timeout)`, `wait_followup(key, timeout)`,
//!   `wait_followups(key, n, timeout)`, `original_message(key)`; `key` is an interaction id (`u64`)
//!   or token (`&str`)
//! - `wait_channel_message(channel, timeout)`, `wait_channel_messages(channel, n, timeout)`
//! - `wait_bulk_overwrite(timeout) -> SimResult<Recorded>` (global or guild PUT),
//!   `registered_commands(guild: Option<u64>) -> Vec<Value>`
//!
//! The `wait_*` functions return the *first accepted* (2xx) matching request. If the simulator
//! rejected the bot's request because Discord would have (e.g. an empty message), they return
//! `SimError::Rejected` at once instead of waiting. Requests answered by an injected fault are
//! skipped (the bot may retry). Timeouts return `SimError::Timeout` with a summary of recent traffic.
//!
//! Fault hooks
//! - gateway: `send_reconnect()` (op 7), `close_gateway(code, reason)`, `invalidate_session(resumable)`
//!   (op 9; `false` also forgets the session so a RESUME fails), `set_heartbeat_ack(bool)`,
//!   `request_heartbeat()` (op 1 from the server), `hold_handshakes(bool)` (park IDENTIFY/RESUME
//!   until released: makes "dispatched while the bot was away, replayed on RESUME" deterministic)
//! - REST: `fail_next(method, path_pattern, n, Fault)` with `Fault::Status(500)`,
//!   `Fault::RateLimited { retry_after, global }` (429 + `retry_after` JSON + `Retry-After` /
//!   `X-RateLimit-*` headers), `Fault::Hang` (never answers until `release_hung()`, then 503),
//!   `Fault::Delay(d)`; `path_pattern` segments may be `*` (one segment) or a trailing `**`, and the
//!   `/api/v10` prefix may be omitted. `clear_faults()`.
//!
//! Behaviour worth knowing
//! - REST needs `Authorization: Bot <token>` (401 otherwise) except `GET /api/v10/gateway`, which
//!   Discord serves unauthenticated (serenity falls back to the real `wss://gateway.discord.gg` if
//!   that request fails, so it must not fail). IDENTIFY/RESUME with a wrong token get close 4004.
//! - Interaction callbacks: unknown id/token -> 404 code 10062; second callback -> 400 code 40060;
//!   optional deadline (`SimConfig::interaction_deadline`, off by default) -> 404 code 10062.
//!   Webhook routes (`@original`, followups) answer 404 code 10015 until the interaction was
//!   acknowledged by a callback.
//! - Replies whose `message_reference.message_id` is unknown to the simulator get Discord's 400
//!   (unless `fail_if_not_exists: false`).
//! - Events dispatched while the bot is disconnected are kept in the session log and replayed on
//!   RESUME, like Discord does.
//! - Re-identifying (op 9 `false`, missed heartbeat ACKs) is slow in serenity 0.12.5: its shard
//!   manager waits ~5 s for its own runner before restarting; allow >= 10 s for those waits.
//! - The constructor sets `NO_PROXY`/`no_proxy` to `127.0.0.1,localhost` for the process.

mod payloads;
mod server;
mod validate;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Once};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::{mpsc, watch};

pub use payloads::{InteractionBuilder, MessageBuilder};

/// Result type of the simulator's fallible calls.
pub type SimResult<T> = Result<T, SimError>;

/// Configuration of a simulator instance. `Default` gives usable values for everything.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// The only bot token accepted (REST `Authorization: Bot <token>` and gateway IDENTIFY).
    pub token: String,
    pub application_id: u64,
    pub bot_user_id: u64,
    pub bot_username: String,
    /// HELLO's `heartbeat_interval`. Discord uses 41250 ms; tests usually want a few hundred ms.
    pub heartbeat_interval: Duration,
    /// Guild used by builders when none is given; READY lists `guilds` as unavailable stubs.
    pub guild_id: u64,
    /// Guilds listed in READY (as `{"id", "unavailable": true}`).
    pub guilds: Vec<u64>,
    /// Channel used by builders when none is given (auto-registered as a text channel).
    pub channel_id: u64,
    /// DM channel used by `.dm()` on builders.
    pub dm_channel_id: u64,
    /// User used as the interaction user / message author when none is given.
    pub user_id: u64,
    pub username: String,
    /// If set, interaction callbacks arriving later than this after the dispatch get Discord's
    /// 404 "Unknown interaction" (Discord's real limit is 3 s). Off by default to avoid flakes.
    pub interaction_deadline: Option<Duration>,
    /// Privileged intents the "developer portal" allows; IDENTIFY asking for others gets 4014.
    pub allowed_privileged_intents: u64,
    /// Recommended shard count served by `GET /gateway/bot` (what `start_autosharded` uses).
    /// The gateway accepts any `shard: [id, total]` with `id < total` regardless (see
    /// `require_sharding`). Default 1.
    pub shards: u32,
    /// If set, IDENTIFY whose shard total (1 when absent) is below `shards` gets close 4011
    /// "Sharding required." (Discord does this when a shard would hold too many guilds). Off by
    /// default.
    pub require_sharding: bool,
}

/// GUILD_MEMBERS | GUILD_PRESENCES | MESSAGE_CONTENT
pub const PRIVILEGED_INTENTS: u64 = (1 << 1) | (1 << 8) | (1 << 15);

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            token: "sim-token.NzAwMDAwMDAwMDAwMDAwMDAw.secret".to_string(),
            application_id: 700_000_000_000_000_001,
            bot_user_id: 700_000_000_000_000_001,
            bot_username: "citebot".to_string(),
            heartbeat_interval: Duration::from_millis(41_250),
            guild_id: 800_000_000_000_000_001,
            guilds: vec![800_000_000_000_000_001],
            channel_id: 810_000_000_000_000_001,
            dm_channel_id: 820_000_000_000_000_001,
            user_id: 900_000_000_000_000_001,
            username: "tester".to_string(),
            interaction_deadline: None,
            allowed_privileged_intents: PRIVILEGED_INTENTS,
            shards: 1,
            require_sharding: false,
        }
    }
}

/// The shard that receives events of `guild_id` when the bot runs `total` shards (Discord's
/// formula `(guild_id >> 22) % total`).
pub fn shard_for_guild(guild_id: u64, total: u32) -> u32 {
    assert!(total >= 1, "shard total must be >= 1");
    ((guild_id >> 22) % u64::from(total)) as u32
}

/// A guild id (a valid-looking snowflake) that Discord would route to shard `shard` of `total`.
/// Deterministic: the same arguments give the same id; see `guilds_on_shard` for several.
pub fn guild_on_shard(shard: u32, total: u32) -> u64 {
    guilds_on_shard(shard, total, 1)[0]
}

/// `n` distinct guild ids that all land on shard `shard` of `total`.
pub fn guilds_on_shard(shard: u32, total: u32, n: usize) -> Vec<u64> {
    assert!(
        total >= 1 && shard < total,
        "invalid shard {shard} of {total}"
    );
    // Timestamp part of the default guild id, aligned down to a multiple of `total`.
    let base = SimConfig::default().guild_id >> 22;
    let base = base - base % u64::from(total);
    (0..n as u64)
        .map(|k| {
            let ts = base + u64::from(shard) + k * u64::from(total);
            let id = (ts << 22) | 1;
            debug_assert_eq!(shard_for_guild(id, total), shard);
            id
        })
        .collect()
}

/// A channel the simulator knows (answers `GET /channels/{id}` and accepts messages in).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channel {
    pub id: u64,
    pub kind: ChannelKind,
    /// `None` for DMs.
    pub guild_id: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelKind {
    /// Guild text channel (type 0).
    Text,
    /// Public thread (type 11) under a text channel.
    PublicThread { parent: u64 },
    /// Private thread (type 12) under a text channel.
    PrivateThread { parent: u64 },
    /// DM channel (type 1); the recipient is `SimConfig::user_id`.
    Dm,
}

impl ChannelKind {
    pub fn discord_type(&self) -> u8 {
        match self {
            ChannelKind::Text => 0,
            ChannelKind::Dm => 1,
            ChannelKind::PublicThread { .. } => 11,
            ChannelKind::PrivateThread { .. } => 12,
        }
    }

    pub fn parent(&self) -> Option<u64> {
        match self {
            ChannelKind::PublicThread { parent } | ChannelKind::PrivateThread { parent } => {
                Some(*parent)
            }
            _ => None,
        }
    }
}

/// What a successful IDENTIFY carried (the token is compared, never stored).
#[derive(Debug, Clone)]
pub struct IdentifyInfo {
    pub intents: u64,
    pub shard: Option<[u32; 2]>,
    pub properties: Value,
    pub compress: Option<bool>,
    pub large_threshold: Option<u64>,
    pub presence: Option<Value>,
    pub session_id: String,
    pub connection_id: u64,
    pub since_start: Duration,
}

impl IdentifyInfo {
    pub fn gateway_intents(&self) -> serenity::model::gateway::GatewayIntents {
        serenity::model::gateway::GatewayIntents::from_bits_retain(self.intents)
    }

    /// `[id, total]`, `[0, 1]` when IDENTIFY had no `shard` field.
    pub fn shard_pair(&self) -> [u32; 2] {
        self.shard.unwrap_or([0, 1])
    }

    pub fn shard_id(&self) -> u32 {
        self.shard_pair()[0]
    }
}

/// A successful RESUME.
#[derive(Debug, Clone)]
pub struct ResumeInfo {
    pub session_id: String,
    /// The sequence number the client said it had seen.
    pub seq: u64,
    /// How many missed dispatches were replayed before RESUMED.
    pub replayed: usize,
    pub connection_id: u64,
    pub since_start: Duration,
    /// The shard of the resumed session, as it was given in its IDENTIFY.
    pub shard: Option<[u32; 2]>,
}

/// A gateway session (one per successful IDENTIFY), see `Simulator::sessions()`.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    pub session_id: String,
    /// As given in IDENTIFY (`None` if absent, which means `[0, 1]`).
    pub shard: Option<[u32; 2]>,
    /// Last sequence number sent in this session.
    pub seq: u64,
    /// The connection currently attached (`None` while the client is away).
    pub connection_id: Option<u64>,
    pub intents: u64,
    /// `false` after `invalidate_session(false)`: a RESUME of it gets op 9.
    pub valid: bool,
    /// `true` if this is the session events for its shard are routed to (the latest IDENTIFY
    /// or RESUME of that `[id, total]`).
    pub routed: bool,
    /// Guilds listed in its READY.
    pub guilds: Vec<u64>,
    pub resume_gateway_url: String,
    /// Dispatches in its replay log (READY included).
    pub dispatched: usize,
    /// Heartbeats received on connections attached to it.
    pub heartbeats: usize,
    pub since_start: Duration,
}

impl SessionInfo {
    pub fn shard_pair(&self) -> [u32; 2] {
        self.shard.unwrap_or([0, 1])
    }
}

/// A close frame the simulator sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseInfo {
    pub connection_id: u64,
    pub code: u16,
    pub reason: String,
}

/// A payload the bot sent over the gateway (`d` of IDENTIFY/RESUME has the token redacted).
#[derive(Debug, Clone)]
pub struct GatewayFrame {
    pub connection_id: u64,
    pub op: u64,
    pub d: Value,
    pub since_start: Duration,
}

/// Which REST route a recorded request hit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Gateway,
    GatewayBot,
    CurrentUser,
    CurrentApplication,
    InteractionCallback {
        interaction_id: u64,
        token: String,
    },
    /// `GET`/`PATCH`/`DELETE /webhooks/{app}/{token}/messages/@original`
    OriginalResponse {
        token: String,
    },
    /// `POST /webhooks/{app}/{token}`
    Followup {
        token: String,
    },
    /// `GET`/`PATCH`/`DELETE /webhooks/{app}/{token}/messages/{id}`
    FollowupMessage {
        token: String,
        message_id: u64,
    },
    GlobalCommands,
    GuildCommands {
        guild_id: u64,
    },
    Channel {
        channel_id: u64,
    },
    ChannelMessages {
        channel_id: u64,
    },
    ChannelMessage {
        channel_id: u64,
        message_id: u64,
    },
    Typing {
        channel_id: u64,
    },
    Reaction {
        channel_id: u64,
        message_id: u64,
    },
    Unknown,
}

/// One REST request the bot made.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// Position in `requests()`.
    pub index: usize,
    pub method: String,
    /// Path without the query string, e.g. `/api/v10/channels/1/messages`.
    pub path: String,
    pub query: Option<String>,
    pub route: Route,
    /// The interaction a webhook/callback route belongs to, when the simulator knows it.
    pub interaction_id: Option<u64>,
    /// JSON body (`Value::Null` if none; for multipart, the `payload_json` part).
    pub body: Value,
    /// File names of multipart uploads.
    pub files: Vec<String>,
    /// `None` while the request is still pending (e.g. `Fault::Hang`).
    pub status: Option<u16>,
    /// The JSON the simulator answered with (`Null` for 204).
    pub response: Value,
    /// Description of the injected fault that answered this request, if any.
    pub fault: Option<String>,
    pub at: Instant,
    pub since_start: Duration,
}

impl Recorded {
    pub fn accepted(&self) -> bool {
        matches!(self.status, Some(s) if (200..300).contains(&s))
    }

    /// Rejected by the simulator's validation (not by an injected fault).
    pub fn rejected(&self) -> bool {
        self.fault.is_none() && matches!(self.status, Some(s) if s >= 400)
    }

    fn summary(&self) -> String {
        format!(
            "#{} {:?}ms {} {} -> {}{}{}",
            self.index,
            self.since_start.as_millis(),
            self.method,
            self.path,
            self.status.map_or("pending".to_string(), |s| s.to_string()),
            self.fault
                .as_ref()
                .map_or(String::new(), |f| format!(" [fault: {f}]")),
            if self.rejected() {
                format!(" response={}", truncate(&self.response.to_string(), 300))
            } else {
                String::new()
            },
        )
    }
}

/// An injected REST fault (see `Simulator::fail_next`).
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Answer with this status and a Discord-style JSON error.
    Status(u16),
    /// 429 with `{"retry_after", "global", "message", "code"}` and rate-limit headers.
    RateLimited { retry_after: f64, global: bool },
    /// Never answer (until `release_hung()`, which answers 503).
    Hang,
    /// Wait, then handle the request normally.
    Delay(Duration),
}

/// Identifies an interaction by id or by token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InteractionKey {
    Id(u64),
    Token(String),
}

impl From<u64> for InteractionKey {
    fn from(v: u64) -> Self {
        InteractionKey::Id(v)
    }
}

impl From<&str> for InteractionKey {
    fn from(v: &str) -> Self {
        InteractionKey::Token(v.to_string())
    }
}

impl From<String> for InteractionKey {
    fn from(v: String) -> Self {
        InteractionKey::Token(v)
    }
}

impl From<&String> for InteractionKey {
    fn from(v: &String) -> Self {
        InteractionKey::Token(v.clone())
    }
}

#[derive(Clone)]
pub enum SimError {
    /// Nothing matching arrived in time. `diagnostics` summarizes the recent traffic.
    Timeout {
        what: String,
        after: Duration,
        diagnostics: String,
    },
    /// A payload the test asked to send would not deserialize in serenity (or is malformed).
    InvalidPayload { event: String, error: String },
    /// The bot's request was rejected by the simulator the way Discord would reject it.
    Rejected {
        what: String,
        request: Box<Recorded>,
    },
    /// No client has identified yet, so there is no session to dispatch to.
    NoSession,
    /// No gateway connection is open (for gateway fault hooks).
    NoConnection,
    /// Discord would not deliver this event given the identified intents.
    FilteredByIntents { event: String, missing: String },
    /// An id was already used.
    Duplicate(String),
    /// The shard that owns the event's guild (shard 0 for DMs) has never identified (with the
    /// shard total events are currently routed with), so Discord would have nowhere to send it.
    NoShardSession {
        shard: u32,
        total: u32,
        guild_id: Option<u64>,
        /// `[id, total]` of every shard that has a session.
        identified: Vec<[u32; 2]>,
    },
}

impl fmt::Display for SimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SimError::Timeout {
                what,
                after,
                diagnostics,
            } => write!(
                f,
                "timed out after {after:?} waiting for {what}\n{diagnostics}"
            ),
            SimError::InvalidPayload { event, error } => write!(
                f,
                "{event} payload would not deserialize in serenity 0.12.5 (it would be dropped \
                 silently): {error}"
            ),
            SimError::Rejected { what, request } => write!(
                f,
                "the bot's {what} was rejected like Discord would: {} {} -> {:?}: {}\nbody: {}",
                request.method,
                request.path,
                request.status,
                request.response,
                truncate(&request.body.to_string(), 2000)
            ),
            SimError::NoSession => write!(f, "no client has identified with the simulator yet"),
            SimError::NoConnection => write!(f, "no gateway connection is open"),
            SimError::FilteredByIntents { event, missing } => write!(
                f,
                "Discord would not deliver {event}: the bot identified without the {missing} intent"
            ),
            SimError::Duplicate(what) => write!(f, "duplicate {what}"),
            SimError::NoShardSession {
                shard,
                total,
                guild_id,
                identified,
            } => write!(
                f,
                "no session for shard [{shard}, {total}], which owns {}; shards with a session: \
                 {identified:?}",
                guild_id.map_or("DMs".to_string(), |g| format!("guild {g}"))
            ),
        }
    }
}

/// Debug prints the readable message too, so `.expect()` in tests shows the diagnostics.
impl fmt::Debug for SimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for SimError {}

pub(crate) fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let t: String = s.chars().take(max).collect();
        format!("{t}…")
    }
}

// ---------------------------------------------------------------------------------------------
// Shared state
// ---------------------------------------------------------------------------------------------

pub(crate) enum ConnCmd {
    Text(String),
    Close(u16, String),
    Drop,
    /// Process a parked IDENTIFY (op 2) or RESUME (op 6) now.
    Handshake(u64, Value),
}

pub(crate) struct ConnState {
    pub(crate) tx: mpsc::UnboundedSender<ConnCmd>,
    pub(crate) session: Option<String>,
}

pub(crate) struct Session {
    pub(crate) id: String,
    pub(crate) seq: u64,
    /// (seq, serialized frame) of every dispatch in this session.
    pub(crate) log: Vec<(u64, String)>,
    pub(crate) conn: Option<u64>,
    pub(crate) intents: u64,
    pub(crate) valid: bool,
    /// As given in IDENTIFY.
    pub(crate) shard: Option<[u32; 2]>,
    pub(crate) guilds: Vec<u64>,
    pub(crate) resume_url: String,
    pub(crate) heartbeats: usize,
    pub(crate) created: Duration,
}

impl Session {
    pub(crate) fn shard_key(&self) -> [u32; 2] {
        self.shard.unwrap_or([0, 1])
    }
}

pub(crate) struct InteractionState {
    pub(crate) id: u64,
    pub(crate) token: String,
    pub(crate) kind: u64,
    pub(crate) channel_id: u64,
    pub(crate) dispatched_at: Instant,
    pub(crate) acked: bool,
    pub(crate) original: Option<Value>,
    pub(crate) followups: Vec<u64>,
}

pub(crate) struct RouteFault {
    pub(crate) method: String,
    pub(crate) pattern: Vec<String>,
    pub(crate) remaining: usize,
    pub(crate) fault: Fault,
}

#[derive(Default)]
pub(crate) struct State {
    pub(crate) requests: Vec<Recorded>,
    pub(crate) channels: HashMap<u64, Channel>,
    pub(crate) conns: HashMap<u64, ConnState>,
    pub(crate) connections_total: u64,
    pub(crate) sessions: HashMap<String, Session>,
    /// The latest identified or resumed session (of any shard).
    pub(crate) current_session: Option<String>,
    /// `[id, total]` -> the session events for that shard go to (latest IDENTIFY/RESUME).
    pub(crate) shard_sessions: HashMap<[u32; 2], String>,
    pub(crate) identifies: Vec<IdentifyInfo>,
    pub(crate) resumes: Vec<ResumeInfo>,
    pub(crate) server_closes: Vec<CloseInfo>,
    pub(crate) gateway_received: Vec<GatewayFrame>,
    pub(crate) auth_failures: usize,
    pub(crate) heartbeats: usize,
    pub(crate) no_heartbeat_ack: bool,
    /// Shard ids whose heartbeats are not acknowledged (`set_heartbeat_ack_shard`).
    pub(crate) no_heartbeat_ack_shards: HashSet<u32>,
    pub(crate) hold_handshakes: bool,
    /// Parked (connection id, op, d) handshakes while `hold_handshakes` is set.
    pub(crate) held_handshakes: Vec<(u64, u64, Value)>,
    pub(crate) interactions: HashMap<u64, InteractionState>,
    pub(crate) interaction_by_token: HashMap<String, u64>,
    /// Every message the simulator knows (dispatched to or created by the bot), by id.
    pub(crate) messages: HashMap<u64, Value>,
    pub(crate) commands_global: Vec<Value>,
    pub(crate) commands_guild: HashMap<u64, Vec<Value>>,
    pub(crate) command_ids: HashMap<(Option<u64>, u64, String), u64>,
    pub(crate) faults: Vec<RouteFault>,
    pub(crate) internal_errors: Vec<String>,
}

pub(crate) struct Inner {
    pub(crate) cfg: SimConfig,
    pub(crate) addr: SocketAddr,
    pub(crate) started: Instant,
    state: Mutex<State>,
    changed: watch::Sender<u64>,
    pub(crate) release: watch::Sender<u64>,
    next_id: AtomicU64,
    server: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Inner {
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Wake every waiter (call after changing state, without holding the lock).
    pub(crate) fn bump(&self) {
        self.changed.send_modify(|v| *v = v.wrapping_add(1));
    }

    /// A fresh snowflake-like id.
    /// A fresh snowflake: its top bits are now's milliseconds since Discord's epoch, as
    /// Discord's are (a bot may read an interaction's age from its id), and it is unique.
    pub(crate) fn next_id(&self) -> u64 {
        const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(DISCORD_EPOCH_MS, |d| d.as_millis() as u64);
        let at_now = now_ms.saturating_sub(DISCORD_EPOCH_MS) << 22;
        let mut previous = self.next_id.load(Ordering::Relaxed);
        loop {
            let id = at_now.max(previous + 1);
            match self.next_id.compare_exchange_weak(
                previous,
                id,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return id,
                Err(actual) => previous = actual,
            }
        }
    }

    pub(crate) fn api_base(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub(crate) fn gateway_url(&self) -> String {
        format!("ws://{}/gateway", self.addr)
    }

    pub(crate) fn internal_error(&self, msg: String) {
        tracing::error!("discord simulator: {msg}");
        self.lock().internal_errors.push(msg);
        self.bump();
    }

    fn diagnostics(&self) -> String {
        let st = self.lock();
        let mut out = String::new();
        let n = st.requests.len();
        out.push_str(&format!("  REST requests ({n} total, last 15):\n"));
        for r in st.requests.iter().skip(n.saturating_sub(15)) {
            out.push_str(&format!("    {}\n", r.summary()));
        }
        let unknown: Vec<_> = st
            .requests
            .iter()
            .filter(|r| r.route == Route::Unknown)
            .map(|r| format!("{} {}", r.method, r.path))
            .collect();
        if !unknown.is_empty() {
            out.push_str(&format!("  unknown routes: {unknown:?}\n"));
        }
        out.push_str(&format!(
            "  gateway: {} connection(s) total, {} open, {} identify, {} resume, {} heartbeat(s), \
             {} auth failure(s), closes sent: {:?}\n",
            st.connections_total,
            st.conns.len(),
            st.identifies.len(),
            st.resumes.len(),
            st.heartbeats,
            st.auth_failures,
            st.server_closes.iter().map(|c| c.code).collect::<Vec<_>>(),
        ));
        if let Some(s) = st.current_session.as_ref().and_then(|s| st.sessions.get(s)) {
            out.push_str(&format!(
                "  current session {}: seq {}, attached to connection {:?}\n",
                s.id, s.seq, s.conn
            ));
        }
        if st.shard_sessions.keys().any(|k| *k != [0, 1]) {
            let mut keys: Vec<_> = st.shard_sessions.keys().copied().collect();
            keys.sort();
            for k in keys {
                if let Some(s) = st.shard_sessions.get(&k).and_then(|s| st.sessions.get(s)) {
                    out.push_str(&format!(
                        "  shard {k:?}: session {}, seq {}, attached to connection {:?}\n",
                        s.id, s.seq, s.conn
                    ));
                }
            }
        }
        if !st.internal_errors.is_empty() {
            out.push_str(&format!(
                "  simulator internal errors: {:?}\n",
                st.internal_errors
            ));
        }
        out
    }

    /// The shard total events are routed with: that of the latest identified/resumed session.
    pub(crate) fn routing_total(st: &State) -> Option<u32> {
        st.current_session
            .as_ref()
            .and_then(|s| st.sessions.get(s))
            .map(|s| s.shard_key()[1])
    }

    /// The session that owns shard `shard` (of the routing total).
    pub(crate) fn session_for_shard(
        st: &State,
        shard: u32,
        guild_id: Option<u64>,
    ) -> SimResult<String> {
        let total = Self::routing_total(st).ok_or(SimError::NoSession)?;
        st.shard_sessions
            .get(&[shard, total])
            .cloned()
            .ok_or_else(|| {
                let mut identified: Vec<[u32; 2]> = st.shard_sessions.keys().copied().collect();
                identified.sort();
                SimError::NoShardSession {
                    shard,
                    total,
                    guild_id,
                    identified,
                }
            })
    }

    /// The session Discord would send an event of `guild_id` to (shard 0 for no guild).
    pub(crate) fn session_for_guild(st: &State, guild_id: Option<u64>) -> SimResult<String> {
        let total = Self::routing_total(st).ok_or(SimError::NoSession)?;
        let shard = guild_id.map_or(0, |g| shard_for_guild(g, total));
        Self::session_for_shard(st, shard, guild_id)
    }

    pub(crate) fn dispatch_to_session(
        &self,
        st: &mut State,
        sid: &str,
        t: &str,
        d: Value,
    ) -> SimResult<u64> {
        let session = st.sessions.get_mut(sid).ok_or(SimError::NoSession)?;
        let seq = session.seq + 1;
        let frame = serde_json::json!({ "op": 0, "t": t, "s": seq, "d": d }).to_string();
        validate::check_frame(&frame).map_err(|error| SimError::InvalidPayload {
            event: t.to_string(),
            error,
        })?;
        session.seq = seq;
        session.log.push((seq, frame.clone()));
        if let Some(cid) = session.conn {
            if let Some(conn) = st.conns.get(&cid) {
                let _ = conn.tx.send(ConnCmd::Text(frame));
            }
        }
        Ok(seq)
    }
}

// ---------------------------------------------------------------------------------------------
// The public handle
// ---------------------------------------------------------------------------------------------

/// A running simulator. Cheap to clone; all clones share the same server and records.
#[derive(Clone)]
pub struct Simulator {
    inner: Arc<Inner>,
}

static NO_PROXY: Once = Once::new();

impl Simulator {
    /// Bind `127.0.0.1:0` and serve REST and the gateway websocket on that one port.
    pub async fn start(cfg: SimConfig) -> Simulator {
        NO_PROXY.call_once(|| {
            std::env::set_var("NO_PROXY", "127.0.0.1,localhost");
            std::env::set_var("no_proxy", "127.0.0.1,localhost");
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("discord simulator: cannot bind 127.0.0.1:0");
        let addr = listener
            .local_addr()
            .expect("discord simulator: no local address");
        let (changed, _) = watch::channel(0u64);
        let (release, _) = watch::channel(0u64);
        let inner = Arc::new(Inner {
            cfg,
            addr,
            started: Instant::now(),
            state: Mutex::new(State::default()),
            changed,
            release,
            next_id: AtomicU64::new(1_300_000_000_000_000_000),
            server: Mutex::new(None),
        });
        {
            let mut st = inner.lock();
            let c = &inner.cfg;
            st.channels.insert(
                c.channel_id,
                Channel {
                    id: c.channel_id,
                    kind: ChannelKind::Text,
                    guild_id: Some(c.guild_id),
                },
            );
            st.channels.insert(
                c.dm_channel_id,
                Channel {
                    id: c.dm_channel_id,
                    kind: ChannelKind::Dm,
                    guild_id: None,
                },
            );
        }
        let app = server::router(inner.clone());
        let handle = tokio::spawn(async move {
            // Without TCP_NODELAY small gateway frames wait for the peer's delayed ACK (~40 ms).
            let listener = axum::serve::ListenerExt::tap_io(listener, |stream| {
                let _ = stream.set_nodelay(true);
            });
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!("discord simulator server stopped: {e}");
            }
        });
        *inner.server.lock().unwrap_or_else(|p| p.into_inner()) = Some(handle);
        tracing::debug!("discord simulator listening on {addr}");
        Simulator { inner }
    }

    /// Stop serving (open websockets are told to close with 1001).
    pub fn shutdown(&self) {
        let st = self.inner.lock();
        for conn in st.conns.values() {
            let _ = conn
                .tx
                .send(ConnCmd::Close(1001, "simulator shutting down".into()));
        }
        drop(st);
        if let Some(h) = self
            .inner
            .server
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            h.abort();
        }
    }

    pub fn api_base(&self) -> String {
        self.inner.api_base()
    }

    pub fn gateway_url(&self) -> String {
        self.inner.gateway_url()
    }

    pub fn token(&self) -> &str {
        &self.inner.cfg.token
    }

    pub fn config(&self) -> &SimConfig {
        &self.inner.cfg
    }

    /// A serenity `Http` pointed at the simulator with the accepted token.
    pub fn http(&self) -> serenity::http::Http {
        self.http_with_token(&self.inner.cfg.token)
    }

    pub fn http_with_token(&self, token: &str) -> serenity::http::Http {
        let http = serenity::http::HttpBuilder::new(token)
            .proxy(self.api_base())
            .ratelimiter_disabled(true)
            .build();
        http.set_application_id(serenity::model::id::ApplicationId::new(
            self.inner.cfg.application_id,
        ));
        http
    }

    pub fn add_channel(&self, channel: Channel) {
        self.inner.lock().channels.insert(channel.id, channel);
        self.inner.bump();
    }

    /// Registers a public thread `id` under `parent` and dispatches its THREAD_CREATE, titled
    /// `name` (a forum post's title when `parent` is a forum).
    pub async fn create_thread(&self, id: u64, parent: u64, name: &str) -> SimResult<u64> {
        let channel = Channel {
            id,
            kind: ChannelKind::PublicThread { parent },
            guild_id: Some(self.inner.cfg.guild_id),
        };
        self.add_channel(channel.clone());
        let mut json = payloads::channel_json(&self.inner.cfg, &channel);
        json["name"] = Value::String(name.to_string());
        json["newly_created"] = Value::Bool(true);
        self.dispatch("THREAD_CREATE", json).await
    }

    /// Dispatches GUILD_CREATE for the simulator's guild with the bot's managed role `role`
    /// (the role Discord gives a bot when it joins, tagged with the bot's id).
    pub async fn create_guild_with_bot_role(&self, role: u64) -> SimResult<u64> {
        let cfg = &self.inner.cfg;
        let guild = cfg.guild_id.to_string();
        let role_json = |id: String, name: &str, managed: bool| {
            let mut role = serde_json::json!({
                "id": id, "name": name, "color": 0, "colors": {"primary_color": 0, "secondary_color": null, "tertiary_color": null}, "hoist": false, "icon": null,
                "unicode_emoji": null, "position": if managed { 1 } else { 0 },
                "permissions": "0", "managed": managed, "mentionable": false, "flags": 0,
            });
            if managed {
                role["tags"] = serde_json::json!({"bot_id": cfg.bot_user_id.to_string()});
            }
            role
        };
        let mut json = serde_json::json!({
            "id": guild, "name": "sim guild", "icon": null, "splash": null,
            "discovery_splash": null, "owner_id": cfg.user_id.to_string(),
            "afk_channel_id": null, "afk_timeout": 300, "widget_enabled": false,
            "widget_channel_id": null, "verification_level": 0,
            "default_message_notifications": 0, "explicit_content_filter": 0,
            "roles": [role_json(guild.clone(), "@everyone", false), role_json(role.to_string(), "citebot", true)],
            "emojis": [], "features": [], "mfa_level": 0, "application_id": null,
            "system_channel_id": null, "system_channel_flags": 0, "rules_channel_id": null,
        });
        let rest = serde_json::json!({
            "max_presences": null, "max_members": 1000, "vanity_url_code": null,
            "description": null, "banner": null, "premium_tier": 0,
            "premium_subscription_count": 0, "preferred_locale": "en-US",
            "public_updates_channel_id": null, "max_video_channel_users": 25, "nsfw_level": 0,
            "stickers": [], "premium_progress_bar_enabled": false,
            "joined_at": "2024-01-01T00:00:00.000000+00:00", "large": false, "unavailable": false,
            "member_count": 1, "members": [], "channels": [], "threads": [], "presences": [],
            "voice_states": [], "stage_instances": [], "guild_scheduled_events": [],
            "safety_alerts_channel_id": null,
        });
        if let (Some(json), Value::Object(rest)) = (json.as_object_mut(), rest) {
            json.extend(rest);
        }
        self.dispatch("GUILD_CREATE", json).await
    }

    pub fn channel(&self, id: u64) -> Option<Channel> {
        self.inner.lock().channels.get(&id).cloned()
    }

    // ----- waiting --------------------------------------------------------------------------

    async fn wait_for<T>(
        &self,
        what: &str,
        timeout: Duration,
        mut check: impl FnMut(&State) -> Option<SimResult<T>>,
    ) -> SimResult<T> {
        let mut rx = self.inner.changed.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(r) = check(&self.inner.lock()) {
                return r;
            }
            match tokio::time::timeout_at(deadline, rx.changed()).await {
                Ok(Ok(())) => continue,
                Ok(Err(_)) | Err(_) => {
                    if let Some(r) = check(&self.inner.lock()) {
                        return r;
                    }
                    return Err(SimError::Timeout {
                        what: what.to_string(),
                        after: timeout,
                        diagnostics: self.inner.diagnostics(),
                    });
                }
            }
        }
    }

    /// Wait for the first request matching `pred` (any status).
    pub async fn wait_request(
        &self,
        timeout: Duration,
        pred: impl Fn(&Recorded) -> bool,
    ) -> SimResult<Recorded> {
        self.wait_for("a matching REST request", timeout, |st| {
            st.requests
                .iter()
                .find(|r| r.status.is_some() && pred(r))
                .cloned()
                .map(Ok)
        })
        .await
    }

    /// First accepted request matching `pred`; `Rejected` if a validation rejection comes first.
    async fn wait_accepted(
        &self,
        what: &str,
        timeout: Duration,
        n: usize,
        pred: impl Fn(&State, &Recorded) -> bool,
    ) -> SimResult<Vec<Recorded>> {
        self.wait_for(what, timeout, |st| {
            let mut found = Vec::new();
            for r in st.requests.iter().filter(|r| r.status.is_some()) {
                if !pred(st, r) {
                    continue;
                }
                if r.rejected() {
                    return Some(Err(SimError::Rejected {
                        what: what.to_string(),
                        request: Box::new(r.clone()),
                    }));
                }
                if r.accepted() {
                    found.push(r.clone());
                    if found.len() == n {
                        return Some(Ok(found));
                    }
                }
            }
            None
        })
        .await
    }

    fn resolve_key(st: &State, key: &InteractionKey) -> Option<u64> {
        match key {
            InteractionKey::Id(id) => Some(*id),
            InteractionKey::Token(t) => st.interaction_by_token.get(t).copied(),
        }
    }

    /// Waits until a client has identified and READY was sent; returns the latest such IDENTIFY.
    pub async fn wait_ready(&self, timeout: Duration) -> SimResult<IdentifyInfo> {
        self.wait_for("IDENTIFY + READY", timeout, |st| {
            st.identifies.last().cloned().map(Ok)
        })
        .await
    }

    /// Waits for the n-th (1-based) successful IDENTIFY.
    pub async fn wait_identify_count(
        &self,
        n: usize,
        timeout: Duration,
    ) -> SimResult<IdentifyInfo> {
        self.wait_for(&format!("IDENTIFY #{n}"), timeout, |st| {
            st.identifies.get(n.saturating_sub(1)).cloned().map(Ok)
        })
        .await
    }

    /// Waits for the n-th (1-based) successful RESUME.
    pub async fn wait_resume_count(&self, n: usize, timeout: Duration) -> SimResult<ResumeInfo> {
        self.wait_for(&format!("RESUME #{n}"), timeout, |st| {
            st.resumes.get(n.saturating_sub(1)).cloned().map(Ok)
        })
        .await
    }

    /// Waits until at least `n` heartbeats were received in total.
    pub async fn wait_heartbeats(&self, n: usize, timeout: Duration) -> SimResult<usize> {
        self.wait_for(&format!("{n} heartbeat(s)"), timeout, |st| {
            (st.heartbeats >= n).then_some(Ok(st.heartbeats))
        })
        .await
    }

    /// The interaction callback body (`{type, data}`) first accepted for this interaction.
    pub async fn wait_callback(&self, interaction_id: u64, timeout: Duration) -> SimResult<Value> {
        let what = format!("the interaction callback for interaction {interaction_id}");
        let mut v = self
            .wait_accepted(&what, timeout, 1, |_, r| {
                matches!(&r.route, Route::InteractionCallback { interaction_id: i, .. } if *i == interaction_id)
            })
            .await?;
        Ok(v.remove(0).body)
    }

    /// All accepted callback bodies for this interaction (to assert "answered exactly once").
    pub fn callbacks(&self, interaction_id: u64) -> Vec<Value> {
        self.inner
            .lock()
            .requests
            .iter()
            .filter(|r| {
                r.accepted()
                    && matches!(&r.route, Route::InteractionCallback { interaction_id: i, .. } if *i == interaction_id)
            })
            .map(|r| r.body.clone())
            .collect()
    }

    /// The first accepted `PATCH .../messages/@original` body for this interaction.
    pub async fn wait_original_edit(
        &self,
        key: impl Into<InteractionKey>,
        timeout: Duration,
    ) -> SimResult<Value> {
        let key = key.into();
        let what = format!("an @original edit for interaction {key:?}");
        let mut v = self
            .wait_accepted(&what, timeout, 1, |st, r| {
                r.method == "PATCH"
                    && matches!(r.route, Route::OriginalResponse { .. })
                    && r.interaction_id.is_some()
                    && r.interaction_id == Self::resolve_key(st, &key)
            })
            .await?;
        Ok(v.remove(0).body)
    }

    /// The first accepted followup body (`POST /webhooks/{app}/{token}`) for this interaction.
    pub async fn wait_followup(
        &self,
        key: impl Into<InteractionKey>,
        timeout: Duration,
    ) -> SimResult<Value> {
        Ok(self.wait_followups(key, 1, timeout).await?.remove(0))
    }

    /// The first `n` accepted followup bodies for this interaction.
    pub async fn wait_followups(
        &self,
        key: impl Into<InteractionKey>,
        n: usize,
        timeout: Duration,
    ) -> SimResult<Vec<Value>> {
        let key = key.into();
        let what = format!("{n} followup(s) for interaction {key:?}");
        let v = self
            .wait_accepted(&what, timeout, n, |st, r| {
                r.method == "POST"
                    && matches!(r.route, Route::Followup { .. })
                    && r.interaction_id.is_some()
                    && r.interaction_id == Self::resolve_key(st, &key)
            })
            .await?;
        Ok(v.into_iter().map(|r| r.body).collect())
    }

    /// The current state of the interaction's original response message, as Discord has it.
    pub fn original_message(&self, key: impl Into<InteractionKey>) -> Option<Value> {
        let key = key.into();
        let st = self.inner.lock();
        let id = Self::resolve_key(&st, &key)?;
        st.interactions.get(&id)?.original.clone()
    }

    /// The first accepted body the bot POSTed to `/channels/{channel_id}/messages`.
    pub async fn wait_channel_message(
        &self,
        channel_id: u64,
        timeout: Duration,
    ) -> SimResult<Value> {
        Ok(self
            .wait_channel_messages(channel_id, 1, timeout)
            .await?
            .remove(0))
    }

    /// The first `n` accepted bodies POSTed to `/channels/{channel_id}/messages`.
    pub async fn wait_channel_messages(
        &self,
        channel_id: u64,
        n: usize,
        timeout: Duration,
    ) -> SimResult<Vec<Value>> {
        let what = format!("{n} message(s) posted to channel {channel_id}");
        let v = self
            .wait_accepted(&what, timeout, n, |_, r| {
                r.method == "POST"
                    && matches!(r.route, Route::ChannelMessages { channel_id: c } if c == channel_id)
            })
            .await?;
        Ok(v.into_iter().map(|r| r.body).collect())
    }

    /// The first accepted bulk overwrite of commands (global or guild).
    pub async fn wait_bulk_overwrite(&self, timeout: Duration) -> SimResult<Recorded> {
        let mut v = self
            .wait_accepted(
                "a bulk overwrite of application commands",
                timeout,
                1,
                |_, r| {
                    r.method == "PUT"
                        && matches!(r.route, Route::GlobalCommands | Route::GuildCommands { .. })
                },
            )
            .await?;
        Ok(v.remove(0))
    }

    /// Commands as the simulator stores them (full objects with ids), global if `guild` is None.
    pub fn registered_commands(&self, guild: Option<u64>) -> Vec<Value> {
        let st = self.inner.lock();
        match guild {
            None => st.commands_global.clone(),
            Some(g) => st.commands_guild.get(&g).cloned().unwrap_or_default(),
        }
    }

    // ----- records ----------------------------------------------------------------------------

    pub fn requests(&self) -> Vec<Recorded> {
        self.inner.lock().requests.clone()
    }

    pub fn unknown_routes(&self) -> Vec<Recorded> {
        self.inner
            .lock()
            .requests
            .iter()
            .filter(|r| r.route == Route::Unknown)
            .cloned()
            .collect()
    }

    /// Simulator-side bugs (e.g. a response it built would not deserialize in serenity).
    pub fn internal_errors(&self) -> Vec<String> {
        self.inner.lock().internal_errors.clone()
    }

    pub fn identifies(&self) -> Vec<IdentifyInfo> {
        self.inner.lock().identifies.clone()
    }

    pub fn resumes(&self) -> Vec<ResumeInfo> {
        self.inner.lock().resumes.clone()
    }

    pub fn heartbeat_count(&self) -> usize {
        self.inner.lock().heartbeats
    }

    /// IDENTIFY/RESUME attempts with a wrong token.
    pub fn auth_failures(&self) -> usize {
        self.inner.lock().auth_failures
    }

    /// Close frames the simulator sent.
    pub fn server_closes(&self) -> Vec<CloseInfo> {
        self.inner.lock().server_closes.clone()
    }

    /// Websocket connections accepted so far.
    pub fn connection_count(&self) -> u64 {
        self.inner.lock().connections_total
    }

    /// Every payload the bot sent on the gateway (tokens redacted).
    pub fn gateway_received(&self) -> Vec<GatewayFrame> {
        self.inner.lock().gateway_received.clone()
    }

    /// Every session (one per successful IDENTIFY), oldest first.
    pub fn sessions(&self) -> Vec<SessionInfo> {
        let st = self.inner.lock();
        let mut v: Vec<SessionInfo> = st
            .sessions
            .values()
            .map(|s| SessionInfo {
                session_id: s.id.clone(),
                shard: s.shard,
                seq: s.seq,
                connection_id: s.conn,
                intents: s.intents,
                valid: s.valid,
                routed: st.shard_sessions.get(&s.shard_key()) == Some(&s.id),
                guilds: s.guilds.clone(),
                resume_gateway_url: s.resume_url.clone(),
                dispatched: s.log.len(),
                heartbeats: s.heartbeats,
                since_start: s.created,
            })
            .collect();
        v.sort_by(|a, b| (a.since_start, &a.session_id).cmp(&(b.since_start, &b.session_id)));
        v
    }

    /// Waits until shard `shard` (any total; no `shard` field counts as shard 0) has identified
    /// and got READY; returns its latest such IDENTIFY.
    pub async fn wait_ready_shard(&self, shard: u32, timeout: Duration) -> SimResult<IdentifyInfo> {
        self.wait_for(
            &format!("IDENTIFY + READY of shard {shard}"),
            timeout,
            |st| {
                st.identifies
                    .iter()
                    .rev()
                    .find(|i| i.shard_id() == shard)
                    .cloned()
                    .map(Ok)
            },
        )
        .await
    }

    /// Waits until every shard `0..total` has identified with `[id, total]`; returns their latest
    /// IDENTIFYs indexed by shard id.
    pub async fn wait_shards_ready(
        &self,
        total: u32,
        timeout: Duration,
    ) -> SimResult<Vec<IdentifyInfo>> {
        self.wait_for(
            &format!("IDENTIFY + READY of all {total} shards"),
            timeout,
            |st| {
                (0..total)
                    .map(|i| {
                        st.identifies
                            .iter()
                            .rev()
                            .find(|x| x.shard_pair() == [i, total])
                            .cloned()
                    })
                    .collect::<Option<Vec<_>>>()
                    .map(Ok)
            },
        )
        .await
    }

    /// Waits for the first close frame the simulator sent with `code`.
    pub async fn wait_server_close(&self, code: u16, timeout: Duration) -> SimResult<CloseInfo> {
        self.wait_for(&format!("a close frame with code {code}"), timeout, |st| {
            st.server_closes
                .iter()
                .find(|c| c.code == code)
                .cloned()
                .map(Ok)
        })
        .await
    }

    // ----- dispatching ------------------------------------------------------------------------

    /// Dispatch any event `t` with payload `d`, after checking that serenity would deserialize
    /// it. It goes to the session of the shard owning the event's guild (`guild_id`, or `id` for
    /// `GUILD_CREATE`/`GUILD_UPDATE`/`GUILD_DELETE`; shard 0 without a guild); with one shard
    /// that is the current session. Returns the sequence number (in that session).
    pub async fn dispatch(&self, t: &str, d: Value) -> SimResult<u64> {
        validate::check_dispatch(t, &d).map_err(|error| SimError::InvalidPayload {
            event: t.to_string(),
            error,
        })?;
        let seq = {
            let mut st = self.inner.lock();
            let sid = Inner::session_for_guild(&st, event_guild(t, &d))?;
            self.inner.dispatch_to_session(&mut st, &sid, t, d)?
        };
        self.inner.bump();
        Ok(seq)
    }

    /// Dispatch any event on shard `shard` (of the current shard total), whatever its guild.
    /// Returns the sequence number in that shard's session.
    pub async fn dispatch_to_shard(&self, shard: u32, t: &str, d: Value) -> SimResult<u64> {
        validate::check_dispatch(t, &d).map_err(|error| SimError::InvalidPayload {
            event: t.to_string(),
            error,
        })?;
        let seq = {
            let mut st = self.inner.lock();
            let sid = Inner::session_for_shard(&st, shard, event_guild(t, &d))?;
            self.inner.dispatch_to_session(&mut st, &sid, t, d)?
        };
        self.inner.bump();
        Ok(seq)
    }

    /// `[shard, total]` an event of `guild_id` (`None`: a DM) would be sent to right now.
    pub fn route_of(&self, guild_id: Option<u64>) -> SimResult<[u32; 2]> {
        let st = self.inner.lock();
        let sid = Inner::session_for_guild(&st, guild_id)?;
        Ok(st.sessions.get(&sid).map_or([0, 1], Session::shard_key))
    }

    /// Dispatch INTERACTION_CREATE (validated into serenity's `Interaction` first) and remember
    /// the interaction so callbacks/webhooks for it are accepted.
    pub async fn dispatch_interaction(&self, json: Value) -> SimResult<()> {
        let err = |error: String| SimError::InvalidPayload {
            event: "INTERACTION_CREATE".into(),
            error,
        };
        validate::check_dispatch("INTERACTION_CREATE", &json).map_err(err)?;
        let id = payloads::id_field(&json, "id").ok_or_else(|| err("missing id".into()))?;
        let token = json["token"]
            .as_str()
            .ok_or_else(|| err("missing token".into()))?
            .to_string();
        let kind = json["type"].as_u64().unwrap_or(0);
        let channel_id = payloads::id_field(&json, "channel_id").unwrap_or(0);
        let guild_id = payloads::id_field(&json, "guild_id");
        if payloads::id_field(&json, "application_id") != Some(self.inner.cfg.application_id) {
            return Err(err(format!(
                "application_id must be the simulator's application id {}",
                self.inner.cfg.application_id
            )));
        }
        {
            let mut st = self.inner.lock();
            if st.interactions.contains_key(&id) {
                return Err(SimError::Duplicate(format!("interaction id {id}")));
            }
            let sid = Inner::session_for_guild(&st, guild_id)?;
            payloads::auto_register_channel(&mut st, channel_id, guild_id);
            st.interactions.insert(
                id,
                InteractionState {
                    id,
                    token: token.clone(),
                    kind,
                    channel_id,
                    dispatched_at: Instant::now(),
                    acked: false,
                    original: None,
                    followups: Vec::new(),
                },
            );
            st.interaction_by_token.insert(token, id);
            if let Err(e) =
                self.inner
                    .dispatch_to_session(&mut st, &sid, "INTERACTION_CREATE", json)
            {
                st.interactions.remove(&id);
                return Err(e);
            }
        }
        self.inner.bump();
        Ok(())
    }

    /// Dispatch MESSAGE_CREATE (validated into serenity's `Message` first). Applies Discord's
    /// intent rules: fails with `FilteredByIntents` if the session lacks GUILD_MESSAGES /
    /// DIRECT_MESSAGES, and blanks content/embeds/attachments/components without MESSAGE_CONTENT
    /// (unless the message mentions the bot or is a DM, as Discord does).
    pub async fn dispatch_message_create(&self, json: Value) -> SimResult<()> {
        let err = |error: String| SimError::InvalidPayload {
            event: "MESSAGE_CREATE".into(),
            error,
        };
        validate::check_dispatch("MESSAGE_CREATE", &json).map_err(err)?;
        let id = payloads::id_field(&json, "id").ok_or_else(|| err("missing id".into()))?;
        let channel_id = payloads::id_field(&json, "channel_id")
            .ok_or_else(|| err("missing channel_id".into()))?;
        let guild_id = payloads::id_field(&json, "guild_id");
        {
            let mut st = self.inner.lock();
            let sid = Inner::session_for_guild(&st, guild_id)?;
            let intents = st.sessions.get(&sid).map_or(0, |s| s.intents);
            let (needed, name) = if guild_id.is_some() {
                (1u64 << 9, "GUILD_MESSAGES")
            } else {
                (1u64 << 12, "DIRECT_MESSAGES")
            };
            if intents & needed == 0 {
                return Err(SimError::FilteredByIntents {
                    event: "MESSAGE_CREATE".into(),
                    missing: name.into(),
                });
            }
            if st.messages.contains_key(&id) {
                return Err(SimError::Duplicate(format!("message id {id}")));
            }
            payloads::auto_register_channel(&mut st, channel_id, guild_id);
            st.messages.insert(id, json.clone());
            let bot = self.inner.cfg.bot_user_id;
            let mentions_bot = json["mentions"]
                .as_array()
                .is_some_and(|m| m.iter().any(|u| payloads::id_field(u, "id") == Some(bot)));
            let author_is_bot = payloads::id_field(&json["author"], "id") == Some(bot);
            let mut to_send = json;
            if intents & (1 << 15) == 0 && guild_id.is_some() && !mentions_bot && !author_is_bot {
                to_send["content"] = Value::String(String::new());
                to_send["embeds"] = Value::Array(vec![]);
                to_send["attachments"] = Value::Array(vec![]);
                to_send["components"] = Value::Array(vec![]);
            }
            self.inner
                .dispatch_to_session(&mut st, &sid, "MESSAGE_CREATE", to_send)?;
        }
        self.inner.bump();
        Ok(())
    }

    /// A CHAT_INPUT interaction builder (guild by default; see `InteractionBuilder`).
    pub fn slash_command(&self, name: &str) -> InteractionBuilder {
        InteractionBuilder::new(self.clone(), name, 2)
    }

    /// An autocomplete interaction for `command` whose focused option `option` holds `partial`.
    pub fn autocomplete(&self, command: &str, option: &str, partial: &str) -> InteractionBuilder {
        InteractionBuilder::new(self.clone(), command, 4).focused(option, partial)
    }

    /// A click on a component whose custom id is `custom_id`, on `message` (the message that
    /// carries it, as the bot sent it). A button unless `.values()` makes it a select menu.
    pub fn component(&self, custom_id: &str, message: Value) -> InteractionBuilder {
        InteractionBuilder::new(self.clone(), custom_id, 3).on_message(message)
    }

    /// A MESSAGE_CREATE builder whose content starts with `<@BOT_ID> ` and mentions the bot.
    pub fn message_mentioning_bot(&self, channel_id: u64, text: &str) -> MessageBuilder {
        MessageBuilder::new(self.clone(), channel_id, text, true)
    }

    /// A plain MESSAGE_CREATE builder (no mention).
    pub fn message(&self, channel_id: u64, text: &str) -> MessageBuilder {
        MessageBuilder::new(self.clone(), channel_id, text, false)
    }

    pub(crate) fn inner(&self) -> &Arc<Inner> {
        &self.inner
    }

    // ----- gateway faults ---------------------------------------------------------------------

    /// Connections (with their session) a fault hook applies to. `Some(shard)`: the connection
    /// of that shard's routed session. `None`: every connection attached to a routed session
    /// (one per shard), else, before any session has a connection, the current session's
    /// connection or the newest connection (the single-shard behaviour).
    fn fault_targets(
        &self,
        st: &State,
        shard: Option<u32>,
    ) -> SimResult<Vec<(u64, Option<String>)>> {
        if let Some(shard) = shard {
            let sid = Inner::session_for_shard(st, shard, None)?;
            let cid = st
                .sessions
                .get(&sid)
                .and_then(|s| s.conn)
                .filter(|c| st.conns.contains_key(c))
                .ok_or(SimError::NoConnection)?;
            return Ok(vec![(cid, Some(sid))]);
        }
        let mut routed: Vec<(u64, Option<String>)> = st
            .shard_sessions
            .values()
            .filter_map(|sid| {
                let cid = st.sessions.get(sid)?.conn?;
                st.conns
                    .contains_key(&cid)
                    .then(|| (cid, Some(sid.clone())))
            })
            .collect();
        if !routed.is_empty() {
            routed.sort_by_key(|(c, _)| *c);
            routed.dedup_by_key(|(c, _)| *c);
            return Ok(routed);
        }
        let cid = st
            .current_session
            .as_ref()
            .and_then(|s| st.sessions.get(s))
            .and_then(|s| s.conn)
            .or_else(|| st.conns.keys().max().copied())
            .ok_or(SimError::NoConnection)?;
        if !st.conns.contains_key(&cid) {
            return Err(SimError::NoConnection);
        }
        Ok(vec![(cid, st.current_session.clone())])
    }

    fn send_to_targets(&self, shard: Option<u32>, cmd: impl Fn() -> ConnCmd) -> SimResult<()> {
        let st = self.inner.lock();
        let targets = self.fault_targets(&st, shard)?;
        let mut sent = false;
        for (cid, _) in targets {
            if let Some(conn) = st.conns.get(&cid) {
                sent |= conn.tx.send(cmd()).is_ok();
            }
        }
        if sent {
            Ok(())
        } else {
            Err(SimError::NoConnection)
        }
    }

    /// Send op 7 RECONNECT on the current connection (on every shard's connection when several
    /// shards are connected).
    pub fn send_reconnect(&self) -> SimResult<()> {
        self.send_to_targets(None, reconnect_cmd)
    }

    /// Send op 7 RECONNECT on shard `shard`'s connection only.
    pub fn send_reconnect_shard(&self, shard: u32) -> SimResult<()> {
        self.send_to_targets(Some(shard), reconnect_cmd)
    }

    /// Close the current connection with `code` (the session stays resumable unless the code
    /// says otherwise to serenity). With several shards connected, closes all of them.
    pub fn close_gateway(&self, code: u16, reason: &str) -> SimResult<()> {
        self.send_to_targets(None, || ConnCmd::Close(code, reason.to_string()))
    }

    /// Close shard `shard`'s connection only.
    pub fn close_gateway_shard(&self, shard: u32, code: u16, reason: &str) -> SimResult<()> {
        self.send_to_targets(Some(shard), || ConnCmd::Close(code, reason.to_string()))
    }

    /// Send op 9 INVALID_SESSION. With `resumable == false` the session is also forgotten, so
    /// the client must IDENTIFY again. With several shards connected, applies to all of them.
    pub fn invalidate_session(&self, resumable: bool) -> SimResult<()> {
        self.invalidate(None, resumable)
    }

    /// `invalidate_session` for shard `shard` only.
    pub fn invalidate_session_shard(&self, shard: u32, resumable: bool) -> SimResult<()> {
        self.invalidate(Some(shard), resumable)
    }

    fn invalidate(&self, shard: Option<u32>, resumable: bool) -> SimResult<()> {
        if !resumable {
            let mut st = self.inner.lock();
            let sids: Vec<String> = match self.fault_targets(&st, shard) {
                Ok(t) => t.into_iter().filter_map(|(_, s)| s).collect(),
                // No connection: still forget the current session (as before sharding).
                Err(_) if shard.is_none() => st.current_session.iter().cloned().collect(),
                Err(_) => Vec::new(),
            };
            for sid in sids {
                if let Some(s) = st.sessions.get_mut(&sid) {
                    s.valid = false;
                }
            }
        }
        self.send_to_targets(shard, || {
            ConnCmd::Text(
                serde_json::json!({"op": 9, "d": resumable, "s": null, "t": null}).to_string(),
            )
        })
    }

    /// Stop (false) or resume (true) answering heartbeats with op 11, on every connection.
    /// `true` also clears what `set_heartbeat_ack_shard` set.
    pub fn set_heartbeat_ack(&self, ack: bool) {
        let mut st = self.inner.lock();
        st.no_heartbeat_ack = !ack;
        if ack {
            st.no_heartbeat_ack_shards.clear();
        }
    }

    /// Stop (false) or resume (true) answering heartbeats on connections of shard id `shard`
    /// (whatever the total; connections that have not identified count as shard 0).
    pub fn set_heartbeat_ack_shard(&self, shard: u32, ack: bool) {
        let mut st = self.inner.lock();
        if ack {
            st.no_heartbeat_ack_shards.remove(&shard);
        } else {
            st.no_heartbeat_ack_shards.insert(shard);
        }
    }

    /// While `true`, IDENTIFY and RESUME payloads from clients are parked unanswered; setting it
    /// back to `false` processes them in arrival order. Use it to make "event dispatched while
    /// the bot is disconnected" deterministic: hold, close/reconnect, dispatch, release.
    pub fn hold_handshakes(&self, hold: bool) {
        let mut st = self.inner.lock();
        st.hold_handshakes = hold;
        if !hold {
            for (cid, op, d) in std::mem::take(&mut st.held_handshakes) {
                if let Some(c) = st.conns.get(&cid) {
                    let _ = c.tx.send(ConnCmd::Handshake(op, d));
                }
            }
        }
    }

    /// Send op 1 (the server asks the client to heartbeat now), on every shard's connection.
    pub fn request_heartbeat(&self) -> SimResult<()> {
        self.send_to_targets(None, heartbeat_request_cmd)
    }

    /// Send op 1 on shard `shard`'s connection only.
    pub fn request_heartbeat_shard(&self, shard: u32) -> SimResult<()> {
        self.send_to_targets(Some(shard), heartbeat_request_cmd)
    }

    // ----- REST faults ------------------------------------------------------------------------

    /// Make the next `n` requests matching `method` (`"*"` for any) and `path_pattern` answer
    /// with `fault` instead of being handled.
    pub fn fail_next(&self, method: &str, path_pattern: &str, n: usize, fault: Fault) {
        let mut p = path_pattern.trim_end_matches('/').to_string();
        if !p.starts_with("/api/") {
            p = format!("/api/v10/{}", p.trim_start_matches('/'));
        }
        let pattern = p
            .split('/')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        self.inner.lock().faults.push(RouteFault {
            method: method.to_ascii_uppercase(),
            pattern,
            remaining: n,
            fault,
        });
    }

    pub fn clear_faults(&self) {
        self.inner.lock().faults.clear();
    }

    /// Let every request held by `Fault::Hang` finish (with 503).
    pub fn release_hung(&self) {
        self.inner.release.send_modify(|v| *v += 1);
    }
}

fn reconnect_cmd() -> ConnCmd {
    ConnCmd::Text(r#"{"op":7,"d":null,"s":null,"t":null}"#.into())
}

fn heartbeat_request_cmd() -> ConnCmd {
    ConnCmd::Text(r#"{"op":1,"d":null,"s":null,"t":null}"#.into())
}

/// The guild an event belongs to, for shard routing.
fn event_guild(t: &str, d: &Value) -> Option<u64> {
    match t {
        "GUILD_CREATE" | "GUILD_UPDATE" | "GUILD_DELETE" => payloads::id_field(d, "id"),
        _ => payloads::id_field(d, "guild_id"),
    }
}
