//! JSON shapes the simulator sends (users, channels, messages, READY) and the test-facing
//! builders for interactions and messages.

use serde_json::{json, Value};

use super::{Channel, ChannelKind, SimConfig, SimResult, Simulator, State};

/// Read a snowflake field that may be a string or a number.
pub(crate) fn id_field(v: &Value, key: &str) -> Option<u64> {
    match v.get(key)? {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_u64(),
        _ => None,
    }
}

pub(crate) fn now_timestamp() -> String {
    serenity::model::Timestamp::now().to_string()
}

pub(crate) fn bot_user(cfg: &SimConfig) -> Value {
    json!({
        "id": cfg.bot_user_id.to_string(),
        "username": cfg.bot_username,
        "discriminator": "4321",
        "global_name": null,
        "avatar": null,
        "bot": true,
        "system": false,
        "mfa_enabled": false,
        "verified": true,
        "email": null,
        "flags": 0,
        "public_flags": 0,
        "locale": "en-US",
    })
}

pub(crate) fn user(id: u64, name: &str) -> Value {
    json!({
        "id": id.to_string(),
        "username": name,
        "discriminator": "0",
        "global_name": name,
        "avatar": null,
        "public_flags": 0,
    })
}

pub(crate) fn channel_json(cfg: &SimConfig, ch: &Channel) -> Value {
    let mut v = json!({
        "id": ch.id.to_string(),
        "type": ch.kind.discord_type(),
        "last_message_id": null,
        "flags": 0,
    });
    match ch.kind {
        ChannelKind::Dm => {
            v["recipients"] = json!([user(cfg.user_id, &cfg.username)]);
        }
        ChannelKind::Text => {
            v["guild_id"] = json!(ch.guild_id.unwrap_or(cfg.guild_id).to_string());
            v["name"] = json!(format!("text-{}", ch.id));
            v["position"] = json!(0);
            v["permission_overwrites"] = json!([]);
            v["nsfw"] = json!(false);
            v["parent_id"] = Value::Null;
            v["topic"] = Value::Null;
            v["rate_limit_per_user"] = json!(0);
        }
        ChannelKind::PublicThread { parent } | ChannelKind::PrivateThread { parent } => {
            v["guild_id"] = json!(ch.guild_id.unwrap_or(cfg.guild_id).to_string());
            v["name"] = json!(format!("thread-{}", ch.id));
            v["parent_id"] = json!(parent.to_string());
            v["owner_id"] = json!(cfg.user_id.to_string());
            v["message_count"] = json!(0);
            v["member_count"] = json!(1);
            v["rate_limit_per_user"] = json!(0);
            v["thread_metadata"] = json!({
                "archived": false,
                "auto_archive_duration": 1440,
                "archive_timestamp": now_timestamp(),
                "locked": false,
                "invitable": matches!(ch.kind, ChannelKind::PrivateThread { .. }),
                "create_timestamp": now_timestamp(),
            });
            v["total_message_sent"] = json!(0);
        }
    }
    v
}

/// The partial channel object Discord puts in interactions.
fn partial_channel(cfg: &SimConfig, ch: &Channel) -> Value {
    let mut v = json!({
        "id": ch.id.to_string(),
        "type": ch.kind.discord_type(),
        "flags": 0,
    });
    match ch.kind {
        ChannelKind::Dm => {}
        _ => {
            let full = channel_json(cfg, ch);
            v["name"] = full["name"].clone();
            v["guild_id"] = full["guild_id"].clone();
            if let Some(p) = ch.kind.parent() {
                v["parent_id"] = json!(p.to_string());
                v["thread_metadata"] = full["thread_metadata"].clone();
            }
            v["permissions"] = json!(ALL_TEXT_PERMISSIONS.to_string());
        }
    }
    v
}

/// VIEW_CHANNEL | SEND_MESSAGES | EMBED_LINKS | ATTACH_FILES | READ_MESSAGE_HISTORY |
/// USE_EXTERNAL_EMOJIS | ADD_REACTIONS | SEND_MESSAGES_IN_THREADS | USE_APPLICATION_COMMANDS
pub(crate) const ALL_TEXT_PERMISSIONS: u64 = (1 << 10)
    | (1 << 11)
    | (1 << 14)
    | (1 << 15)
    | (1 << 16)
    | (1 << 18)
    | (1 << 6)
    | (1 << 38)
    | (1 << 31);

