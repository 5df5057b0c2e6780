//! The event handler: a routing table from Discord events to core calls and back to messages.

use std::collections::HashSet;
use std::sync::{Arc, OnceLock, RwLock};

use serenity::all::{
    ChannelId, CommandInteraction, CommandType, ComponentInteraction, Context,
    CreateAutocompleteResponse, CreateCommand, CreateEmbed, CreateInteractionResponse,
    CreateInteractionResponseMessage, CreateMessage, EventHandler, GuildChannel, GuildId, Http,
    Interaction, Message, MessageFlags, Ready, ResolvedTarget, ResolvedValue, UserId,
};
use serenity::async_trait;
use tokio::time::Instant;
use tracing::{debug, info, info_span, warn, Instrument};

use super::commands::{
    self, ASK, FACTS, PRIVATE_OPTION, QUESTION_OPTION, SOURCE, STATS, TEACH, TEACH_MESSAGE,
};
use super::conversation::{Conversations, Thread, Threads};
use super::deliver::{deliver, interaction_deadline};
use super::embed::{self, no_pings, shorten, CommandMentions, CHOICE_MAX};
use super::feedback::{self, Action};
use super::moderation;
use super::registration;
use super::reply::{reply, Reply, Request};
use crate::answer::{Answer, Lang};
use crate::cooldown::{Cooldown, Verdict};
use crate::index::Index;
use crate::store::{self, Entry, Outcome, QuestionLog, QuestionRecord, Record, Store, VoteRecord};

/// What every event handler shares: the index being served (swapped whole on reload), what
/// READY told us, and the question log when it is on.
pub struct BotState {
    index: RwLock<Arc<Index>>,
    guild: Option<GuildId>,
    cooldown: Option<Cooldown>,
    bot_user: OnceLock<UserId>,
    http: OnceLock<Arc<Http>>,
    pub(crate) memory: Option<Memory>,
    /// The responses folder (where `/teach` writes `learned/`).
    pub(crate) responses: std::path::PathBuf,
    /// Channels (and forums) where every message from a person is read (`CITEBOT_ASK_CHANNELS`).
    watched: HashSet<u64>,
    conversations: Conversations,
    threads: Threads,
    /// The ids Discord gave the commands, for `</name:id>` mentions.
    mentions: RwLock<CommandMentions>,
}

/// The question log: written through `log` (never waits), read through `reader` (moderator
/// commands only, a connection of its own).
pub struct Memory {
    pub log: QuestionLog,
    pub reader: std::sync::Mutex<Box<dyn Store>>,
    /// Questions from "Teach citebot" waiting for a moderator to pick their card.
    pub pending: moderation::PendingTeaches,
    /// One teach at a time: each rewrites a file and rebuilds the index.
    pub teaching: std::sync::Mutex<()>,
}

impl Memory {
    pub fn new(log: QuestionLog, reader: Box<dyn Store>) -> Memory {
        Memory {
            log,
            reader: std::sync::Mutex::new(reader),
            pending: moderation::PendingTeaches::default(),
            teaching: std::sync::Mutex::new(()),
        }
    }
}

/// Who asked what, where and when: everything a log row needs besides the answer.
pub(crate) struct Asked<'a> {
    /// The interaction's or message's id: unique, and known before the row is written.
    pub id: u64,
    pub entry: Entry,
    pub guild: Option<GuildId>,
    pub channel: ChannelId,
    pub user: UserId,
    /// `None` for fact commands, whose question is the command itself.
    pub question: Option<&'a str>,
    pub started: Instant,
}

impl BotState {
    pub fn new(
        index: Arc<Index>,
        guild: Option<GuildId>,
        cooldown: Option<Cooldown>,
        memory: Option<Memory>,
        responses: std::path::PathBuf,
        watched: HashSet<u64>,
    ) -> BotState {
        BotState {
            index: RwLock::new(index),
            guild,
            cooldown,
            bot_user: OnceLock::new(),
            http: OnceLock::new(),
            memory,
            responses,
            watched,
            conversations: Conversations::default(),
            threads: Threads::default(),
            mentions: RwLock::new(CommandMentions::new()),
        }
    }

