//! The event handler: a routing table from Discord events to core calls and back to messages.

use std::sync::{Arc, OnceLock, RwLock};

use serenity::all::{
    ChannelId, Command, CommandInteraction, ComponentInteraction, Context,
    CreateAutocompleteResponse, CreateCommand, CreateInteractionResponse,
    CreateInteractionResponseMessage, CreateMessage, EventHandler, GuildId, Http, Interaction,
    Message, Ready, ResolvedTarget, ResolvedValue, UserId,
};
use serenity::async_trait;
use tokio::time::Instant;
use tracing::{debug, info, info_span, warn, Instrument};

use super::commands::{
    self, ASK, ASK_MESSAGE, FACTS, PRIVATE_OPTION, QUESTION_OPTION, SOURCE, STATS, TEACH,
    TEACH_MESSAGE,
};
use super::deliver::{deliver, INTERACTION_WINDOW};
use super::embed::{self, no_pings, shorten, CHOICE_MAX};
use super::feedback::{self, Action};
use super::moderation;
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
    ) -> BotState {
        BotState {
            index: RwLock::new(index),
            guild,
            cooldown,
            bot_user: OnceLock::new(),
            http: OnceLock::new(),
            memory,
            responses,
        }
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

    /// The 👍 / 👎 row for an answer, when votes can be recorded.
    fn vote_row(&self, question: u64, answer: &Answer) -> Option<serenity::all::CreateActionRow> {
        (self.memory.is_some() && !answer.is_chit_chat())
            .then(|| feedback::vote_row(question, answer.lang))
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
                Some(http) => register(http, &new, self.guild, with_log).await,
                None => info!("not connected yet; commands will be registered on READY"),
            }
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
            register(
                &ctx.http,
                &self.state.index(),
                self.state.guild,
                self.state.memory.is_some(),
            )
            .await;
        }
    }

    async fn interaction_create(&self, ctx: Context, interaction: Interaction) {
        match interaction {
            Interaction::Command(command) => {
                let span =
                    info_span!("interaction", command = %command.data.name, id = %command.id);
                on_command(&ctx, &self.state, command)
                    .instrument(span)
                    .await;
            }
            Interaction::Autocomplete(command) => {
                let span =
                    info_span!("autocomplete", command = %command.data.name, id = %command.id);
                on_autocomplete(&ctx, &self.state, command)
                    .instrument(span)
                    .await;
            }
            Interaction::Component(component) => {
                let span = info_span!("component", id = %component.id);
                on_component(&ctx, &self.state, component)
                    .instrument(span)
                    .await;
            }
            _ => {}
        }
    }

    async fn message(&self, ctx: Context, message: Message) {
        let Some(&bot) = self.state.bot_user.get() else {
            return;
        };
        // In a DM every message is a question; elsewhere only those that mention the bot.
        // Other bots and webhooks are never answered (two bots could answer each other forever).
        let from_a_person =
            !message.author.bot && message.webhook_id.is_none() && message.author.id != bot;
        let addressed = message.guild_id.is_none() || mentions(&message, bot);
        if !from_a_person || !addressed {
            return;
        }
        let span = info_span!("mention", channel = %message.channel_id, id = %message.id);
        on_mention(&ctx, &self.state, &message, bot)
            .instrument(span)
            .await;
    }
}

fn mentions(message: &Message, bot: UserId) -> bool {
    message.mentions.iter().any(|u| u.id == bot)
        || message.content.contains(&format!("<@{bot}>"))
        || message.content.contains(&format!("<@!{bot}>"))
}

async fn register(http: &Http, index: &Index, guild: Option<GuildId>, with_log: bool) {
    let commands = commands::all(index, with_log);
    let count = commands.len();
    let result = deliver("bulk overwrite commands", None, || {
        let commands = commands.clone();
        async move {
            match guild {
                Some(guild) => guild.set_commands(http, commands).await,
                None => Command::set_global_commands(http, commands).await,
            }
        }
    })
    .await;
    if let Some(registered) = result {
        info!(count, registered = registered.len(), guild = ?guild, "commands registered");
    }
}

fn locale_lang(command: &CommandInteraction) -> Lang {
    Lang::from_code(&command.locale).unwrap_or(Lang::En)
}

/// How much of a question a public answer shows above it.
const ASKED_MAX_CHARS: usize = 200;

fn cooldown_notice(lang: Lang, retry_after: std::time::Duration) -> String {
    let seconds = retry_after.as_secs().max(1);
    match lang {
        Lang::Pt => {
            format!("Calma: demasiadas perguntas seguidas. Tenta de novo daqui a {seconds} s.")
        }
        Lang::En => format!("Slow down: too many questions in a row. Try again in {seconds} s."),
    }
}