pub(crate) fn auto_register_channel(st: &mut State, channel_id: u64, guild_id: Option<u64>) {
    if channel_id == 0 {
        return;
    }
    st.channels.entry(channel_id).or_insert_with(|| Channel {
        id: channel_id,
        kind: if guild_id.is_some() {
            ChannelKind::Text
        } else {
            ChannelKind::Dm
        },
        guild_id,
    });
}

pub(crate) fn ready(
    cfg: &SimConfig,
    session_id: &str,
    gateway_url: &str,
    shard: Option<[u32; 2]>,
    guilds: &[u64],
) -> Value {
    let guilds: Vec<Value> = guilds
        .iter()
        .map(|g| json!({"id": g.to_string(), "unavailable": true}))
        .collect();
    let mut v = json!({
        "v": 10,
        "user": bot_user(cfg),
        "guilds": guilds,
        "session_id": session_id,
        "resume_gateway_url": gateway_url,
        "session_type": "normal",
        "application": {"id": cfg.application_id.to_string(), "flags": 0},
        "private_channels": [],
        "relationships": [],
        "presences": [],
        "guild_join_requests": [],
        "geo_ordered_rtc_regions": ["simulated"],
        "user_settings": {},
        "_trace": ["[\"discord-simulator\",{\"micros\":1}]"],
    });
    if let Some(s) = shard {
        v["shard"] = json!(s);
    }
    v
}

pub(crate) fn current_application(cfg: &SimConfig) -> Value {
    json!({
        "id": cfg.application_id.to_string(),
        "name": cfg.bot_username,
        "icon": null,
        "description": "simulated application",
        "summary": "",
        "type": null,
        "bot_public": true,
        "bot_require_code_grant": false,
        "verify_key": "0000000000000000000000000000000000000000000000000000000000000000",
        "flags": 0,
        "owner": user(cfg.user_id, &cfg.username),
        "team": null,
        "bot": bot_user(cfg),
        "redirect_uris": [],
        "interactions_endpoint_url": null,
        "role_connections_verification_url": null,
        "approximate_guild_count": cfg.guilds.len(),
        "integration_types_config": {"0": {}},
    })
}

// ---------------------------------------------------------------------------------------------
// Interaction builder
// ---------------------------------------------------------------------------------------------

/// Builds an INTERACTION_CREATE payload. Defaults: guild `SimConfig::guild_id`, channel
/// `SimConfig::channel_id`, user `SimConfig::user_id`, locale `en-US`, fresh id and token.
/// If the chosen channel is registered as a DM, the interaction is a DM interaction.
pub struct InteractionBuilder {
    sim: Simulator,
    kind: u64,
    name: String,
    command_type: u64,
    options: Vec<Value>,
    locale: String,
    guild_locale: Option<String>,
    guild: Option<u64>,
    dm: bool,
    channel: Option<u64>,
    user: Option<u64>,
    username: Option<String>,
    roles: Vec<u64>,
    id: Option<u64>,
    token: Option<String>,
    command_id: Option<u64>,
    permissions: Option<u64>,
    target: Option<Value>,
    message: Option<Value>,
    values: Option<Vec<String>>,
}

impl InteractionBuilder {
    pub(crate) fn new(sim: Simulator, name: &str, kind: u64) -> Self {
        Self {
            sim,
            kind,
            name: name.to_string(),
            command_type: 1,
            options: Vec::new(),
            locale: "en-US".to_string(),
            guild_locale: Some("en-US".to_string()),
            guild: None,
            dm: false,
            channel: None,
            user: None,
            username: None,
            roles: Vec::new(),
            id: None,
            token: None,
            command_id: None,
            permissions: None,
            target: None,
            message: None,
            values: None,
        }
    }

    /// The member's permissions in the channel (default: ordinary text permissions, which do
    /// not include Manage Server).
    pub fn permissions(mut self, bits: u64) -> Self {
        self.permissions = Some(bits);
        self
    }

    /// A message command (type 3) on `message` (a MESSAGE_CREATE-shaped payload): Discord puts
    /// it in `data.resolved.messages` and its id in `data.target_id`.
    pub fn target_message(mut self, message: Value) -> Self {
        self.command_type = 3;
        self.target = Some(message);
        self
    }

