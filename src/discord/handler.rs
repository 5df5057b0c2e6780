//! The event handler: a routing table from Discord events to core calls and back to messages.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use serenity::all::{
    ChannelId, Command, CommandInteraction, Context, CreateAutocompleteResponse,
    CreateInteractionResponse, CreateInteractionResponseMessage, CreateMessage, EventHandler,
    GuildId, Interaction, Message, Ready, ResolvedValue, UserId,
};
use serenity::async_trait;
use tracing::{debug, info, info_span, warn, Instrument};

use super::commands::{self, ASK, FACTS, PRIVATE_OPTION, QUESTION_OPTION, SOURCE};
use super::embed::{self, no_pings, shorten, CHOICE_MAX};
use crate::answer::Lang;
use crate::index::Index;

pub struct Handler {
    index: Arc<Index>,
    guild: Option<GuildId>,
    bot_user: OnceLock<UserId>,
}

impl Handler {
    pub fn new(index: Arc<Index>, guild: Option<GuildId>) -> Handler {
        Handler {
            index,
            guild,
            bot_user: OnceLock::new(),
        }
    }
}

#[async_trait]
impl EventHandler for Handler {
    async fn ready(&self, ctx: Context, ready: Ready) {
        let _ = self.bot_user.set(ready.user.id);
        info!(user = %ready.user.name, guilds = ready.guilds.len(), "connected");
        register(&ctx, &self.index, self.guild).await;
    }

    async fn interaction_create(&self, ctx: Context, interaction: Interaction) {
        match interaction {
            Interaction::Command(command) => {
                let span =
                    info_span!("interaction", command = %command.data.name, id = %command.id);
                on_command(&ctx, &self.index, command)
                    .instrument(span)
                    .await;
            }
            Interaction::Autocomplete(command) => {
                let span =
                    info_span!("autocomplete", command = %command.data.name, id = %command.id);
                on_autocomplete(&ctx, &self.index, command)
                    .instrument(span)
                    .await;
            }
            _ => {}
        }
    }

    async fn message(&self, ctx: Context, message: Message) {
        let Some(&bot) = self.bot_user.get() else {
            return;
        };
        if message.author.bot || message.author.id == bot || !mentions(&message, bot) {
            return;
        }
        let span = info_span!("mention", channel = %message.channel_id, id = %message.id);
        on_mention(&ctx, &self.index, &message, bot)
            .instrument(span)
            .await;
    }
}

fn mentions(message: &Message, bot: UserId) -> bool {
    message.mentions.iter().any(|u| u.id == bot)
        || message.content.contains(&format!("<@{bot}>"))
        || message.content.contains(&format!("<@!{bot}>"))
}

async fn register(ctx: &Context, index: &Index, guild: Option<GuildId>) {
    let commands = commands::all(index);
    let count = commands.len();
    let result = match guild {
        Some(guild) => guild
            .set_commands(&ctx.http, commands)
            .await
            .map(|c| c.len()),
        None => Command::set_global_commands(&ctx.http, commands)
            .await
            .map(|c| c.len()),
    };
    match result {
        Ok(registered) => info!(count, registered, guild = ?guild, "commands registered"),
        Err(err) => warn!(error = %err, guild = ?guild, "registering commands failed"),
    }
}

fn locale_lang(command: &CommandInteraction) -> Lang {
    Lang::from_code(&command.locale).unwrap_or(Lang::En)
}

async fn on_command(ctx: &Context, index: &Index, command: CommandInteraction) {
    let started = Instant::now();
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
    let (rendered, matched, confidence) = match name {
        ASK => {
            let question = question.unwrap_or_default();
            debug!(question = %question, "asked");
            let answer = index.ask(&question, Some(lang));
            let rendered = embed::answer_embed(&answer, index);
            (
                rendered,
                answer.fact().map(str::to_string),
                answer.confidence,
            )
        }
        FACTS => {
            private = true;
            (embed::facts_embed(index, lang), None, 1.0)
        }
        SOURCE => (embed::source_embed(index, lang), None, 1.0),
        other => match index.fact_answer(other, lang) {
            Some(answer) => (
                embed::answer_embed(&answer, index),
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
    let result = command
        .create_response(&ctx.http, CreateInteractionResponse::Message(response))
        .await;
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    match result {
        Ok(()) => info!(matched = ?matched, confidence, latency_ms, "answered"),
        Err(err) => {
            warn!(error = %err, route = "interaction callback", latency_ms, "answer not delivered")
        }
    }
}

async fn on_autocomplete(ctx: &Context, index: &Index, command: CommandInteraction) {
    let typed = command
        .data
        .autocomplete()
        .map(|option| option.value.to_string())
        .unwrap_or_default();
    let mut response = CreateAutocompleteResponse::new();
    for suggestion in index.suggest(&typed, 25) {
        let text = shorten(&suggestion.text, CHOICE_MAX);
        response = response.add_string_choice(text.clone(), text);
    }
    if let Err(err) = command
        .create_response(&ctx.http, CreateInteractionResponse::Autocomplete(response))
        .await
    {
        warn!(error = %err, route = "autocomplete callback", "suggestions not delivered");
    }
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

async fn on_mention(ctx: &Context, index: &Index, message: &Message, bot: UserId) {
    let started = Instant::now();
    let question = question_from_mention(&message.content, bot);
    debug!(question = %question, "mentioned");
    let (rendered, matched, confidence) = if question.trim().is_empty() {
        (embed::help_embed(Lang::En), None, 0.0)
    } else {
        let answer = index.ask(&question, None);
        let rendered = embed::answer_embed(&answer, index);
        (
            rendered,
            answer.fact().map(str::to_string),
            answer.confidence,
        )
    };
    let reply = CreateMessage::new()
        .embed(rendered.embed)
        .reference_message(message)
        .allowed_mentions(no_pings());
    let channel: ChannelId = message.channel_id;
    let result = channel.send_message(&ctx.http, reply).await;
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    match result {
        Ok(_) => info!(matched = ?matched, confidence, latency_ms, "answered"),
        Err(err) => {
            warn!(error = %err, route = "channel message", latency_ms, "reply not delivered")
        }
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
