//! 👍 / 👎 under every answer, and the custom ids citebot puts on its components.
//!
//! A custom id is versioned (`cb1:`) and parsed strictly: a button from an older citebot, or one
//! forged by a client, is recognised as such and gets a notice, never a panic.

use serenity::all::{ButtonStyle, CreateActionRow, CreateButton};

use crate::answer::Lang;
use crate::facts::is_valid_command_name;

/// The version prefix of every custom id citebot makes.
const PREFIX: &str = "cb1";

/// What a component's custom id asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// A vote on the answer to question `question` (the interaction's or message's id).
    Vote { question: u64, up: bool },
    /// A card chosen for a question waiting to be taught.
    Teach { pending: u64 },
    /// A suggested card, offered to `asker` under a refusal or a "did you mean".
    Card { command: String, asker: u64 },
    /// Post a private answer in the channel.
    Post,
}

impl Action {
    pub fn custom_id(&self) -> String {
        match self {
            Action::Vote { question, up } => {
                let direction = if *up { "up" } else { "down" };
                format!("{PREFIX}:vote:{question}:{direction}")
            }
            Action::Teach { pending } => format!("{PREFIX}:teach:{pending}"),
            Action::Card { command, asker } => format!("{PREFIX}:card:{command}:{asker}"),
            Action::Post => format!("{PREFIX}:post"),
        }
    }

    /// `None` for anything citebot did not make (or made in another version).
    pub fn parse(custom_id: &str) -> Option<Action> {
        let mut parts = custom_id.split(':');
        if parts.next()? != PREFIX {
            return None;
        }
        let kind = parts.next()?;
        if kind == "post" {
            return parts.next().is_none().then_some(Action::Post);
        }
        let action = match (kind, parts.next()?, parts.next()) {
            ("vote", id, Some(direction)) => Action::Vote {
                question: parse_id(id)?,
                up: match direction {
                    "up" => true,
                    "down" => false,
                    _ => return None,
                },
            },
            ("teach", id, None) => Action::Teach {
                pending: parse_id(id)?,
            },
            ("card", command, Some(asker)) if is_valid_command_name(command) => Action::Card {
                command: command.to_string(),
                asker: parse_id(asker)?,
            },
            _ => return None,
        };
        parts.next().is_none().then_some(action)
    }
}

/// A snowflake: digits only, non-zero, below 2^63.
fn parse_id(text: &str) -> Option<u64> {
    if text.is_empty() || text.len() > 19 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse::<u64>()
        .ok()
        .filter(|&id| id != 0 && id <= i64::MAX as u64)
}

/// The 👍 / 👎 row under an answer to question `question`.
pub fn vote_row(question: u64, lang: Lang) -> CreateActionRow {
    CreateActionRow::Buttons(vote_buttons(question, lang))
}

/// 👍 and 👎 for the answer to question `question`.
pub fn vote_buttons(question: u64, lang: Lang) -> Vec<CreateButton> {
    let (helpful, not_helpful) = match lang {
        Lang::Pt => ("Ajudou", "Não ajudou"),
        Lang::En => ("Helpful", "Not helpful"),
    };
    vec![
        CreateButton::new(Action::Vote { question, up: true }.custom_id())
            .style(ButtonStyle::Secondary)
            .emoji('👍')
            .label(helpful),
        CreateButton::new(
            Action::Vote {
                question,
                up: false,
            }
            .custom_id(),
        )
        .style(ButtonStyle::Secondary)
        .emoji('👎')
        .label(not_helpful),
    ]
}

/// The clicker's ephemeral thanks.
pub fn thanks(lang: Lang, up: bool) -> String {
    let emoji = if up { "👍" } else { "👎" };
    match lang {
        Lang::Pt => format!("Valeu! Seu {emoji} foi registrado (clique de novo para mudar)."),
        Lang::En => format!("Thanks! Your {emoji} is noted (click again to change it)."),
    }
}

/// For a component citebot cannot act on (stale, forged, or the log is off).
pub fn stale_notice(lang: Lang) -> &'static str {
    match lang {
        Lang::Pt => "Este botão não funciona mais. Faça a pergunta de novo.",
        Lang::En => "This button no longer works. Ask the question again.",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_ids_round_trip_and_fit_discords_100_characters() {
        for action in [
            Action::Vote {
                question: i64::MAX as u64,
                up: true,
            },
            Action::Vote {
                question: 1,
                up: false,
            },
            Action::Teach {
                pending: 1_234_567_890_123_456_789,
            },
            Action::Card {
                command: "autossuficiência".into(),
                asker: i64::MAX as u64,
            },
            Action::Card {
                command: "x".repeat(32),
                asker: 1,
            },
            Action::Post,
        ] {
            let id = action.custom_id();
            assert!(id.len() <= 100, "{id}");
            assert_eq!(Action::parse(&id).as_ref(), Some(&action), "{id}");
        }
    }

    #[test]
    fn foreign_stale_and_forged_ids_are_refused() {
        for bad in [
            "",
            "vote:1:up",
            "cb0:vote:1:up",
            "cb2:vote:1:up",
            "cb1:vote:1:sideways",
            "cb1:vote:0:up",
            "cb1:vote:-1:up",
            "cb1:vote:+1:up",
            "cb1:vote:99999999999999999999:up",
            "cb1:vote:9223372036854775808:up",
            "cb1:vote:1:up:extra",
            "cb1:vote:1",
            "cb1:teach:",
            "cb1:teach:1:2",
            "cb1:unknown:1",
            "cb1:vote:１:up",
            "cb1:card:h20-deal",
            "cb1:card:Bad Name:1",
            "cb1:card::1",
            "cb1:card:h20-deal:0",
            "cb1:post:1",
        ] {
            assert_eq!(Action::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn the_vote_row_has_two_buttons_naming_the_question() {
        let row = serde_json::to_value(vote_row(42, Lang::En)).expect("json");
        let buttons = row["components"].as_array().expect("buttons");
        assert_eq!(buttons.len(), 2);
        assert_eq!(buttons[0]["custom_id"], "cb1:vote:42:up");
        assert_eq!(buttons[1]["custom_id"], "cb1:vote:42:down");
    }
}
