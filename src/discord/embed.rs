//! Answers rendered as Discord embeds, always within Discord's limits and never pinging anyone.
//!
//! Pure functions over [`Answer`]: they build serenity builders but send nothing, so the limits
//! are unit-tested here and the handler only ships what these return.

use serenity::builder::{CreateAllowedMentions, CreateEmbed, CreateEmbedFooter};

use crate::answer::{Answer, Citation, Lang, Matched};
use crate::article::ArticleMeta;
use crate::index::Index;
use crate::render::source_line;

pub const TITLE_MAX: usize = 256;
pub const DESCRIPTION_MAX: usize = 4096;
pub const FIELD_NAME_MAX: usize = 256;
pub const FIELD_VALUE_MAX: usize = 1024;
pub const FOOTER_MAX: usize = 2048;
pub const FIELDS_MAX: usize = 25;
pub const EMBED_TOTAL_MAX: usize = 6000;
pub const CONTENT_MAX: usize = 2000;
pub const CHOICE_MAX: usize = 100;
/// Autocomplete offers at most this many choices.
pub const CHOICES_MAX: usize = 25;

const OK_COLOUR: u32 = 0x2b_8a_3e;
const PASSAGE_COLOUR: u32 = 0xe0_a1_00;
const REFUSAL_COLOUR: u32 = 0x86_8e_96;

/// The ids Discord gave citebot's commands, by name, for clickable `</name:id>` mentions.
pub type CommandMentions = std::collections::HashMap<String, u64>;

/// A clickable `</name:id>` when the command's id is known, else `` `/name` ``.
pub fn command_ref(name: &str, mentions: &CommandMentions) -> String {
    match mentions.get(name) {
        Some(id) => format!("</{name}:{id}>"),
        None => format!("`/{name}`"),
    }
}

/// Mentions in anything citebot sends ping nobody: no `parse`, no replied user.
pub fn no_pings() -> CreateAllowedMentions {
    CreateAllowedMentions::new().replied_user(false)
}

/// Cuts `text` to at most `max` characters, ending with an ellipsis when cut.
pub fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let kept: String = text.chars().take(max.saturating_sub(1)).collect();
    format!("{}…", kept.trim_end())
}

/// Escapes Discord markdown and neutralises mentions in text that came from a user.
pub fn escape_user_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(
            c,
            '\\' | '*' | '_' | '~' | '`' | '|' | '>' | '#' | '[' | ']' | '(' | ')' | '-'
        ) {
            out.push('\\');
        }
        out.push(c);
        // A zero-width space after '@' breaks @everyone/@here even where mentions would parse.
        if c == '@' {
            out.push('\u{200b}');
        }
    }
    out
}