    /// For a component interaction: the message that carries the component.
    pub fn on_message(mut self, message: Value) -> Self {
        self.message = Some(message);
        self
    }

    /// For a component interaction: the values picked in a select menu (makes it a string
    /// select instead of a button).
    pub fn values(mut self, values: &[&str]) -> Self {
        self.values = Some(values.iter().map(|v| v.to_string()).collect());
        self
    }

    /// Add an option; its Discord type follows the JSON value (string 3, integer 4, bool 5,
    /// float 10).
    pub fn option(self, name: &str, value: Value) -> Self {
        let kind = match &value {
            Value::Bool(_) => 5,
            Value::Number(n) if n.is_i64() || n.is_u64() => 4,
            Value::Number(_) => 10,
            _ => 3,
        };
        self.option_typed(name, kind, value)
    }

    /// Add an option with an explicit Discord option type (6 user, 7 channel, 8 role, ...).
    pub fn option_typed(mut self, name: &str, kind: u64, value: Value) -> Self {
        self.options
            .push(json!({"name": name, "type": kind, "value": value}));
        self
    }

    /// Wrap the options added so far into a subcommand `name`.
    pub fn subcommand(mut self, name: &str) -> Self {
        let inner = std::mem::take(&mut self.options);
        self.options
            .push(json!({"name": name, "type": 1, "options": inner}));
        self
    }

    /// Add the focused (autocomplete) string option. The value is always a JSON string.
    pub fn focused(mut self, name: &str, partial: &str) -> Self {
        self.options
            .push(json!({"name": name, "type": 3, "value": partial, "focused": true}));
        self
    }

    /// The user's locale (`locale`); `guild_locale` stays `en-US` unless set.
    pub fn locale(mut self, locale: &str) -> Self {
        self.locale = locale.to_string();
        self
    }

    pub fn guild_locale(mut self, locale: Option<&str>) -> Self {
        self.guild_locale = locale.map(str::to_string);
        self
    }

    pub fn guild(mut self, guild_id: u64) -> Self {
        self.guild = Some(guild_id);
        self.dm = false;
        self
    }

    /// Make it a DM interaction (channel `SimConfig::dm_channel_id` unless `.channel()` is set).
    pub fn dm(mut self) -> Self {
        self.dm = true;
        self.guild = None;
        self
    }

    pub fn channel(mut self, channel_id: u64) -> Self {
        self.channel = Some(channel_id);
        self
    }

    pub fn user(mut self, user_id: u64) -> Self {
        self.user = Some(user_id);
        self
    }

    pub fn username(mut self, name: &str) -> Self {
        self.username = Some(name.to_string());
        self
    }

    pub fn roles(mut self, roles: &[u64]) -> Self {
        self.roles = roles.to_vec();
        self
    }

    pub fn id(mut self, id: u64) -> Self {
        self.id = Some(id);
        self
    }

    pub fn token(mut self, token: &str) -> Self {
        self.token = Some(token.to_string());
        self
    }

    /// Message (3) or user (2) context-menu command instead of chat input (1).
    pub fn command_type(mut self, t: u64) -> Self {
        self.command_type = t;
        self
    }

    pub fn command_id(mut self, id: u64) -> Self {
        self.command_id = Some(id);
        self
    }

