//! 👍 / 👎 under every answer, and the custom ids citebot puts on its components.
//!
//! A custom id is versioned (`cb1:`) and parsed strictly: a button from an older citebot, or one
//! forged by a client, is recognised as such and gets a notice, never a panic.

use serenity::all::{ButtonStyle, CreateActionRow, CreateButton};

use crate::answer::Lang;

/// The version prefix of every custom id citebot makes.
const PREFIX: &str = "cb1";

/// What a component's custom id asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// A vote on the answer to question `question` (the interaction's or message's id).
    Vote { question: u64, up: bool },
    /// A card chosen for a question waiting to be taught.
    Teach { pending: u64 },
}

impl Action {
    pub fn custom_id(self) -> String {
        match self {
            Action::Vote { question, up } => {
                format!(
                    "{PREFIX}:vote:{question}:{}",
                    if up { "up" } else { "down" }
                )
            }
            Action::Teach { pending } => format!("{PREFIX}:teach:{pending}"),
        }
    }

    /// `None` for anything citebot did not make (or made in another version).
    pub fn parse(custom_id: &str) -> Option<Action> {
        let mut parts = custom_id.split(':');
        if parts.next()? != PREFIX {
            return None;
        }
        let action = match (parts.next()?, parts.next()?, parts.next()) {
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
    let (helpful, not_helpful) = match lang {
        Lang::Pt => ("Útil", "Não ajudou"),
        Lang::En => ("Helpful", "Not helpful"),
    };
    CreateActionRow::Buttons(vec![
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
    ])
}

/// The clicker's ephemeral thanks.
pub fn thanks(lang: Lang, up: bool) -> String {
    let emoji = if up { "👍" } else { "👎" };
    match lang {
        Lang::Pt => format!("Obrigado! O teu {emoji} ficou registado (um novo clique muda-o)."),
        Lang::En => format!("Thanks! Your {emoji} is noted (click again to change it)."),
    }
}

/// For a component citebot cannot act on (stale, forged, or the log is off).
pub fn stale_notice(lang: Lang) -> &'static str {
    match lang {
        Lang::Pt => "Este botão já não funciona. Faz a pergunta de novo.",
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
        ] {
            let id = action.custom_id();
            assert!(id.len() <= 100, "{id}");
            assert_eq!(Action::parse(&id), Some(action), "{id}");
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