/// Undoes [`escape_user_text`]: the question as it was asked, read back from an embed citebot
/// made (a suggestion's answer shows the question of the message it was suggested under).
pub fn unescape_user_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(next) = chars.next() {
                    out.push(next);
                }
            }
            '@' => {
                out.push('@');
                if chars.peek() == Some(&'\u{200b}') {
                    chars.next();
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// The question an answer embed shows above its answer (`» question`), if any.
pub fn shown_question(description: &str) -> Option<String> {
    let first = description.lines().next()?;
    first
        .strip_prefix("» ")
        .map(unescape_user_text)
        .filter(|q| !q.trim().is_empty())
}

/// A quote block, and for an English reader the card's gloss under it, marked as a translation
/// so it is never taken for the article's words.
fn citation_block(citation: &Citation, lang: Lang) -> String {
    let quote = quote_block(&citation.quote);
    match (&citation.gloss, lang) {
        (Some(gloss), Lang::En) => format!(
            "{quote}\n*Translation (not a quote):* {}",
            shorten(gloss, FIELD_VALUE_MAX / 2)
        ),
        _ => quote,
    }
}

/// A quote block: every line of the quote prefixed with `> `.
fn quote_block(quote: &str) -> String {
    let flat = quote.split_whitespace().collect::<Vec<_>>().join(" ");
    format!("> {}", shorten(&flat, FIELD_VALUE_MAX - 2))
}

pub struct Rendered {
    pub embed: CreateEmbed,
    /// Characters counted against the 6000 total, for tests and logs.
    pub total_chars: usize,
}

/// The embed for an answer: summary, one quote block per citation with its §N, and the source.
pub fn answer_embed(answer: &Answer, index: &Index, mentions: &CommandMentions) -> Rendered {
    let lang = answer.lang;
    let meta = &index.responses().article.meta;
    let (title, colour) = match &answer.matched {
        Matched::Fact(command) => (
            index
                .card(command)
                .map(|card| card.description.get(lang).to_string())
                .unwrap_or_else(|| command.clone()),
            OK_COLOUR,
        ),
        Matched::Passage { paragraph } => (
            format!(
                "{} (§{paragraph})",
                lang.pick(
                    "Passagem direta do artigo",
                    "Direct passage from the article"
                )
            ),
            PASSAGE_COLOUR,
        ),
        Matched::Suggested => (
            lang.pick("Você quis dizer?", "Did you mean?").to_string(),
            PASSAGE_COLOUR,
        ),
        Matched::Nothing => (
            lang.pick("O artigo não responde a isso", "Not in the article")
                .to_string(),
            REFUSAL_COLOUR,
        ),
        Matched::ChitChat => ("citebot".to_string(), OK_COLOUR),
    };
    let mut description = match &answer.clause {
        Some(clause) => format!("» {}\n{}", escape_user_text(clause), answer.summary),
        None => answer.summary.clone(),
    };
    if !answer.is_answered() && !answer.alternatives.is_empty() {
        let commands: Vec<String> = answer
            .alternatives
            .iter()
            .map(|c| command_ref(c, mentions))
            .collect();
        description.push_str(&format!(
            "\n\n{} {}",
            lang.pick("Talvez você procure:", "Maybe you are looking for:"),
            commands.join(" · ")
        ));
    }
    let mut fields: Vec<(String, String)> = answer
        .citations
        .iter()
        .take(FIELDS_MAX)
        .map(|c| (format!("§{}", c.paragraph), citation_block(c, lang)))
        .collect();
    // The message's other questions: one field each, headed by the part it answers.
    for part in &answer.more {
        let clause = part.clause.as_deref().unwrap_or_default();
        let mut value = part.summary.clone();
        if let Some(command) = part.fact() {
            value = format!("{} {value}", command_ref(command, mentions));
        }
        for c in &part.citations {
            value.push_str(&format!("\n§{} {}", c.paragraph, citation_block(c, lang)));
        }
        fields.push((format!("» {}", escape_user_text(clause)), value));
    }
    let footer = footer_text(meta, lang, answer);
    build(&title, &description, &fields, &footer, colour)
}

fn footer_text(meta: &ArticleMeta, lang: Lang, answer: &Answer) -> String {
    let mut footer = source_line(meta, lang);
    if answer.is_answered() {
        footer.push_str(&format!(
            " · {} {:.0}%",
            lang.pick("confiança", "confidence"),
            answer.confidence * 100.0
        ));
    }
    footer
}

/// Assembles an embed, shortening each part to its limit and the description to the total.
pub fn build(
    title: &str,
    description: &str,
    fields: &[(String, String)],
    footer: &str,
    colour: u32,
) -> Rendered {
    let title = shorten(title, TITLE_MAX);
    let footer = shorten(footer, FOOTER_MAX);
    let fields: Vec<(String, String)> = fields
        .iter()
        .take(FIELDS_MAX)
        .map(|(n, v)| (shorten(n, FIELD_NAME_MAX), shorten(v, FIELD_VALUE_MAX)))
        .collect();
    let mut fields = fields;
    let field_chars = |fields: &[(String, String)]| -> usize {
        fields
            .iter()
            .map(|(n, v)| n.chars().count() + v.chars().count())
            .sum()
    };
    // Keep room for at least a short description; drop trailing fields past the 6000 total.
    let head = title.chars().count() + footer.chars().count();
    while !fields.is_empty() && head + field_chars(&fields) + 80 > EMBED_TOTAL_MAX {
        fields.pop();
    }
    let fixed = head + field_chars(&fields);
    let room = EMBED_TOTAL_MAX.saturating_sub(fixed).min(DESCRIPTION_MAX);
    let description = shorten(description, room.max(1));
    let total_chars = fixed + description.chars().count();
    let mut embed = CreateEmbed::new()
        .title(title)
        .description(description)
        .colour(colour)
        .footer(CreateEmbedFooter::new(footer));
    for (name, value) in fields {
        embed = embed.field(name, value, false);
    }
    Rendered { embed, total_chars }
}

/// `/facts`: one line per command.
pub fn facts_embed(index: &Index, lang: Lang, mentions: &CommandMentions) -> Rendered {
    let lines: Vec<String> = index
        .cards()
        .iter()
        .map(|card| {
            format!(
                "{} — {}",
                command_ref(&card.command, mentions),
                card.description.get(lang)
            )
        })
        .collect();
    let title = lang.pick("Fatos que o citebot conhece", "Facts citebot knows");
    let ask = command_ref("ask", mentions);
    let hint = match lang {
        Lang::Pt => format!("Ou pergunte o que quiser com {ask} ou mencionando o bot."),
        Lang::En => format!("Or ask anything with {ask} or by mentioning the bot."),
    };
    let footer = source_line(&index.responses().article.meta, lang);
    build(
        title,
        &format!("{}\n\n{hint}", lines.join("\n")),
        &[],
        &footer,
        OK_COLOUR,
    )
}

/// `/source`: the article's metadata and how citations work.
pub fn source_embed(index: &Index, lang: Lang) -> Rendered {
    let meta = &index.responses().article.meta;
    let article = &index.responses().article;
    let title = lang.pick(meta.title_pt.as_str(), meta.title.as_str());
    let description = match lang {
        Lang::Pt => format!(
            "Artigo em {} que relata uma reportagem do {}; {} parágrafos.\n\nCada resposta cita o artigo palavra por palavra, com o número do parágrafo (§N, contando os títulos). Quando o artigo não responde, o citebot di-lo em vez de adivinhar.",
            meta.language, meta.relays, article.paragraphs.len()
        ),
        Lang::En => format!(
            "A {} article relaying a {} report; {} paragraphs.\n\nEvery answer quotes the article word for word, with its paragraph number (§N, headings counted). When the article does not answer, citebot says so instead of guessing.",
            meta.language, meta.relays, article.paragraphs.len()
        ),
    };
    build(
        title,
        &description,
        &[],
        &source_line(meta, lang),
        OK_COLOUR,
    )
}

/// A mention with no question.
pub fn help_embed(lang: Lang, mentions: &CommandMentions) -> Rendered {
    let also = ["ask", "facts", "source"]
        .map(|name| command_ref(name, mentions))
        .join(", ");
    let (title, description) = match lang {
        Lang::Pt => (
            "Pergunte sobre o artigo",
            format!("Escreva a pergunta depois da menção, por exemplo: `@citebot por que o R2 atrasou?`\nTambém: {also}."),
        ),
        Lang::En => (
            "Ask me about the article",
            format!("Write the question after the mention, e.g. `@citebot why was R2 delayed?`\nAlso: {also}."),
        ),
    };
    build(title, &description, &[], "citebot", OK_COLOUR)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(rendered: &Rendered) -> serde_json::Value {
        serde_json::to_value(&rendered.embed).expect("embed serializes")
    }

    #[test]
    fn an_escaped_question_reads_back_as_asked() {
        for question in [
            "why was R2 delayed?",
            "*bold* _x_ `code` @everyone \\ > #h [a](b) -- ~~s~~ |spoiler|",
        ] {
            assert_eq!(unescape_user_text(&escape_user_text(question)), question);
            let description = format!("» {}\nThe answer.", escape_user_text(question));
            assert_eq!(shown_question(&description).as_deref(), Some(question));
        }
        assert_eq!(shown_question("The answer only."), None);
    }

    #[test]
    fn shorten_counts_characters_and_marks_the_cut() {
        assert_eq!(shorten("abc", 3), "abc");
        assert_eq!(shorten("abcdef", 4), "abc…");
        assert_eq!(shorten("ééééé", 3).chars().count(), 3);
    }

    #[test]
    fn oversized_parts_are_shortened_to_discord_limits() {
        let long = "x".repeat(10_000);
        let fields: Vec<(String, String)> = (0..30)
            .map(|i| (long.clone(), format!("{i}{long}")))
            .collect();
        let rendered = build(&long, &long, &fields, &long, 0);
        let value = json(&rendered);
        assert!(value["title"].as_str().expect("title").chars().count() <= TITLE_MAX);
        assert!(
            value["description"]
                .as_str()
                .expect("description")
                .chars()
                .count()
                <= DESCRIPTION_MAX
        );
        let fields = value["fields"].as_array().expect("fields");
        assert!(fields.len() <= FIELDS_MAX);
        for field in fields {
            assert!(field["value"].as_str().expect("value").chars().count() <= FIELD_VALUE_MAX);
            assert!(field["name"].as_str().expect("name").chars().count() <= FIELD_NAME_MAX);
        }
        assert!(
            rendered.total_chars <= EMBED_TOTAL_MAX,
            "{}",
            rendered.total_chars
        );
    }

    fn shipped_index() -> Index {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("responses");
        Index::build(crate::Responses::load(&dir).expect("valid responses"))
    }

    #[test]
    fn a_summary_shows_each_card_as_a_part_within_discords_limits() {
        let index = shipped_index();
        let answer = index.ask("tldr pls", Some(Lang::En));
        let parts: Vec<&str> = answer.facts().collect();
        assert!(parts.len() >= 2, "{parts:?}");
        let rendered = answer_embed(&answer, &index, &CommandMentions::new());
        assert!(
            rendered.total_chars <= EMBED_TOTAL_MAX,
            "{}",
            rendered.total_chars
        );
        let value = json(&rendered);
        let second = index
            .cards()
            .iter()
            .find(|card| card.command == parts[1])
            .expect("the second part's card");
        let heading = format!("» {}", escape_user_text(&second.description.en));
        let fields = value["fields"].as_array().expect("fields");
        assert!(
            fields.iter().any(|f| f["name"] == heading.as_str()),
            "no field {heading:?} in {fields:?}"
        );
    }

    #[test]
    fn each_kind_of_answer_says_what_it_is() {
        let index = shipped_index();
        let article = &index.responses().article;
        let sentence = &article.sentences[3];
        let passage = Answer {
            matched: Matched::Passage {
                paragraph: sentence.paragraph,
            },
            confidence: 0.9,
            lang: Lang::En,
            summary: crate::answer::passage_text(Lang::En).to_string(),
            citations: vec![article.citation_for(sentence)],
            alternatives: vec![],
            clause: None,
            more: vec![],
        };
        let value = json(&answer_embed(&passage, &index, &CommandMentions::new()));
        let title = value["title"].as_str().expect("title");
        assert!(
            title.starts_with("Direct passage from the article (§"),
            "{title}"
        );
        assert_eq!(
            value["fields"][0]["name"],
            format!("§{}", sentence.paragraph)
        );

        let refusal = index.ask("who is the ceo of deepseek?", Some(Lang::Pt));
        let value = json(&answer_embed(&refusal, &index, &CommandMentions::new()));
        assert_eq!(value["title"], "O artigo não responde a isso");
        assert!(value
            .get("fields")
            .is_none_or(|f| f.as_array().is_none_or(Vec::is_empty)));
    }

    #[test]
    fn no_pings_allows_no_mention_at_all() {
        let value = serde_json::to_value(no_pings()).expect("serializes");
        assert_eq!(value["parse"], serde_json::json!([]));
        assert_eq!(value["users"], serde_json::json!([]));
        assert_eq!(value["roles"], serde_json::json!([]));
        assert_eq!(value["replied_user"], false);
    }

    #[test]
    fn user_text_is_escaped_and_cannot_mention() {
        let escaped = escape_user_text("@everyone **bold** <@&123> `code`");
        assert!(!escaped.contains("@everyone"));
        assert!(escaped.contains("\\*\\*bold\\*\\*"));
        assert!(escaped.contains("\\`code\\`"));
    }
}