async fn on_command(ctx: &Context, state: &BotState, command: CommandInteraction) {
    let name = command.data.name.as_str();
    if [TEACH, STATS, TEACH_MESSAGE].contains(&name) {
        return moderation::on_command(ctx, state, &command).await;
    }
    let started = Instant::now();
    let deadline = Some(started + INTERACTION_WINDOW);
    let index = state.index();
    let lang = locale_lang(&command);
    let mut private = false;
    let mut question = None;
    for option in command.data.options() {
        match (option.name, option.value) {
            (PRIVATE_OPTION, ResolvedValue::Boolean(value)) => private = value,
            (QUESTION_OPTION, ResolvedValue::String(value)) => question = Some(value.to_string()),
            _ => {}
        }
    }
    if name == ASK_MESSAGE {
        // "Ask citebot" on a message: its text is the question (the interaction carries it,
        // so this needs no Message Content intent).
        question = match command.data.target() {
            Some(ResolvedTarget::Message(message)) => Some(message.content.clone()),
            _ => None,
        };
    }
    let entry = match name {
        ASK => Entry::Ask,
        ASK_MESSAGE => Entry::MessageCommand,
        _ => Entry::Slash,
    };
    let asked = Asked {
        id: command.id.get(),
        entry,
        guild: command.guild_id,
        channel: command.channel_id,
        user: command.user.id,
        question: question.as_deref().filter(|_| entry != Entry::Slash),
        started,
    };
    if entry != Entry::Slash {
        if let Some(cooldown) = &state.cooldown {
            if let Verdict::Limited { retry_after, .. } =
                cooldown.check(command.user.id.get(), started.into_std())
            {
                info!(retry_after_s = retry_after.as_secs(), "cooldown");
                let notice = CreateInteractionResponseMessage::new()
                    .content(cooldown_notice(lang, retry_after))
                    .allowed_mentions(no_pings())
                    .ephemeral(true);
                deliver("interaction callback", deadline, || {
                    command.create_response(
                        &ctx.http,
                        CreateInteractionResponse::Message(notice.clone()),
                    )
                })
                .await;
                state.log_question(&asked, Outcome::Cooldown, None);
                return;
            }
        }
    }
    let answer = match name {
        ASK | ASK_MESSAGE => {
            let question = question.clone().unwrap_or_default();
            debug!(question = %question, "asked");
            if question.trim().is_empty() {
                None
            } else {
                let mut answer = index.ask(&question, Some(lang));
                // Others in the channel see what was asked (escaped and shortened by the embed).
                if !private && answer.clause.is_none() {
                    let asked = crate::text::collapse_whitespace(&question);
                    answer.clause = Some(embed::shorten(&asked, ASKED_MAX_CHARS));
                }
                Some(answer)
            }
        }
        FACTS | SOURCE => None,
        other => {
            let answer = index.fact_answer(other, lang);
            if answer.is_none() {
                warn!(command = other, "unknown command (stale registration?)");
            }
            answer
        }
    };
    let rendered = match (&answer, name) {
        (Some(answer), _) => embed::answer_embed(answer, &index),
        (None, FACTS) => {
            private = true;
            embed::facts_embed(&index, lang)
        }
        (None, SOURCE) => embed::source_embed(&index, lang),
        (None, _) => {
            private = true;
            embed::help_embed(lang)
        }
    };
    let mut response = CreateInteractionResponseMessage::new()
        .embed(rendered.embed)
        .allowed_mentions(no_pings())
        .ephemeral(private);
    if let Some(row) = answer
        .as_ref()
        .and_then(|answer| state.vote_row(asked.id, answer))
    {
        response = response.components(vec![row]);
    }
    let delivered = deliver("interaction callback", deadline, || {
        command.create_response(
            &ctx.http,
            CreateInteractionResponse::Message(response.clone()),
        )
    })
    .await;
    if let Some(answer) = &answer {
        state.log_question(&asked, Outcome::of(answer), Some(answer));
    }
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    if delivered.is_some() {
        info!(
            matched = ?answer.as_ref().and_then(Answer::fact),
            confidence = answer.as_ref().map_or(1.0, |a| a.confidence),
            latency_ms,
            "answered"
        );
    }
}

