//! Fact cards: `responses/facts/<command>.toml`, one fact each.
//!
//! A card is data: its command names, descriptions, the questions it answers, a short answer in
//! both languages and quotes of the article. The card never states where a quote is; the article
//! finds it, so a quote that is not verbatim cannot slip through.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::answer::{Citation, Lang};
use crate::article::Article;
use crate::problem::{line_of, Lines, Problem};
use crate::text::collapse_whitespace;

pub const MAX_NAME_CHARS: usize = 32;
pub const MAX_DESCRIPTION_CHARS: usize = 100;
pub const MAX_ANSWER_CHARS: usize = 600;
pub const MIN_QUESTIONS_PER_LANG: usize = 8;
pub const MAX_CITATIONS: usize = 3;
/// The commands citebot registers besides one per card, with their pt-BR names: a card may not
/// take one of these names (Discord rejects two commands of one name at registration).
pub const BUILT_IN_COMMANDS: [(&str, &str); 5] = [
    ("ask", "perguntar"),
    ("facts", "fatos"),
    ("source", "fonte"),
    ("teach", "ensinar"),
    ("stats", "estatisticas"),
];
/// A taught question is at most this long (a question, not a paragraph).
pub const MAX_LEARNED_QUESTION_CHARS: usize = 300;
/// Discord registers at most this many chat-input (slash) commands per application.
pub const MAX_CHAT_INPUT_COMMANDS: usize = 100;
/// A gloss is shown under its quote, in an embed field of at most 1024 characters.
pub const MAX_GLOSS_CHARS: usize = 400;
/// A quote shorter than this cannot stand as evidence ("a", "R2").
pub const MIN_QUOTE_CHARS: usize = 12;

/// A text in both languages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bilingual {
    pub en: String,
    pub pt: String,
}

impl Bilingual {
    pub fn get(&self, lang: Lang) -> &str {
        lang.pick(&self.pt, &self.en)
    }
}

/// A validated fact card with its quotes located in the article.
#[derive(Debug, Clone)]
pub struct FactCard {
    pub path: PathBuf,
    pub command: String,
    /// The command's name for pt-BR Discord clients.
    pub command_pt: String,
    pub aliases: Vec<String>,
    pub keywords: Vec<String>,
    pub description: Bilingual,
    pub questions_en: Vec<String>,
    pub questions_pt: Vec<String>,
    /// Questions moderators taught (`learned/<command>.toml`), in either language.
    pub learned: Vec<String>,
    pub answer: Bilingual,
    pub citations: Vec<Citation>,
}

impl FactCard {
    /// Every name the card answers to: command, pt-BR name, aliases.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        [self.command.as_str(), self.command_pt.as_str()]
            .into_iter()
            .chain(self.aliases.iter().map(String::as_str))
    }

    pub fn questions(&self) -> impl Iterator<Item = (Lang, &str)> {
        self.questions_en
            .iter()
            .map(|q| (Lang::En, q.as_str()))
            .chain(self.questions_pt.iter().map(|q| (Lang::Pt, q.as_str())))
    }

    pub fn paragraphs(&self) -> Vec<usize> {
        let mut paragraphs: Vec<usize> = self.citations.iter().map(|c| c.paragraph).collect();
        paragraphs.sort_unstable();
        paragraphs.dedup();
        paragraphs
    }
}

