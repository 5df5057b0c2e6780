//! The moderators' commands: `/teach` (and "Teach citebot" on a message) attaches a missed
//! question to a card; `/stats` shows the last week's figures. Discord hides them from members
//! without Manage Server (`default_member_permissions`); every entry point checks again from the
//! interaction's own member permissions, since a server can override who sees a command.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use serenity::all::{
    CommandInteraction, ComponentInteraction, Context, CreateActionRow, CreateAutocompleteResponse,
    CreateInteractionResponse, CreateInteractionResponseMessage, CreateSelectMenu,
    CreateSelectMenuKind, CreateSelectMenuOption, Member, ResolvedTarget, ResolvedValue, UserId,
};
use tokio::time::Instant;
use tracing::{info, warn};

use super::commands::{CARD_OPTION, QUESTION_OPTION, STATS, TEACH, TEACH_MESSAGE};
use super::deliver::{deliver, INTERACTION_WINDOW};
use super::embed::{self, no_pings, shorten, CHOICE_MAX};
use super::feedback::Action;
use super::handler::BotState;
use crate::answer::Lang;
use crate::facts::MAX_LEARNED_QUESTION_CHARS;
use crate::learn::{self, TeachError};
use crate::store::{self, Outcome, Record, TeachRecord};
use crate::text::fold;

/// A "Teach citebot" question waits this long for its card to be picked.
const PENDING_FOR: Duration = Duration::from_secs(15 * 60);
/// At most this many questions wait at once (the oldest is dropped).
const PENDING_MAX: usize = 100;
/// `/teach` offers unanswered questions from this far back.
const MISSED_WINDOW_SECS: i64 = 30 * 86_400;
/// `/stats` covers this long.
const STATS_WINDOW_SECS: i64 = 7 * 86_400;

/// Questions from "Teach citebot" waiting for their card, by the interaction that asked.
#[derive(Default)]
pub struct PendingTeaches(Mutex<HashMap<u64, Pending>>);

struct Pending {
    question: String,
    moderator: UserId,
    since: std::time::Instant,
}

impl PendingTeaches {
    fn insert(&self, id: u64, question: String, moderator: UserId) {
        let mut pending = self.0.lock().unwrap_or_else(|p| p.into_inner());
        pending.retain(|_, p| p.since.elapsed() < PENDING_FOR);
        if pending.len() >= PENDING_MAX {
            if let Some(oldest) = pending
                .iter()
                .min_by_key(|(_, p)| p.since)
                .map(|(id, _)| *id)
            {
                pending.remove(&oldest);
            }
        }
        pending.insert(
            id,
            Pending {
                question,
                moderator,
                since: std::time::Instant::now(),
            },
        );
    }

    /// The question, if it is still waiting and `moderator` is who asked.
    fn take(&self, id: u64, moderator: UserId) -> Option<String> {
        let mut pending = self.0.lock().unwrap_or_else(|p| p.into_inner());
        match pending.get(&id) {
            Some(p) if p.moderator == moderator && p.since.elapsed() < PENDING_FOR => {
                pending.remove(&id).map(|p| p.question)
            }
            _ => None,
        }
    }
}

/// Whether the interaction's member may manage the server.
pub fn is_moderator(member: Option<&Member>) -> bool {
    member
        .and_then(|m| m.permissions)
        .is_some_and(|p| p.manage_guild())
}

fn not_allowed(lang: Lang) -> &'static str {
    lang.pick(
        "Só membros com a permissão Gerenciar Servidor podem usar isto.",
        "Only members with the Manage Server permission can use this.",
    )
}

fn log_is_off(lang: Lang) -> &'static str {
    lang.pick(
        "O registro de perguntas está desligado (CITEBOT_DB=off).",
        "The question log is off (CITEBOT_DB=off).",
    )
}