    /// Returns `(interaction_id, INTERACTION_CREATE payload)`.
    pub fn build(self) -> (u64, Value) {
        let inner = self.sim.inner().clone();
        let cfg = &inner.cfg;
        let id = self.id.unwrap_or_else(|| inner.next_id());
        let token = self.token.clone().unwrap_or_else(|| {
            format!(
                "aW50ZXJhY3Rpb246{id}OnNpbXVsYXRvcg{:x}",
                inner.started.elapsed().as_nanos()
            )
        });
        let user_id = self.user.unwrap_or(cfg.user_id);
        let username = self.username.clone().unwrap_or_else(|| {
            if user_id == cfg.user_id {
                cfg.username.clone()
            } else {
                format!("user{user_id}")
            }
        });

        let st = inner.lock();
        let channel_id = self.channel.unwrap_or(if self.dm {
            cfg.dm_channel_id
        } else {
            cfg.channel_id
        });
        let registered = st.channels.get(&channel_id).cloned();
        let is_dm = self.dm || matches!(&registered, Some(c) if c.kind == ChannelKind::Dm);
        let guild_id = if is_dm {
            None
        } else {
            Some(
                self.guild
                    .or(registered.as_ref().and_then(|c| c.guild_id))
                    .unwrap_or(cfg.guild_id),
            )
        };
        let mut channel = registered.unwrap_or(Channel {
            id: channel_id,
            kind: if is_dm {
                ChannelKind::Dm
            } else {
                ChannelKind::Text
            },
            guild_id,
        });
        // `.guild(g)` with a channel registered in another guild (e.g. the default channel):
        // keep the payload self-consistent, the partial channel is in the interaction's guild.
        if guild_id.is_some() && channel.kind != ChannelKind::Dm {
            channel.guild_id = guild_id;
        }
        let command_id = self.command_id.unwrap_or_else(|| {
            st.command_ids
                .get(&(guild_id, self.command_type, self.name.clone()))
                .or_else(|| {
                    st.command_ids
                        .get(&(None, self.command_type, self.name.clone()))
                })
                .copied()
                .unwrap_or(1_200_000_000_000_000_000 + self.name.len() as u64)
        });
        drop(st);

        let mut data = json!({
            "id": command_id.to_string(),
            "name": self.name,
            "type": self.command_type,
            "options": self.options,
        });
        if let Some(g) = guild_id {
            data["guild_id"] = json!(g.to_string());
        }
        if let Some(target) = &self.target {
            let target_id = target["id"].clone();
            data["target_id"] = target_id.clone();
            data["resolved"] = json!({"messages": {target_id.as_str().unwrap_or("0"): target}});
        }
        if self.kind == 3 {
            // MESSAGE_COMPONENT: the builder's name is the custom id.
            data = match &self.values {
                Some(values) => {
                    json!({"custom_id": self.name, "component_type": 3, "values": values})
                }
                None => json!({"custom_id": self.name, "component_type": 2}),
            };
        }
        let mut v = json!({
            "id": id.to_string(),
            "application_id": cfg.application_id.to_string(),
            "type": self.kind,
            "data": data,
            "channel_id": channel_id.to_string(),
            "channel": partial_channel(cfg, &channel),
            "token": token,
            "version": 1,
            "locale": self.locale,
            "app_permissions": ALL_TEXT_PERMISSIONS.to_string(),
            "entitlements": [],
            "attachment_size_limit": 10_485_760,
        });
        let u = user(user_id, &username);
        match guild_id {
            Some(g) => {
                v["guild_id"] = json!(g.to_string());
                v["guild_locale"] = json!(self.guild_locale);
                v["member"] = json!({
                    "user": u,
                    "roles": self.roles.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
                    "joined_at": "2024-01-01T00:00:00.000000+00:00",
                    "premium_since": null,
                    "nick": null,
                    "avatar": null,
                    "deaf": false,
                    "mute": false,
                    "pending": false,
                    "flags": 0,
                    "permissions": self.permissions.unwrap_or(ALL_TEXT_PERMISSIONS).to_string(),
                    "communication_disabled_until": null,
                });
                v["authorizing_integration_owners"] = json!({"0": g.to_string()});
                v["context"] = json!(0);
            }
            None => {
                v["user"] = u;
                v["authorizing_integration_owners"] = json!({"0": user_id.to_string()});
                v["context"] = json!(1);
            }
        }
        if let Some(message) = &self.message {
            v["message"] = message.clone();
        }
        (id, v)
    }

    /// Build and dispatch; returns the interaction id.
    pub async fn send(self) -> SimResult<u64> {
        let sim = self.sim.clone();
        let (id, v) = self.build();
        sim.dispatch_interaction(v).await?;
        Ok(id)
    }
}

// ---------------------------------------------------------------------------------------------
// Message builder
// ---------------------------------------------------------------------------------------------

/// Builds a MESSAGE_CREATE payload. The guild comes from `.in_guild()`, else from the channel
/// registry, else `SimConfig::guild_id` (DM channels have none).
pub struct MessageBuilder {
    sim: Simulator,
    channel_id: u64,
    text: String,
    mention_bot: bool,
    guild: Option<Option<u64>>,
    author: Option<u64>,
    author_name: Option<String>,
    author_bot: bool,
    id: Option<u64>,
    reply_to: Option<u64>,
}