/// Discord's rule for command names: `^[-_'\p{L}\p{N}]{1,32}$`, and lowercase.
pub fn is_valid_command_name(name: &str) -> bool {
    let count = name.chars().count();
    (1..=MAX_NAME_CHARS).contains(&count)
        && name
            .chars()
            .all(|c| matches!(c, '-' | '_' | '\'') || c.is_alphabetic() || c.is_numeric())
        && !name.chars().any(char::is_uppercase)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCard {
    command: Spanned<String>,
    command_pt: Spanned<String>,
    #[serde(default)]
    aliases: Vec<Spanned<String>>,
    #[serde(default)]
    keywords: Vec<Spanned<String>>,
    description: RawBilingual,
    questions: Spanned<RawQuestions>,
    answer: RawBilingual,
    citations: Spanned<Vec<RawCitation>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBilingual {
    en: Spanned<String>,
    pt: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQuestions {
    en: Spanned<Vec<Spanned<String>>>,
    pt: Spanned<Vec<Spanned<String>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCitation {
    quote: Spanned<String>,
    /// An English rendering of the quote for readers of English; shown as a translation, never
    /// as a quote, and read by the index so an English question finds its Portuguese quote.
    #[serde(default)]
    gloss: Option<Spanned<String>>,
}

/// A card as read from disk, with the line of each name and question for cross-card checks.
pub struct ParsedCard {
    pub card: FactCard,
    /// (name, line) for command, command_pt and each alias.
    pub name_lines: Vec<(String, usize)>,
    /// (question, line) for each question.
    pub question_lines: Vec<(String, usize)>,
}

/// Parses and checks one card on its own. Cross-card checks (duplicates) are in `responses`.
pub fn parse_card(
    path: &Path,
    source: &str,
    article: Option<&Article>,
) -> Result<ParsedCard, Vec<Problem>> {
    let raw: RawCard = match toml::from_str(source) {
        Ok(raw) => raw,
        Err(err) => {
            let line = err.span().map_or(1, |span| line_of(source, span.start));
            return Err(vec![Problem::error(
                path,
                line,
                format!("invalid card: {}", err.message()),
            )]);
        }
    };
    let mut problems = Vec::new();
    let lines = Lines::new(source);
    let line = |span: std::ops::Range<usize>| lines.line_of(span.start);

    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    if stem != raw.command.get_ref() {
        problems.push(Problem::error(
            path,
            line(raw.command.span()),
            format!(
                "command `{}` does not match the file name `{stem}.toml`",
                raw.command.get_ref()
            ),
        ));
    }
    let mut name_lines = Vec::new();
    for (field, name) in [("command", &raw.command), ("command_pt", &raw.command_pt)]
        .into_iter()
        .chain(raw.aliases.iter().map(|a| ("alias", a)))
    {
        if !is_valid_command_name(name.get_ref()) {
            problems.push(Problem::error(
                path,
                line(name.span()),
                format!(
                    "{field} `{}` is not a valid Discord command name (1-32 lowercase letters, digits, - _ ')",
                    name.get_ref()
                ),
            ));
        }
        name_lines.push((name.get_ref().clone(), line(name.span())));
    }

    for (field, text, max) in [
        ("description.en", &raw.description.en, MAX_DESCRIPTION_CHARS),
        ("description.pt", &raw.description.pt, MAX_DESCRIPTION_CHARS),
        ("answer.en", &raw.answer.en, MAX_ANSWER_CHARS),
        ("answer.pt", &raw.answer.pt, MAX_ANSWER_CHARS),
    ] {
        let chars = text.get_ref().trim().chars().count();
        if chars == 0 {
            problems.push(Problem::error(
                path,
                line(text.span()),
                format!("{field} is empty"),
            ));
        } else if chars > max {
            problems.push(Problem::error(
                path,
                line(text.span()),
                format!("{field} is {chars} characters long; the limit is {max}"),
            ));
        }
    }

    let mut question_lines = Vec::new();
    for (lang, list) in [
        ("en", &raw.questions.get_ref().en),
        ("pt", &raw.questions.get_ref().pt),
    ] {
        let count = list
            .get_ref()
            .iter()
            .filter(|q| !q.get_ref().trim().is_empty())
            .count();
        if count < MIN_QUESTIONS_PER_LANG {
            problems.push(Problem::error(
                path,
                line(list.span()),
                format!(
                    "questions.{lang} has {count} question(s); at least {MIN_QUESTIONS_PER_LANG} are needed"
                ),
            ));
        }
        for question in list.get_ref() {
            if question.get_ref().trim().is_empty() {
                problems.push(Problem::error(
                    path,
                    line(question.span()),
                    "empty question",
                ));
            }
            question_lines.push((question.get_ref().clone(), line(question.span())));
        }
    }

    let citations_count = raw.citations.get_ref().len();
    if !(1..=MAX_CITATIONS).contains(&citations_count) {
        problems.push(Problem::error(
            path,
            line(raw.citations.span()),
            format!("{citations_count} citations; a card needs 1 to {MAX_CITATIONS}"),
        ));
    }
    let mut citations = Vec::new();
    for citation in raw.citations.get_ref() {
        if let Some(gloss) = &citation.gloss {
            let chars = gloss.get_ref().trim().chars().count();
            if chars == 0 || chars > MAX_GLOSS_CHARS {
                problems.push(Problem::error(
                    path,
                    line(gloss.span()),
                    format!(
                        "gloss is {chars} characters long; it must have 1 to {MAX_GLOSS_CHARS}"
                    ),
                ));
            }
        }
        if collapse_whitespace(citation.quote.get_ref())
            .chars()
            .count()
            < MIN_QUOTE_CHARS
        {
            problems.push(Problem::error(
                path,
                line(citation.quote.span()),
                format!("quote is shorter than {MIN_QUOTE_CHARS} characters: a quote must say something on its own"),
            ));
            continue;
        }
        // Without a readable article the card is still checked; its quotes cannot be.
        let Some(article) = article else {
            continue;
        };
        match article.locate(citation.quote.get_ref()) {
            Some(found) => citations.push(Citation {
                gloss: citation
                    .gloss
                    .as_ref()
                    .map(|g| collapse_whitespace(g.get_ref())),
                ..found
            }),
            None => problems.push(Problem::error(
                path,
                line(citation.quote.span()),
                format!(
                    "quote is not verbatim in one paragraph of the article: \"{}\"",
                    citation.quote.get_ref()
                ),
            )),
        }
    }

    if !problems.is_empty() {
        return Err(problems);
    }
    let strings = |list: &Vec<Spanned<String>>| -> Vec<String> {
        list.iter()
            .map(|s| s.get_ref().trim().to_string())
            .collect()
    };
    let questions = raw.questions.into_inner();
    Ok(ParsedCard {
        card: FactCard {
            path: path.to_path_buf(),
            command: raw.command.into_inner(),
            command_pt: raw.command_pt.into_inner(),
            aliases: strings(&raw.aliases),
            keywords: strings(&raw.keywords),
            description: Bilingual {
                en: raw.description.en.into_inner(),
                pt: raw.description.pt.into_inner(),
            },
            questions_en: strings(questions.en.get_ref()),
            questions_pt: strings(questions.pt.get_ref()),
            learned: Vec::new(),
            answer: Bilingual {
                en: raw.answer.en.into_inner(),
                pt: raw.answer.pt.into_inner(),
            },
            citations,
        },
        name_lines,
        question_lines,
    })
}

/// `learned/<command>.toml`: questions taught for one card. Only questions: the answer and its
/// quotes stay in the card, so teaching can never put words in the article's mouth.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LearnedFile {
    #[serde(default)]
    pub questions: Vec<Spanned<String>>,
}

/// A learned file's questions with their lines, or its problems.
pub fn parse_learned(path: &Path, source: &str) -> Result<Vec<(String, usize)>, Vec<Problem>> {
    let raw: LearnedFile = toml::from_str(source).map_err(|err| {
        let line = err.span().map_or(1, |span| line_of(source, span.start));
        vec![Problem::error(
            path,
            line,
            format!("invalid learned questions: {}", err.message()),
        )]
    })?;
    let lines = Lines::new(source);
    let mut problems = Vec::new();
    let mut questions = Vec::new();
    for question in raw.questions {
        let line = lines.line_of(question.span().start);
        let text = question.get_ref().trim();
        let chars = text.chars().count();
        if chars == 0 {
            problems.push(Problem::error(path, line, "empty question"));
        } else if chars > MAX_LEARNED_QUESTION_CHARS {
            problems.push(Problem::error(
                path,
                line,
                format!("a taught question is at most {MAX_LEARNED_QUESTION_CHARS} characters; this one has {chars}"),
            ));
        } else {
            questions.push((text.to_string(), line));
        }
    }
    if problems.is_empty() {
        Ok(questions)
    } else {
        Err(problems)
    }
}

/// The text of a learned file holding `questions`.
pub fn learned_file_text(command: &str, questions: &[String]) -> String {
    let mut text = format!(
        "# Questions taught with /teach, each read as another way to ask /{command}.\n# Only questions belong here; the answer and its quotes are in facts/{command}.toml.\nquestions = [\n"
    );
    for question in questions {
        // TOML basic strings are JSON-compatible for the characters a question holds.
        let quoted = serde_json::to_string(question).unwrap_or_else(|_| "\"\"".into());
        text.push_str(&format!("    {quoted},\n"));
    }
    text.push_str("]\n");
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_learned_file_round_trips_and_refuses_long_or_empty_questions() {
        let path = Path::new("learned/h20-deal.toml");
        let questions = vec![
            "quem paga os 15%?".to_string(),
            "he said \"why\"\\ now".to_string(),
        ];
        let text = learned_file_text("h20-deal", &questions);
        let parsed = parse_learned(path, &text).expect("valid");
        let texts: Vec<String> = parsed.iter().map(|(q, _)| q.clone()).collect();
        assert_eq!(texts, questions);
        assert_eq!(parsed[0].1, 4, "line numbers point at the question");
        let long = learned_file_text("h20-deal", &["x".repeat(301)]);
        let problems = parse_learned(path, &long).expect_err("too long");
        assert!(problems[0].message.contains("300"), "{problems:?}");
        let problems = parse_learned(path, "questions = [\"  \"]").expect_err("empty");
        assert_eq!(problems[0].line, 1);
        let problems = parse_learned(path, "answer = \"made up\"").expect_err("only questions");
        assert!(problems[0].message.contains("answer"), "{problems:?}");
    }

    #[test]
    fn discord_name_rule() {
        for ok in [
            "why-r2-delayed",
            "porque-r2-atrasou",
            "h20_deal",
            "autossuficiência",
            "a",
        ] {
            assert!(is_valid_command_name(ok), "{ok}");
        }
        let too_long = "a".repeat(33);
        for bad in ["", "Why", "why r2", "why?", too_long.as_str(), "r2/delay"] {
            assert!(!is_valid_command_name(bad), "{bad}");
        }
    }
}