pub async fn on_command(ctx: &Context, state: &BotState, command: &CommandInteraction) {
    let started = Instant::now();
    let lang = Lang::from_code(&command.locale).unwrap_or(Lang::En);
    let mut response = CreateInteractionResponseMessage::new()
        .allowed_mentions(no_pings())
        .ephemeral(true);
    // Moderator commands exist only in servers; every read of the log is scoped to this one.
    let allowed = command.guild_id.is_some() && is_moderator(command.member.as_deref());
    let name = command.data.name.as_str();
    if !allowed {
        info!(command = name, "refused: not a moderator");
        response = response.content(not_allowed(lang));
    } else if state.memory.is_none() {
        response = response.content(log_is_off(lang));
    } else if name == STATS {
        response = match stats_embed(state, command.guild_id.map(|g| g.get()), lang) {
            Ok(embed) => response.embed(embed),
            Err(err) => {
                warn!(error = %err, "stats");
                response.content(lang.pick(
                    "Não consegui ler o registro de perguntas.",
                    "Could not read the question log.",
                ))
            }
        };
    } else if name == TEACH {
        let mut question = String::new();
        let mut card = String::new();
        for option in command.data.options() {
            match (option.name, option.value) {
                (QUESTION_OPTION, ResolvedValue::String(value)) => question = value.to_string(),
                (CARD_OPTION, ResolvedValue::String(value)) => card = value.to_string(),
                _ => {}
            }
        }
        let text = teach(state, command.user.id, &question, &card, lang).await;
        response = response.content(shorten(&text, embed::CONTENT_MAX));
    } else if name == TEACH_MESSAGE {
        let question = match command.data.target() {
            Some(ResolvedTarget::Message(message)) => message.content.trim().to_string(),
            _ => String::new(),
        };
        response = match card_menu(state, command, &question, lang) {
            Ok((text, menu)) => response.content(text).components(vec![menu]),
            Err(text) => response.content(text),
        };
    }
    deliver(
        "interaction callback",
        Some(started + INTERACTION_WINDOW),
        || {
            command.create_response(
                &ctx.http,
                CreateInteractionResponse::Message(response.clone()),
            )
        },
    )
    .await;
}

/// "Teach citebot": a menu of cards, the likeliest first, for the message's text.
fn card_menu(
    state: &BotState,
    command: &CommandInteraction,
    question: &str,
    lang: Lang,
) -> Result<(String, CreateActionRow), String> {
    let chars = question.chars().count();
    if chars == 0 {
        return Err(lang
            .pick(
                "Essa mensagem não tem texto para ensinar.",
                "That message has no text to teach.",
            )
            .to_string());
    }
    if chars > MAX_LEARNED_QUESTION_CHARS {
        return Err(match lang {
            Lang::Pt => format!("Uma pergunta ensinada tem no máximo {MAX_LEARNED_QUESTION_CHARS} caracteres; esta tem {chars}. Use /teach com a parte que pergunta."),
            Lang::En => format!("A taught question is at most {MAX_LEARNED_QUESTION_CHARS} characters; this one has {chars}. Use /teach with the part that asks."),
        });
    }
    let index = state.index();
    let answer = index.ask(question, Some(lang));
    let mut ranked: Vec<String> = answer
        .facts()
        .map(str::to_string)
        .chain(answer.alternatives.iter().cloned())
        .collect();
    for card in index.cards() {
        ranked.push(card.command.clone());
    }
    let mut seen = std::collections::HashSet::new();
    ranked.retain(|command| seen.insert(command.clone()));
    let options: Vec<CreateSelectMenuOption> = ranked
        .iter()
        .filter_map(|command| index.card(command))
        .take(25)
        .map(|card| {
            CreateSelectMenuOption::new(shorten(&format!("/{}", card.command), 100), &card.command)
                .description(shorten(card.description.get(lang), 100))
        })
        .collect();
    if let Some(memory) = &state.memory {
        memory
            .pending
            .insert(command.id.get(), question.to_string(), command.user.id);
    }
    let menu = CreateSelectMenu::new(
        Action::Teach {
            pending: command.id.get(),
        }
        .custom_id(),
        CreateSelectMenuKind::String { options },
    )
    .placeholder(lang.pick("Que cartão responde?", "Which card answers it?"));
    let text = match lang {
        Lang::Pt => format!(
            "Ensinar “{}”: escolha o cartão que responde a ela.",
            shorten(question, 200)
        ),
        Lang::En => format!(
            "Teach “{}”: pick the card that answers it.",
            shorten(question, 200)
        ),
    };
    Ok((text, CreateActionRow::SelectMenu(menu)))
}

