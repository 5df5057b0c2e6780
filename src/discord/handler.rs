//! The event handler: a routing table from Discord events to core calls and back to messages.

use std::sync::{Arc, OnceLock, RwLock};

use serenity::all::{
    ChannelId, Command, CommandInteraction, Context, CreateAutocompleteResponse, CreateCommand,
    CreateInteractionResponse, CreateInteractionResponseMessage, CreateMessage, EventHandler,
    GuildId, Http, Interaction, Message, Ready, ResolvedValue, UserId,
};
use serenity::async_trait;
use tokio::time::Instant;
use tracing::{debug, info, info_span, warn, Instrument};

use super::commands::{self, ASK, FACTS, PRIVATE_OPTION, QUESTION_OPTION, SOURCE};
use super::deliver::{deliver, INTERACTION_WINDOW};
use super::embed::{self, no_pings, shorten, CHOICE_MAX};
use crate::answer::Lang;
use crate::cooldown::{Cooldown, Verdict};
use crate::index::Index;

/// What every event handler shares: the index being served (swapped whole on reload), and what
/// READY told us.
pub struct BotState {
    index: RwLock<Arc<Index>>,
    guild: Option<GuildId>,
    cooldown: Option<Cooldown>,
    bot_user: OnceLock<UserId>,
    http: OnceLock<Arc<Http>>,
}

impl BotState {
    pub fn new(index: Arc<Index>, guild: Option<GuildId>, cooldown: Option<Cooldown>) -> BotState {
        BotState {
            index: RwLock::new(index),
            guild,
            cooldown,
            bot_user: OnceLock::new(),
            http: OnceLock::new(),
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
        let changed = command_definitions(&old) != command_definitions(&new);
        info!(
            cards = new.cards().len(),
            commands_changed = changed,
            "responses reloaded"
        );
        if changed {
            match self.http.get() {
                Some(http) => register(http, &new, self.guild).await,
                None => info!("not connected yet; commands will be registered on READY"),
            }
        }
    }
}

fn command_definitions(index: &Index) -> serde_json::Value {
    let commands: Vec<CreateCommand> = commands::all(index);
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
            register(&ctx.http, &self.state.index(), self.state.guild).await;
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

async fn register(http: &Http, index: &Index, guild: Option<GuildId>) {
    let commands = commands::all(index);
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
    let name = command.data.name.as_str();
    if name == ASK {
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
                return;
            }
        }
    }
    let (rendered, matched, confidence) = match name {
        ASK => {
            let question = question.unwrap_or_default();
            debug!(question = %question, "asked");
            let mut answer = index.ask(&question, Some(lang));
            // Others in the channel see what was asked (escaped and shortened by the embed).
            if !private && answer.clause.is_none() {
                let asked = crate::text::collapse_whitespace(&question);
                answer.clause = Some(embed::shorten(&asked, ASKED_MAX_CHARS));
            }
            let rendered = embed::answer_embed(&answer, &index);
            (
                rendered,
                answer.fact().map(str::to_string),
                answer.confidence,
            )
        }
        FACTS => {
            private = true;
            (embed::facts_embed(&index, lang), None, 1.0)
        }
        SOURCE => (embed::source_embed(&index, lang), None, 1.0),
        other => match index.fact_answer(other, lang) {
            Some(answer) => (
                embed::answer_embed(&answer, &index),
                Some(other.to_string()),
                1.0,
            ),
            None => {
                warn!(command = other, "unknown command (stale registration?)");
                private = true;
                (embed::help_embed(lang), None, 0.0)
            }
        },
    };
    let response = CreateInteractionResponseMessage::new()
        .embed(rendered.embed)
        .allowed_mentions(no_pings())
        .ephemeral(private);
    let delivered = deliver("interaction callback", deadline, || {
        command.create_response(
            &ctx.http,
            CreateInteractionResponse::Message(response.clone()),
        )
    })
    .await;
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    if delivered.is_some() {
        info!(matched = ?matched, confidence, latency_ms, "answered");
    }
}

async fn on_autocomplete(ctx: &Context, state: &BotState, command: CommandInteraction) {
    let started = Instant::now();
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
            return;
        }
    }
    let (rendered, matched, confidence) = if question.trim().is_empty() {
        (embed::help_embed(Lang::En), None, 0.0)
    } else {
        let answer = index.ask(&question, None);
        let rendered = embed::answer_embed(&answer, &index);
        (
            rendered,
            answer.fact().map(str::to_string),
            answer.confidence,
        )
    };
    let message = reply(Some(rendered.embed), None);
    let delivered = deliver("channel message", None, || {
        channel.send_message(&ctx.http, message.clone())
    })
    .await;
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    if delivered.is_some() {
        info!(matched = ?matched, confidence, latency_ms, "answered");
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
