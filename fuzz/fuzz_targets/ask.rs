//! Fuzzes the path a Discord question takes: `Index::ask`, `Index::suggest` (autocomplete) and
//! `answer_embed`, on arbitrary UTF-8, checking what `tests/integration/props.rs` checks: no panic, a
//! well-formed answer, and an embed within Discord's limits.
//!
//! `cargo +nightly fuzz run ask` from the repository root (see README).

#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use citebot::discord::embed::{
    answer_embed, escape_user_text, DESCRIPTION_MAX, EMBED_TOTAL_MAX, FIELDS_MAX, FIELD_NAME_MAX,
    FIELD_VALUE_MAX, FOOTER_MAX, TITLE_MAX,
};
use citebot::{Index, Lang, Matched, Responses};
use libfuzzer_sys::fuzz_target;

/// Built once per fuzzing process from the shipped `responses/` (or `CITEBOT_RESPONSES`).
fn index() -> &'static Index {
    static INDEX: OnceLock<Index> = OnceLock::new();
    INDEX.get_or_init(|| {
        let dir = std::env::var_os("CITEBOT_RESPONSES")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../responses"));
        let responses = Responses::load(&dir).unwrap_or_else(|problems| {
            panic!("{}: invalid responses:\n{problems:?}", dir.display())
        });
        Index::build(responses)
    })
}

fn chars(value: &serde_json::Value) -> usize {
    value.as_str().map_or(0, |s| s.chars().count())
}

fuzz_target!(|data: &[u8]| {
    // The whole input is the question (so that any text file is a seed); its length picks the
    // reply language, as `/ask` forces the client's locale and a mention leaves it to the index.
    let lang = match data.len() % 3 {
        0 => None,
        1 => Some(Lang::Pt),
        _ => Some(Lang::En),
    };
    let question = String::from_utf8_lossy(data);
    let index = index();

    let answer = index.ask(&question, lang);
    assert!(
        (0.0..=1.0).contains(&answer.confidence),
        "confidence {}",
        answer.confidence
    );
    if let Some(lang) = lang {
        assert_eq!(answer.lang, lang);
    }
    let article = &index.responses().article;
    match &answer.matched {
        Matched::Nothing => assert!(answer.citations.is_empty(), "a refusal with citations"),
        Matched::Fact(command) => {
            assert!(index.card(command).is_some(), "unknown card {command}");
            assert!(!answer.citations.is_empty(), "an answer without citations");
        }
        Matched::Passage { paragraph } => {
            assert_eq!(answer.citations.len(), 1);
            assert_eq!(answer.citations[0].paragraph, *paragraph);
        }
    }
    for citation in &answer.citations {
        assert_eq!(
            article.text.get(citation.start..citation.end),
            Some(citation.quote.as_str()),
            "a citation that is not the article's text"
        );
        let paragraph = article
            .paragraphs
            .iter()
            .find(|p| p.number == citation.paragraph)
            .expect("the cited paragraph exists");
        assert!(paragraph.start <= citation.start && citation.end <= paragraph.end);
    }

    let rendered = answer_embed(&answer, index);
    let embed = serde_json::to_value(&rendered.embed).expect("an embed serializes");
    let title = chars(&embed["title"]);
    let description = chars(&embed["description"]);
    let footer = chars(&embed["footer"]["text"]);
    assert!(title <= TITLE_MAX, "title {title}");
    assert!(description <= DESCRIPTION_MAX, "description {description}");
    assert!(footer <= FOOTER_MAX, "footer {footer}");
    let no_fields = Vec::new();
    let fields = embed["fields"].as_array().unwrap_or(&no_fields);
    assert!(fields.len() <= FIELDS_MAX, "{} fields", fields.len());
    let mut total = title + description + footer;
    for field in fields {
        let (name, value) = (chars(&field["name"]), chars(&field["value"]));
        assert!(
            name <= FIELD_NAME_MAX && value <= FIELD_VALUE_MAX,
            "field {name}/{value}"
        );
        total += name + value;
    }
    assert!(total <= EMBED_TOTAL_MAX, "embed total {total}");

    let suggestions = index.suggest(&question, 25);
    assert!(suggestions.len() <= 25, "{} suggestions", suggestions.len());

    let escaped = escape_user_text(&question);
    assert!(!escaped.contains("@everyone") && !escaped.contains("@here"));
});
