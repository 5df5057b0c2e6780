//! Renderings of an [`Answer`] for the command-line tool: readable text and one JSON object.
//!
//! The Discord embed is another rendering of the same `Answer`, in the `discord` adapter.

use std::fmt::Write;

use serde::Serialize;

use crate::answer::{Answer, Lang};
use crate::article::ArticleMeta;

/// The `--json` shape, one object per question.
#[derive(Debug, Serialize)]
pub struct JsonAnswer<'a> {
    pub answered: bool,
    /// "Did you mean": no answer asserted; `alternatives` are the suggestions, best first.
    pub suggested: bool,
    /// Small talk (thanks, greetings): a friendly line, no card.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub chit_chat: bool,
    pub fact: Option<&'a str>,
    pub confidence: f32,
    pub lang: Lang,
    pub answer: &'a str,
    pub citations: Vec<JsonCitation<'a>>,
    pub alternatives: &'a [String],
    /// The part of the message this answers, when it asked several things.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clause: Option<&'a str>,
    /// Answers to the message's other questions.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub more: Vec<JsonAnswer<'a>>,
}

#[derive(Debug, Serialize)]
pub struct JsonCitation<'a> {
    pub quote: &'a str,
    pub paragraph: usize,
    /// The card's English rendering: a translation, not the article's words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gloss: Option<&'a str>,
}

pub fn json(answer: &Answer) -> String {
    // Serializing plain strings and numbers cannot fail.
    serde_json::to_string(&json_value(answer)).unwrap_or_default()
}

fn json_value(answer: &Answer) -> JsonAnswer<'_> {
    JsonAnswer {
        answered: answer.is_answered(),
        suggested: answer.is_suggested(),
        chit_chat: answer.is_chit_chat(),
        fact: answer.fact(),
        confidence: (answer.confidence * 1000.0).round() / 1000.0,
        lang: answer.lang,
        answer: &answer.summary,
        citations: answer
            .citations
            .iter()
            .map(|c| JsonCitation {
                quote: &c.quote,
                paragraph: c.paragraph,
                gloss: c.gloss.as_deref(),
            })
            .collect(),
        alternatives: &answer.alternatives,
        clause: answer.clause.as_deref(),
        more: answer.more.iter().map(json_value).collect(),
    }
}

/// One line naming the source, in the reply language.
pub fn source_line(meta: &ArticleMeta, lang: Lang) -> String {
    match lang {
        Lang::Pt => format!(
            "Fonte: «{}» (artigo em {}, relata uma reportagem do {})",
            meta.title_pt, meta.language, meta.relays
        ),
        Lang::En => format!(
            "Source: \"{}\" ({} article relaying a {} report)",
            meta.title, meta.language, meta.relays
        ),
    }
}

pub fn terminal(answer: &Answer, meta: &ArticleMeta) -> String {
    let lang = answer.lang;
    let mut out = String::new();
    for (i, part) in std::iter::once(answer).chain(&answer.more).enumerate() {
        if i > 0 {
            out.push('\n');
        }
        if let Some(clause) = &part.clause {
            let _ = writeln!(out, "» {clause}");
        }
        let _ = writeln!(out, "{}", part.summary);
        if !part.citations.is_empty() {
            out.push('\n');
            for citation in &part.citations {
                let quote = crate::text::collapse_whitespace(&citation.quote);
                let _ = writeln!(out, "  §{}  “{}”", citation.paragraph, quote);
                if let (Some(gloss), Lang::En) = (&citation.gloss, lang) {
                    let _ = writeln!(out, "        (translation, not a quote: {gloss})");
                }
            }
        }
    }
    out.push('\n');
    if answer.is_answered() {
        let _ = writeln!(out, "{}", source_line(meta, lang));
        let _ = writeln!(
            out,
            "{} {:.2}",
            lang.pick("Confiança:", "Confidence:"),
            answer.confidence
        );
    }
    if !answer.alternatives.is_empty() {
        let commands: Vec<String> = answer
            .alternatives
            .iter()
            .map(|c| format!("/{c}"))
            .collect();
        let label = match (answer.is_answered(), answer.is_suggested(), lang) {
            (true, _, Lang::Pt) => "Ver também:",
            (true, _, Lang::En) => "See also:",
            (false, true, _) => "→",
            (false, false, Lang::Pt) => "Comandos mais próximos:",
            (false, false, Lang::En) => "Closest commands:",
        };
        let _ = writeln!(out, "{label} {}", commands.join(", "));
    }
    out
}
