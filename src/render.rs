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
    pub fact: Option<&'a str>,
    pub confidence: f32,
    pub lang: Lang,
    pub answer: &'a str,
    pub citations: Vec<JsonCitation<'a>>,
    pub alternatives: &'a [String],
}

#[derive(Debug, Serialize)]
pub struct JsonCitation<'a> {
    pub quote: &'a str,
    pub paragraph: usize,
}

pub fn json(answer: &Answer) -> String {
    let value = JsonAnswer {
        answered: answer.is_answered(),
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
            })
            .collect(),
        alternatives: &answer.alternatives,
    };
    // Serializing plain strings and numbers cannot fail.
    serde_json::to_string(&value).unwrap_or_default()
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
    let _ = writeln!(out, "{}", answer.summary);
    if !answer.citations.is_empty() {
        out.push('\n');
        for citation in &answer.citations {
            let quote = citation
                .quote
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            let _ = writeln!(out, "  §{}  “{}”", citation.paragraph, quote);
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
        let label = match (answer.is_answered(), lang) {
            (true, Lang::Pt) => "Ver também:",
            (true, Lang::En) => "See also:",
            (false, Lang::Pt) => "Comandos mais próximos:",
            (false, Lang::En) => "Closest commands:",
        };
        let _ = writeln!(out, "{label} {}", commands.join(", "));
    }
    out
}
