//! The answer model: what the core returns for a question, independent of how it is shown.
//!
//! One `Answer` feeds every renderer (terminal, `--json`, Discord embeds), so they cannot disagree
//! about what was matched or quoted.

use serde::Serialize;

/// The language a reply is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    Pt,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Pt => "pt",
            Lang::En => "en",
        }
    }

    /// Parses `pt`/`en` and regional forms (`pt-BR`, `pt-PT`, `en-US`); anything else is `None`.
    pub fn from_code(code: &str) -> Option<Lang> {
        let primary = code.split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "pt" => Some(Lang::Pt),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// Picks the English or Portuguese variant of a text.
    pub fn pick<'a>(self, pt: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Pt => pt,
            Lang::En => en,
        }
    }
}

/// A verbatim quote of the article, located in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Citation {
    /// The exact characters of the article (not the card's spelling of them).
    pub quote: String,
    /// 1-based paragraph number (§N), headings included.
    pub paragraph: usize,
    /// Byte range of the quote in the article text.
    pub start: usize,
    pub end: usize,
    /// The card's English rendering of the quote: a translation, never shown as a quote.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gloss: Option<String>,
}

/// What a question was matched to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Matched {
    /// A fact card, by its command name.
    Fact(String),
    /// No card fits, but one sentence of the article does; it is quoted as it stands.
    Passage { paragraph: usize },
    /// A card is plausible but not certain: offered as "did you mean", never asserted.
    /// The candidates are the answer's `alternatives`, best first.
    Suggested,
    /// Nothing fits well enough: the article does not say.
    Nothing,
    /// Greetings, thanks, questions about the bot: a friendly line, no card.
    ChitChat,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub matched: Matched,
    /// 0.0 to 1.0; how well the question fits what was matched.
    pub confidence: f32,
    pub lang: Lang,
    /// The short answer in `lang`, or the refusal text.
    pub summary: String,
    /// Empty for a refusal; never invented.
    pub citations: Vec<Citation>,
    /// Closest fact commands other than the one matched, best first (for a suggestion, the
    /// suggested cards themselves).
    pub alternatives: Vec<String>,
    /// The part of the message this answers, when the message asked more than one thing.
    pub clause: Option<String>,
    /// Answers to the message's other questions, in the order asked: a second card, or a
    /// refusal saying which part the article does not cover.
    pub more: Vec<Answer>,
}

impl Answer {
    /// Whether the answer asserts something from the article (a card or a passage).
    pub fn is_answered(&self) -> bool {
        matches!(self.matched, Matched::Fact(_) | Matched::Passage { .. })
    }

    pub fn is_suggested(&self) -> bool {
        matches!(self.matched, Matched::Suggested)
    }

    pub fn is_chit_chat(&self) -> bool {
        matches!(self.matched, Matched::ChitChat)
    }

    /// Every card this reply answers with, the main one first.
    pub fn facts(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self)
            .chain(&self.more)
            .filter_map(Answer::fact)
    }

    pub fn fact(&self) -> Option<&str> {
        match &self.matched {
            Matched::Fact(command) => Some(command),
            _ => None,
        }
    }

    pub fn is_passage(&self) -> bool {
        matches!(self.matched, Matched::Passage { .. })
    }
}

/// Fixed phrases of the answer model, in both languages.
pub fn refusal_text(lang: Lang) -> &'static str {
    lang.pick(
        "O artigo não fala disso.",
        "The article doesn't cover that.",
    )
}

pub fn suggestion_text(lang: Lang) -> &'static str {
    lang.pick(
        "Não tenho certeza de que o artigo responda isso. Você quis dizer:",
        "I'm not sure the article answers that. Did you mean:",
    )
}

/// The reply to thanks and greetings, and to questions about the bot itself.
pub fn chit_chat_text(lang: Lang, thanks: bool) -> &'static str {
    match (thanks, lang) {
        (true, Lang::Pt) => "De nada! Pergunte o que quiser sobre o artigo.",
        (true, Lang::En) => "You're welcome! Ask me anything about the article.",
        (false, Lang::Pt) => {
            "Olá! Sou o citebot: respondo a perguntas sobre o artigo, sempre com citações dele. Experimente /ask ou /facts."
        }
        (false, Lang::En) => {
            "Hi! I'm citebot: I answer questions about the article, always quoting it. Try /ask or /facts."
        }
    }
}

/// Said of a part of a message that no card answers.
pub fn uncovered_text(lang: Lang) -> &'static str {
    lang.pick(
        "O artigo não fala desta parte da pergunta.",
        "The article doesn't cover this part of the question.",
    )
}

pub fn passage_text(lang: Lang) -> &'static str {
    lang.pick(
        "Nenhuma ficha responde diretamente; esta é a passagem do artigo mais próxima da pergunta.",
        "No fact card answers this directly; this is the passage of the article closest to the question.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locale_codes_map_to_languages() {
        assert_eq!(Lang::from_code("pt-BR"), Some(Lang::Pt));
        assert_eq!(Lang::from_code("pt-PT"), Some(Lang::Pt));
        assert_eq!(Lang::from_code("en-US"), Some(Lang::En));
        assert_eq!(Lang::from_code("EN"), Some(Lang::En));
        assert_eq!(Lang::from_code("fr"), None);
        assert_eq!(Lang::from_code(""), None);
    }
}