    fn mentions(&self) -> CommandMentions {
        self.mentions
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Logs a question once its reply went out (or was given up on). Never waits.
    pub(crate) fn log_question(&self, asked: &Asked, outcome: Outcome, answer: Option<&Answer>) {
        let Some(memory) = &self.memory else {
            return;
        };
        let lang = answer.map_or(Lang::En, |a| a.lang);
        memory.log.record(Record::Question(QuestionRecord {
            id: asked.id,
            at: store::now(),
            entry: asked.entry,
            guild_id: asked.guild.map(|g| g.get()),
            channel_id: asked.channel.get(),
            user: memory.log.hasher().hash(asked.user.get()),
            question: asked.question.map(QuestionRecord::stored_text),
            lang: lang.code(),
            outcome,
            card: answer.and_then(|a| a.fact().map(str::to_string)),
            confidence: answer.map_or(0.0, |a| a.confidence),
            alternatives: answer.map(|a| a.alternatives.clone()).unwrap_or_default(),
            latency_ms: asked.started.elapsed().as_secs_f64() * 1000.0,
        }));
    }

    /// The cooldown's word on a free question: `(retry after, say so)` when limited.
    fn limited(&self, user: UserId, now: Instant) -> Option<(std::time::Duration, bool)> {
        match self.cooldown.as_ref()?.check(user.get(), now.into_std()) {
            Verdict::Limited {
                retry_after,
                notify,
            } => {
                info!(retry_after_s = retry_after.as_secs(), notify, "cooldown");
                Some((retry_after, notify))
            }
            Verdict::Allowed => None,
        }
    }

    /// Logs what `reply` decided, once it was delivered or given up on.
    fn log_reply(&self, asked: &Asked, reply: &Reply) {
        if let Some(outcome) = reply.outcome {
            self.log_question(asked, outcome, reply.answer.as_ref());
        }
    }

    /// Whether any shard has had READY.
    pub fn is_connected(&self) -> bool {
        self.bot_user.get().is_some()
    }

    pub fn index(&self) -> Arc<Index> {
        self.index
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Swaps in a new index; re-registers the commands only when their definitions changed.
    pub async fn replace_index(&self, index: Index) {
        let new = Arc::new(index);
        let old = {
            let mut slot = self
                .index
                .write()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            std::mem::replace(&mut *slot, new.clone())
        };
        let with_log = self.memory.is_some();
        let changed = command_definitions(&old, with_log) != command_definitions(&new, with_log);
        info!(
            cards = new.cards().len(),
            commands_changed = changed,
            "responses reloaded"
        );
        if changed {
            match self.http.get() {
                Some(http) => self.register(http, &new).await,
                None => info!("not connected yet; commands will be registered on READY"),
            }
        }
    }

    /// Registers the commands if Discord's differ, and keeps their ids.
    async fn register(&self, http: &Http, index: &Index) {
        let commands = commands::all(index, self.memory.is_some());
        if let Some(ids) = registration::sync(http, self.guild, commands).await {
            *self
                .mentions
                .write()
                .unwrap_or_else(|poisoned| poisoned.into_inner()) = ids;
        }
    }
}

fn command_definitions(index: &Index, with_log: bool) -> serde_json::Value {
    let commands: Vec<CreateCommand> = commands::all(index, with_log);
    serde_json::to_value(commands).unwrap_or_default()
}

pub struct Handler {
    state: Arc<BotState>,
}

impl Handler {
    pub fn new(state: Arc<BotState>) -> Handler {
        Handler { state }
    }
}

#[async_trait]
impl EventHandler for Handler {
    async fn ready(&self, ctx: Context, ready: Ready) {
        let _ = self.state.bot_user.set(ready.user.id);
        let _ = self.state.http.set(ctx.http.clone());
        info!(user = %ready.user.name, guilds = ready.guilds.len(), shard = ?ready.shard, "connected");
        // Every shard gets READY; registering once per process is enough.
        if ready.shard.is_none_or(|shard| shard.id.0 == 0) || self.state.guild.is_some() {
            self.state.register(&ctx.http, &self.state.index()).await;
        }
    }

    async fn interaction_create(&self, ctx: Context, interaction: Interaction) {
        let id = interaction.id();
        // Discord's 3-second window runs from the interaction's creation (its id's timestamp),
        // not from when it reached us: one replayed after a RESUME may already be over.
        let Some(deadline) = interaction_deadline(id.get(), std::time::SystemTime::now()) else {
            info!(id = %id, "interaction already past its 3-second window (replayed?); skipped");
            return;
        };
        match interaction {
            Interaction::Command(command) => {
                let span =
                    info_span!("interaction", command = %command.data.name, id = %command.id);
                on_command(&ctx, &self.state, command, deadline)
                    .instrument(span)
                    .await;
            }
            Interaction::Autocomplete(command) => {
                let span =
                    info_span!("autocomplete", command = %command.data.name, id = %command.id);
                on_autocomplete(&ctx, &self.state, command, deadline)
                    .instrument(span)
                    .await;
            }
            Interaction::Component(component) => {
                let span = info_span!("component", id = %component.id);
                on_component(&ctx, &self.state, component, deadline)
                    .instrument(span)
                    .await;
            }
            _ => {}
        }
    }

    async fn thread_create(&self, _ctx: Context, thread: GuildChannel) {
        self.state.threads.created(
            thread.id.get(),
            Thread {
                parent: thread.parent_id.map(|p| p.get()),
                name: thread.name.clone(),
            },
        );
    }

    async fn message(&self, ctx: Context, message: Message) {
        let Some(&bot) = self.state.bot_user.get() else {
            return;
        };
        // Other bots and webhooks are never answered (two bots could answer each other forever).
        let from_a_person =
            !message.author.bot && message.webhook_id.is_none() && message.author.id != bot;
        if !from_a_person {
            return;
        }
        // In a DM every message is a question; elsewhere those that mention the bot, and in a
        // watched channel (or a new post of a watched forum) every message.
        let role = bot_role(&ctx, message.guild_id, bot);
        let (entry, question) = if message.guild_id.is_none() || mentions(&message, bot, role) {
            let mut question = question_from_mention(&message.content, bot);
            if let Some(role) = role {
                question = question.replace(&format!("<@&{role}>"), " ");
                question = crate::text::collapse_whitespace(question.trim());
            }
            (Entry::Mention, question)
        } else if let Some(question) = watched_question(&ctx, &self.state, &message) {
            (Entry::Watched, question)
        } else {
            return;
        };
        let span = info_span!("message", entry = entry.as_str(), channel = %message.channel_id, id = %message.id);
        on_message(&ctx, &self.state, &message, entry, &question)
            .instrument(span)
            .await;
    }
}

/// The question a message asks in a watched place: a watched channel's message, or a watched
/// forum's new post (its title and first message; the post's id is its first message's).
fn watched_question(ctx: &Context, state: &BotState, message: &Message) -> Option<String> {
    let channel = message.channel_id.get();
    if state.watched.contains(&channel) {
        return Some(crate::text::collapse_whitespace(&message.content));
    }
    if message.id.get() != channel {
        return None;
    }
    let thread = thread_of(ctx, state, message.guild_id, message.channel_id)?;
    let in_watched = thread.parent.is_some_and(|p| state.watched.contains(&p));
    (in_watched && message.id.get() == channel)
        .then(|| crate::text::collapse_whitespace(&format!("{}\n{}", thread.name, message.content)))
}

/// Whether the message mentions the bot, or its managed role.
/// The role Discord manages for the bot in `guild`: its mention picker often inserts the role
/// instead of the bot, and it means the bot. Read from serenity's cache, which GUILD_CREATE fills
/// before any handler runs.
fn bot_role(ctx: &Context, guild: Option<GuildId>, bot: UserId) -> Option<u64> {
    let guild = ctx.cache.guild(guild?)?;
    let role = guild.roles.values().find(|r| r.tags.bot_id == Some(bot))?;
    Some(role.id.get())
}

/// The thread `channel` is, if it is one. serenity's cache is updated from GUILD_CREATE and
/// THREAD_CREATE before any handler runs, so a forum post's first message always finds its
/// thread there; threads seen created while the guild was not cached are remembered too.
fn thread_of(
    ctx: &Context,
    state: &BotState,
    guild: Option<GuildId>,
    channel: ChannelId,
) -> Option<Thread> {
    let cached = guild.and_then(|guild| {
        let guild = ctx.cache.guild(guild)?;
        let thread = guild.threads.iter().find(|t| t.id == channel)?;
        Some(Thread {
            parent: thread.parent_id.map(|p| p.get()),
            name: thread.name.clone(),
        })
    });
    cached.or_else(|| state.threads.get(channel.get()))
}

fn mentions(message: &Message, bot: UserId, role: Option<u64>) -> bool {
    message.mentions.iter().any(|u| u.id == bot)
        || message.content.contains(&format!("<@{bot}>"))
        || message.content.contains(&format!("<@!{bot}>"))
        || role.is_some_and(|role| {
            message.mention_roles.iter().any(|r| r.get() == role)
                || message.content.contains(&format!("<@&{role}>"))
        })
}

fn locale_lang(locale: &str) -> Lang {
    Lang::from_code(locale).unwrap_or(Lang::En)
}

fn votes_on(state: &BotState) -> bool {
    state.memory.is_some()
}

/// A reply as an interaction response message.
fn interaction_message(reply: &Reply) -> CreateInteractionResponseMessage {
    let mut message = CreateInteractionResponseMessage::new()
        .allowed_mentions(no_pings())
        .ephemeral(reply.ephemeral)
        .components(reply.components.clone());
    if let Some(embed) = &reply.embed {
        message = message.embed(embed.clone());
    }
    if let Some(content) = &reply.content {
        message = message.content(content.clone());
    }
    message
}

async fn on_command(
    ctx: &Context,
    state: &BotState,
    command: CommandInteraction,
    deadline: Instant,
) {
    let name = command.data.name.as_str();
    if [TEACH, STATS, TEACH_MESSAGE].contains(&name) {
        return moderation::on_command(ctx, state, &command).await;
    }
    let started = Instant::now();
    let index = state.index();
    let mentions = state.mentions();
    let lang = locale_lang(&command.locale);
    let mut private = false;
    let mut question = String::new();
    for option in command.data.options() {
        match (option.name, option.value) {
            (PRIVATE_OPTION, ResolvedValue::Boolean(value)) => private = value,
            (QUESTION_OPTION, ResolvedValue::String(value)) => question = value.to_string(),
            _ => {}
        }
    }
    let rendered = match name {
        FACTS => Some((embed::facts_embed(&index, lang, &mentions).embed, true)),
        SOURCE => Some((embed::source_embed(&index, lang).embed, private)),
        _ => None,
    };
    if let Some((embed, ephemeral)) = rendered {
        let message = CreateInteractionResponseMessage::new()
            .embed(embed)
            .allowed_mentions(no_pings())
            .ephemeral(ephemeral);
        deliver("interaction callback", Some(deadline), || {
            command.create_response(
                &ctx.http,
                CreateInteractionResponse::Message(message.clone()),
            )
        })
        .await;
        return;
    }
    let entry = match (name, command.data.kind) {
        (ASK, _) => Entry::Ask,
        (_, CommandType::Message) => Entry::MessageCommand,
        _ => Entry::Slash,
    };
    if entry == Entry::MessageCommand {
        // "Ask citebot" on a message: its text is the question (the interaction carries it,
        // so this needs no Message Content intent).
        question = match command.data.target() {
            Some(ResolvedTarget::Message(message)) => message.content.clone(),
            _ => String::new(),
        };
    }
    debug!(question = %question, "asked");
    let asked = Asked {
        id: command.id.get(),
        entry,
        guild: command.guild_id,
        channel: command.channel_id,
        user: command.user.id,
        question: (entry != Entry::Slash).then_some(question.as_str()),
        started,
    };
    let request = Request {
        id: command.id.get(),
        entry,
        text: &question,
        card: (entry == Entry::Slash).then_some(name),
        lang: Some(lang),
        private,
        asker: command.user.id.get(),
        previous: None,
        // Fact commands are never limited: they cost nothing and answer one thing.
        limited: (entry != Entry::Slash)
            .then(|| state.limited(command.user.id, started))
            .flatten(),
        votes: votes_on(state),
    };
    let reply = reply(&index, &request, &mentions);
    if entry == Entry::Slash && reply.answer.is_none() {
        warn!(command = name, "unknown command (stale registration?)");
    }
    let message = interaction_message(&reply);
    let delivered = deliver("interaction callback", Some(deadline), || {
        command.create_response(
            &ctx.http,
            CreateInteractionResponse::Message(message.clone()),
        )
    })
    .await;
    state.log_reply(&asked, &reply);
    log_answered(delivered.is_some(), &reply, started);
}

fn log_answered(delivered: bool, reply: &Reply, started: Instant) {
    if delivered {
        info!(
            matched = ?reply.answer.as_ref().and_then(Answer::fact),
            confidence = reply.answer.as_ref().map_or(0.0, |a| a.confidence),
            latency_ms = started.elapsed().as_secs_f64() * 1000.0,
            "answered"
        );
    }
}

async fn on_autocomplete(
    ctx: &Context,
    state: &BotState,
    command: CommandInteraction,
    deadline: Instant,
) {
    let response = if command.data.name == TEACH {
        moderation::autocomplete(state, &command)
    } else {
        let typed = command
            .data
            .autocomplete()
            .map(|option| option.value.to_string())
            .unwrap_or_default();
        let mut response = CreateAutocompleteResponse::new();
        for suggestion in state.index().suggest(&typed, embed::CHOICES_MAX) {
            let text = shorten(&suggestion.text, CHOICE_MAX);
            response = response.add_string_choice(text.clone(), text);
        }
        response
    };
    deliver("autocomplete callback", Some(deadline), || {
        command.create_response(
            &ctx.http,
            CreateInteractionResponse::Autocomplete(response.clone()),
        )
    })
    .await;
}

/// A click on one of citebot's buttons or menus.
async fn on_component(
    ctx: &Context,
    state: &BotState,
    component: ComponentInteraction,
    deadline: Instant,
) {
    let started = Instant::now();
    let lang = locale_lang(&component.locale);
    let index = state.index();
    let notice = |text: String| {
        CreateInteractionResponseMessage::new()
            .content(shorten(&text, embed::CONTENT_MAX))
            .allowed_mentions(no_pings())
            .ephemeral(true)
    };
    let action = Action::parse(&component.data.custom_id);
    let message = match (action, &state.memory) {
        (Some(Action::Vote { question, up }), Some(memory)) => {
            memory.log.record(Record::Vote(VoteRecord {
                question_id: question,
                user: memory.log.hasher().hash(component.user.id.get()),
                up,
                at: store::now(),
            }));
            info!(question, up, "vote");
            notice(feedback::thanks(lang, up))
        }
        (Some(Action::Teach { pending }), Some(_)) => {
            notice(moderation::on_card_picked(state, &component, pending, lang).await)
        }
        (Some(Action::Card { command, asker }), _) if index.card(&command).is_some() => {
            // Public only when the one who asked clicks under a public answer.
            let public_original = !component
                .message
                .flags
                .is_some_and(|f| f.contains(MessageFlags::EPHEMERAL));
            let clicker = component.user.id.get();
            let suggested_for = component
                .message
                .embeds
                .first()
                .and_then(|e| e.description.as_deref())
                .and_then(embed::shown_question)
                .or_else(|| {
                    // Under a reply to a mention: the question is the message replied to.
                    let asked = component.message.referenced_message.as_ref()?;
                    let bot = *state.bot_user.get()?;
                    Some(question_from_mention(&asked.content, bot))
                })
                .unwrap_or_default();
            let request = Request {
                id: component.id.get(),
                entry: Entry::Button,
                text: &suggested_for,
                card: Some(&command),
                lang: Some(lang),
                private: !(public_original && clicker == asker),
                asker: clicker,
                previous: None,
                limited: None,
                votes: votes_on(state),
            };
            let reply = reply(&index, &request, &state.mentions());
            let asked = Asked {
                id: component.id.get(),
                entry: Entry::Button,
                guild: component.guild_id,
                channel: component.channel_id,
                user: component.user.id,
                question: None,
                started,
            };
            state.log_reply(&asked, &reply);
            interaction_message(&reply)
        }
        (Some(Action::Post), _) if !component.message.embeds.is_empty() => {
            // The private answer, as citebot rendered it, now in the channel for everyone.
            let embeds: Vec<CreateEmbed> = component
                .message
                .embeds
                .iter()
                .cloned()
                .map(CreateEmbed::from)
                .collect();
            CreateInteractionResponseMessage::new()
                .embeds(embeds)
                .allowed_mentions(no_pings())
                .ephemeral(false)
        }
        _ => {
            // Stale (another version, a card since removed, the log turned off) or forged.
            warn!(custom_id = %component.data.custom_id, "component citebot cannot act on");
            notice(feedback::stale_notice(lang).to_string())
        }
    };
    deliver("component callback", Some(deadline), || {
        component.create_response(
            &ctx.http,
            CreateInteractionResponse::Message(message.clone()),
        )
    })
    .await;
}

/// The question with every mention of the bot taken out.
pub fn question_from_mention(content: &str, bot: UserId) -> String {
    content
        .replace(&format!("<@{bot}>"), " ")
        .replace(&format!("<@!{bot}>"), " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// A mention, a DM, or a message in a watched place: answered in place, as a reply.
async fn on_message(
    ctx: &Context,
    state: &BotState,
    message: &Message,
    entry: Entry,
    question: &str,
) {
    let started = Instant::now();
    let index = state.index();
    let channel: ChannelId = message.channel_id;
    debug!(question = %question, "asked");
    // In a thread or a DM citebot answered lately, a follow-up is read with the last question.
    let conversation =
        message.guild_id.is_none() || thread_of(ctx, state, message.guild_id, channel).is_some();
    let previous = conversation
        .then(|| {
            state
                .conversations
                .previous(channel.get(), started.into_std())
        })
        .flatten();
    let request = Request {
        id: message.id.get(),
        entry,
        text: question,
        card: None,
        lang: None,
        private: false,
        asker: message.author.id.get(),
        previous: previous.as_deref(),
        limited: state.limited(message.author.id, started),
        votes: votes_on(state),
    };
    let reply = reply(&index, &request, &state.mentions());
    let asked = Asked {
        id: message.id.get(),
        entry,
        guild: message.guild_id,
        channel,
        user: message.author.id,
        question: Some(question),
        started,
    };
    if reply.silent {
        // A watched channel's chatter was not asked of citebot: its text is not kept, only
        // that a message went unanswered (and how close it came).
        let unasked = Asked {
            question: None,
            ..asked
        };
        state.log_reply(&unasked, &reply);
        return;
    }
    // A question deleted before the answer is sent still gets its answer, as a plain message,
    // instead of Discord refusing the reply.
    let reference = serenity::all::MessageReference::from(message).fail_if_not_exists(false);
    let mut out = CreateMessage::new()
        .reference_message(reference)
        .allowed_mentions(no_pings())
        .components(reply.components.clone());
    if let Some(embed) = &reply.embed {
        out = out.embed(embed.clone());
    }
    if let Some(content) = &reply.content {
        out = out.content(content.clone());
    }
    // Remembered before the answer is sent: a quick follow-up may arrive as soon as it is seen.
    if conversation && reply.answer.as_ref().is_some_and(Answer::is_answered) {
        state
            .conversations
            .answered(channel.get(), question, started.into_std());
    }
    let delivered = deliver("channel message", None, || {
        channel.send_message(&ctx.http, out.clone())
    })
    .await;
    state.log_reply(&asked, &reply);
    log_answered(delivered.is_some(), &reply, started);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_of_the_bot_are_taken_out_of_the_question() {
        let bot = UserId::new(42);
        assert_eq!(
            question_from_mention("<@42> why was R2 delayed?", bot),
            "why was R2 delayed?"
        );
        assert_eq!(
            question_from_mention("hey <@!42>   pq   atrasou", bot),
            "hey pq atrasou"
        );
        assert_eq!(question_from_mention("<@42>", bot), "");
        assert_eq!(question_from_mention("<@7> <@42> r2", bot), "<@7> r2");
    }
}