/// A card picked in the "Teach citebot" menu.
pub async fn on_card_picked(
    state: &BotState,
    component: &ComponentInteraction,
    pending: u64,
    lang: Lang,
) -> String {
    if !is_moderator(component.member.as_ref()) {
        return not_allowed(lang).to_string();
    }
    let card = match &component.data.kind {
        serenity::all::ComponentInteractionDataKind::StringSelect { values } => {
            values.first().cloned().unwrap_or_default()
        }
        _ => String::new(),
    };
    let Some(question) = state
        .memory
        .as_ref()
        .and_then(|m| m.pending.take(pending, component.user.id))
    else {
        return lang
            .pick(
                "Este pedido expirou. Use “Ensinar o citebot” de novo.",
                "This request has expired. Use “Teach citebot” again.",
            )
            .to_string();
    };
    teach(state, component.user.id, &question, &card, lang).await
}

/// Teaches, swaps in the new index, records who taught what, and says how the question scores now.
async fn teach(
    state: &BotState,
    moderator: UserId,
    question: &str,
    card: &str,
    lang: Lang,
) -> String {
    let Some(memory) = &state.memory else {
        return log_is_off(lang).to_string();
    };
    // Rewrites a file and rebuilds the index (tens of milliseconds): off the async workers.
    let taught = tokio::task::block_in_place(|| {
        let _one_at_a_time = memory.teaching.lock().unwrap_or_else(|p| p.into_inner());
        learn::teach(&state.responses, card, question)
    });
    let taught = match taught {
        Ok(taught) => taught,
        Err(err) => {
            info!(error = %err, "teach refused");
            return match (&err, lang) {
                (TeachError::Io { .. }, _) => {
                    warn!(error = %err, "teach could not write");
                    lang.pick(
                        "Não consegui gravar a pergunta (veja o log do bot).",
                        "Could not save the question (see the bot's log).",
                    )
                    .to_string()
                }
                (_, Lang::Pt) => format!("Não ensinado: {err}"),
                (_, Lang::En) => format!("Not taught: {err}"),
            };
        }
    };
    let answer = taught.index.ask(&taught.question, Some(lang));
    state.replace_index(taught.index).await;
    memory.log.record(Record::Teach(TeachRecord {
        at: store::now(),
        user: memory.log.hasher().hash(moderator.get()),
        card: taught.card.clone(),
        question: taught.question.clone(),
    }));
    info!(card = %taught.card, "taught");
    let question = shorten(&taught.question, 200);
    let score = format!("{:.0}%", answer.confidence * 100.0);
    match (answer.fact() == Some(taught.card.as_str()), lang) {
        (true, Lang::Pt) => format!(
            "Ensinado: «{question}» → /{}. Agora é respondida com esse cartão (confiança {score}).",
            taught.card
        ),
        (true, Lang::En) => format!(
            "Taught: “{question}” → /{}. It is now answered with that card (confidence {score}).",
            taught.card
        ),
        (false, Lang::Pt) => format!(
            "Ensinado: «{question}» → /{}, mas ainda não é respondida com ele (resultado: {}, {score}).",
            taught.card,
            answer.fact().map_or("sem resposta".to_string(), |c| format!("/{c}"))
        ),
        (false, Lang::En) => format!(
            "Taught: “{question}” → /{}, but it is still not answered with it (now: {}, {score}).",
            taught.card,
            answer.fact().map_or("no answer".to_string(), |c| format!("/{c}"))
        ),
    }
}