impl MessageBuilder {
    pub(crate) fn new(sim: Simulator, channel_id: u64, text: &str, mention_bot: bool) -> Self {
        Self {
            sim,
            channel_id,
            text: text.to_string(),
            mention_bot,
            guild: None,
            author: None,
            author_name: None,
            author_bot: false,
            id: None,
            reply_to: None,
        }
    }

    pub fn in_guild(mut self, guild_id: u64) -> Self {
        self.guild = Some(Some(guild_id));
        self
    }

    /// A DM message (no guild_id / member).
    pub fn in_dm(mut self) -> Self {
        self.guild = Some(None);
        self
    }

    pub fn author(mut self, user_id: u64) -> Self {
        self.author = Some(user_id);
        self
    }

    pub fn author_name(mut self, name: &str) -> Self {
        self.author_name = Some(name.to_string());
        self
    }

    /// Mark the author as a bot account.
    pub fn author_is_bot(mut self, bot: bool) -> Self {
        self.author_bot = bot;
        self
    }

    pub fn id(mut self, id: u64) -> Self {
        self.id = Some(id);
        self
    }

    /// Make this a reply (type 19) to a message the simulator knows.
    pub fn reply_to(mut self, message_id: u64) -> Self {
        self.reply_to = Some(message_id);
        self
    }

    /// Returns `(message_id, MESSAGE_CREATE payload)`.
    pub fn build(self) -> (u64, Value) {
        let inner = self.sim.inner().clone();
        let cfg = &inner.cfg;
        let id = self.id.unwrap_or_else(|| inner.next_id());
        let st = inner.lock();
        let registered = st.channels.get(&self.channel_id).cloned();
        let guild_id = match self.guild {
            Some(g) => g,
            None => match &registered {
                Some(c) => c.guild_id,
                None => Some(cfg.guild_id),
            },
        };
        let referenced = self.reply_to.and_then(|m| st.messages.get(&m).cloned());
        drop(st);

        let author_id = self.author.unwrap_or(cfg.user_id);
        let author_name = self.author_name.clone().unwrap_or_else(|| {
            if author_id == cfg.user_id {
                cfg.username.clone()
            } else {
                format!("user{author_id}")
            }
        });
        let mut author = user(author_id, &author_name);
        if self.author_bot {
            author["bot"] = json!(true);
        }
        let (content, mentions) = if self.mention_bot {
            (
                format!("<@{}> {}", cfg.bot_user_id, self.text),
                vec![bot_user(cfg)],
            )
        } else {
            (self.text.clone(), vec![])
        };
        let mut v = json!({
            "id": id.to_string(),
            "channel_id": self.channel_id.to_string(),
            "author": author,
            "content": content,
            "timestamp": now_timestamp(),
            "edited_timestamp": null,
            "tts": false,
            "mention_everyone": false,
            "mentions": mentions,
            "mention_roles": [],
            "attachments": [],
            "embeds": [],
            "components": [],
            "pinned": false,
            "type": 0,
            "flags": 0,
            "nonce": id.to_string(),
        });
        if let Some(g) = guild_id {
            v["guild_id"] = json!(g.to_string());
            v["member"] = json!({
                "roles": [],
                "joined_at": "2024-01-01T00:00:00.000000+00:00",
                "premium_since": null,
                "deaf": false,
                "mute": false,
                "flags": 0,
                "pending": false,
            });
        }
        if let Some(mid) = self.reply_to {
            v["type"] = json!(19);
            let mut reference = json!({
                "type": 0,
                "message_id": mid.to_string(),
                "channel_id": self.channel_id.to_string(),
            });
            if let Some(g) = guild_id {
                reference["guild_id"] = json!(g.to_string());
            }
            v["message_reference"] = reference;
            v["referenced_message"] = referenced.unwrap_or(Value::Null);
        }
        (id, v)
    }

    /// Build and dispatch; returns the message id.
    pub async fn send(self) -> SimResult<u64> {
        let sim = self.sim.clone();
        let (id, v) = self.build();
        sim.dispatch_message_create(v).await?;
        Ok(id)
    }
}