async fn on_autocomplete(ctx: &Context, state: &BotState, command: CommandInteraction) {
    let started = Instant::now();
    let response = if command.data.name == TEACH {
        moderation::autocomplete(state, &command)
    } else {
        let typed = command
            .data
            .autocomplete()
            .map(|option| option.value.to_string())
            .unwrap_or_default();
        let mut response = CreateAutocompleteResponse::new();
        for suggestion in state.index().suggest(&typed, 25) {
            let text = shorten(&suggestion.text, CHOICE_MAX);
            response = response.add_string_choice(text.clone(), text);
        }
        response
    };
    deliver(
        "autocomplete callback",
        Some(started + INTERACTION_WINDOW),
        || {
            command.create_response(
                &ctx.http,
                CreateInteractionResponse::Autocomplete(response.clone()),
            )
        },
    )
    .await;
}

/// A click on one of citebot's buttons or menus.
async fn on_component(ctx: &Context, state: &BotState, component: ComponentInteraction) {
    let started = Instant::now();
    let lang = Lang::from_code(&component.locale).unwrap_or(Lang::En);
    let action = Action::parse(&component.data.custom_id);
    let reply = match (action, &state.memory) {
        (Some(Action::Vote { question, up }), Some(memory)) => {
            memory.log.record(Record::Vote(VoteRecord {
                question_id: question,
                user: memory.log.hasher().hash(component.user.id.get()),
                up,
                at: store::now(),
            }));
            info!(question, up, "vote");
            feedback::thanks(lang, up)
        }
        (Some(Action::Teach { pending }), Some(_)) => {
            moderation::on_card_picked(state, &component, pending, lang).await
        }
        _ => {
            // Stale (another version, the log turned off) or forged: say so, never fail.
            warn!(custom_id = %component.data.custom_id, "component citebot cannot act on");
            feedback::stale_notice(lang).to_string()
        }
    };
    let response = CreateInteractionResponseMessage::new()
        .content(shorten(&reply, embed::CONTENT_MAX))
        .allowed_mentions(no_pings())
        .ephemeral(true);
    deliver(
        "component callback",
        Some(started + INTERACTION_WINDOW),
        || {
            component.create_response(
                &ctx.http,
                CreateInteractionResponse::Message(response.clone()),
            )
        },
    )
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

async fn on_mention(ctx: &Context, state: &BotState, message: &Message, bot: UserId) {
    let started = Instant::now();
    let index = state.index();
    let question = question_from_mention(&message.content, bot);
    debug!(question = %question, "mentioned");
    let channel: ChannelId = message.channel_id;
    let asked = Asked {
        id: message.id.get(),
        entry: Entry::Mention,
        guild: message.guild_id,
        channel,
        user: message.author.id,
        question: Some(&question),
        started,
    };
    let reply = |embed: Option<serenity::all::CreateEmbed>, content: Option<String>| {
        // A question deleted before the answer is sent still gets its answer, as a plain
        // message, instead of Discord refusing the reply.
        let reference = serenity::all::MessageReference::from(message).fail_if_not_exists(false);
        let mut reply = CreateMessage::new()
            .reference_message(reference)
            .allowed_mentions(no_pings());
        if let Some(embed) = embed {
            reply = reply.embed(embed);
        }
        if let Some(content) = content {
            reply = reply.content(content);
        }
        reply
    };
    if let Some(cooldown) = &state.cooldown {
        if let Verdict::Limited {
            retry_after,
            notify,
        } = cooldown.check(message.author.id.get(), started.into_std())
        {
            info!(retry_after_s = retry_after.as_secs(), notify, "cooldown");
            if notify {
                let lang = index.ask(&question, None).lang;
                let notice = reply(None, Some(cooldown_notice(lang, retry_after)));
                deliver("channel message", None, || {
                    channel.send_message(&ctx.http, notice.clone())
                })
                .await;
            }
            state.log_question(&asked, Outcome::Cooldown, None);
            return;
        }
    }
    let answer = (!question.trim().is_empty()).then(|| index.ask(&question, None));
    let mut message = match &answer {
        Some(answer) => reply(Some(embed::answer_embed(answer, &index).embed), None),
        None => reply(Some(embed::help_embed(Lang::En).embed), None),
    };
    if let Some(row) = answer
        .as_ref()
        .and_then(|answer| state.vote_row(asked.id, answer))
    {
        message = message.components(vec![row]);
    }
    let delivered = deliver("channel message", None, || {
        channel.send_message(&ctx.http, message.clone())
    })
    .await;
    if let Some(answer) = &answer {
        state.log_question(&asked, Outcome::of(answer), Some(answer));
    }
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    if delivered.is_some() {
        info!(
            matched = ?answer.as_ref().and_then(Answer::fact),
            confidence = answer.as_ref().map_or(0.0, |a| a.confidence),
            latency_ms,
            "answered"
        );
    }
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