/// `/teach` autocomplete: recent unanswered questions for `question`, cards for `card`.
pub fn autocomplete(state: &BotState, command: &CommandInteraction) -> CreateAutocompleteResponse {
    let mut choices: Vec<(String, String)> = Vec::new();
    let focused = command.data.autocomplete();
    let allowed = command.guild_id.is_some() && is_moderator(command.member.as_deref());
    if let (true, Some(focused)) = (allowed, focused) {
        let typed = fold(focused.value.trim());
        let wanted = |text: &str| typed.is_empty() || fold(text).contains(&typed);
        if focused.name == CARD_OPTION {
            for card in state.index().cards() {
                let label = format!("/{} · {}", card.command, card.description.en);
                if wanted(&label) {
                    choices.push((shorten(&label, CHOICE_MAX), card.command.clone()));
                }
            }
        } else if let Some(memory) = &state.memory {
            let since = store::now() - MISSED_WINDOW_SECS;
            let missed = {
                let reader = memory.reader.lock().unwrap_or_else(|p| p.into_inner());
                // Only this server's questions: a moderator never sees another server's.
                reader.missed_questions(command.guild_id.map(|g| g.get()), since, 200)
            };
            match missed {
                // A choice's value is at most 100 characters: a longer question cannot be
                // offered whole, and teaching a cut one would teach something nobody asked.
                Ok(missed) => choices.extend(
                    missed
                        .into_iter()
                        .filter(|q| q.question.chars().count() <= CHOICE_MAX && wanted(&q.question))
                        .map(|q| (q.question.clone(), q.question)),
                ),
                Err(err) => warn!(error = %err, "teach autocomplete: cannot read the log"),
            }
        }
    }
    choices.into_iter().take(embed::CHOICES_MAX).fold(
        CreateAutocompleteResponse::new(),
        |response, (name, value)| response.add_string_choice(name, value),
    )
}

/// This server's last week. `guild` is always set: moderator commands exist only in servers.
fn stats_embed(
    state: &BotState,
    guild: Option<u64>,
    lang: Lang,
) -> Result<serenity::all::CreateEmbed, store::StoreError> {
    let Some(memory) = &state.memory else {
        return Err(store::StoreError::Salt);
    };
    let until = store::now();
    let report = {
        let reader = memory.reader.lock().unwrap_or_else(|p| p.into_inner());
        reader.report(guild, until - STATS_WINDOW_SECS, until)?
    };
    let percent = |outcome| format!("{:.0}%", report.rate(outcome) * 100.0);
    let (up, down) = report.votes();
    let mut fields = vec![
        (
            lang.pick("Perguntas", "Questions").to_string(),
            report.questions.to_string(),
        ),
        (
            lang.pick("Respondidas", "Answered").to_string(),
            percent(Outcome::Answered),
        ),
        (
            lang.pick("Sugeridas", "Suggested").to_string(),
            percent(Outcome::Suggested),
        ),
        (
            lang.pick("Recusadas", "Refused").to_string(),
            percent(Outcome::Refused),
        ),
        (
            lang.pick("Votos", "Votes").to_string(),
            format!("👍 {up} · 👎 {down}"),
        ),
    ];
    let missed: Vec<String> = report
        .missed
        .iter()
        .flat_map(|group| &group.questions)
        .take(3)
        .map(|q| {
            format!(
                "{}× {}",
                q.times,
                embed::escape_user_text(&shorten(&q.question, 150))
            )
        })
        .collect();
    if !missed.is_empty() {
        fields.push((
            lang.pick(
                "Mais falhadas (ensina com /teach)",
                "Most missed (teach with /teach)",
            )
            .to_string(),
            missed.join("\n"),
        ));
    }
    let title = lang.pick("citebot: últimos 7 dias", "citebot: the last 7 days");
    let footer = lang.pick(
        "Relatório completo: citebot report",
        "Full report: citebot report",
    );
    let description = match lang {
        Lang::Pt => format!("{} pergunta(s) desde há 7 dias.", report.questions),
        Lang::En => format!("{} question(s) in the last 7 days.", report.questions),
    };
    Ok(embed::build(title, &description, &fields, footer, 0x2b_8a_3e).embed)
}
