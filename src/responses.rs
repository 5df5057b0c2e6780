//! Loading and validating the responses folder: the article, its metadata, the concept lexicon
//! and every fact card.
//!
//! Layout of the folder:
//! - `article.toml`: the article's metadata (`title`, `title_pt`, `language`, `relays`, `text`);
//! - the article text named by `text` (never edited);
//! - `lexicon.toml`: concepts and their words (see [`crate::lexicon`]);
//! - `facts/<command>.toml`: one fact card each (see [`crate::facts`]);
//! - `learned/<command>.toml` (optional): questions moderators taught for that card (`/teach`).
//!
//! [`Responses::load`] runs every check and returns every problem, so `citebot check`, `ask` and
//! the bot share one definition of valid data.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use crate::article::{Article, ArticleMeta};
use crate::facts::{
    parse_card, parse_learned, FactCard, BUILT_IN_COMMANDS, MAX_CHAT_INPUT_COMMANDS,
};
use crate::lexicon::Lexicon;
use crate::problem::{line_of, Problem, Problems};
use crate::text::{is_stopword, tokenize};

/// A valid responses folder.
#[derive(Debug, Clone)]
pub struct Responses {
    pub dir: PathBuf,
    pub article: Article,
    pub lexicon: Lexicon,
    /// Sorted by command.
    pub cards: Vec<FactCard>,
    /// Problems that do not stop loading (e.g. a paragraph no card cites).
    pub warnings: Vec<Problem>,
}

impl Responses {
    /// Loads and validates `dir`. On any error, returns every problem found (warnings included).
    pub fn load(dir: &Path) -> Result<Responses, Problems> {
        // The lexicon (its Snowball stems above all) takes about as long as the article and the
        // cards together and needs neither: it is parsed on a second thread meanwhile.
        let lexicon_path = dir.join("lexicon.toml");
        let (mut problems, lexicon, card_problems, cards, article) = std::thread::scope(|scope| {
            let lexicon = scope.spawn(|| load_lexicon(&lexicon_path));
            let mut problems = Vec::new();
            let article = load_article(dir, &mut problems);
            // A broken article does not hide the cards' own problems.
            let mut card_problems = Vec::new();
            let cards = load_cards(dir, article.as_ref(), &mut card_problems);
            let (lexicon, lexicon_problems) = lexicon
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            problems.extend(lexicon_problems);
            (problems, lexicon, card_problems, cards, article)
        });
        problems.extend(card_problems);
        let Some(article) = article else {
            return Err(Problems(problems));
        };
        if problems
            .iter()
            .all(|p| p.severity != crate::problem::Severity::Error)
        {
            problems.extend(uncited_paragraphs(dir, &article, &cards));
            problems.extend(unknown_summary_cards(dir, &article, &cards));
        }
        let result = Problems(problems);
        if result.has_errors() {
            return Err(result);
        }
        Ok(Responses {
            dir: dir.to_path_buf(),
            article,
            lexicon,
            cards,
            warnings: result.0,
        })
    }

    pub fn card(&self, name: &str) -> Option<&FactCard> {
        self.cards
            .iter()
            .find(|card| card.names().any(|n| n == name))
    }
}

/// The lexicon, or an empty one and what is wrong with the file.
fn load_lexicon(path: &Path) -> (Lexicon, Vec<Problem>) {
    match fs::read_to_string(path) {
        Ok(source) => match Lexicon::parse(path, &source) {
            Ok(lexicon) => (lexicon, Vec::new()),
            Err(found) => (Lexicon::default(), found),
        },
        Err(err) => (
            Lexicon::default(),
            vec![Problem::error(path, 1, format!("cannot read: {err}"))],
        ),
    }
}

fn load_article(dir: &Path, problems: &mut Vec<Problem>) -> Option<Article> {
    let meta_path = dir.join("article.toml");
    let source = match fs::read_to_string(&meta_path) {
        Ok(source) => source,
        Err(err) => {
            problems.push(Problem::error(&meta_path, 1, format!("cannot read: {err}")));
            return None;
        }
    };
    let meta: ArticleMeta = match toml::from_str(&source) {
        Ok(meta) => meta,
        Err(err) => {
            let line = err.span().map_or(1, |span| line_of(&source, span.start));
            problems.push(Problem::error(
                &meta_path,
                line,
                format!("invalid article metadata: {}", err.message()),
            ));
            return None;
        }
    };
    let text_path = dir.join(&meta.text);
    match fs::read_to_string(&text_path) {
        Ok(text) if text.trim().is_empty() => {
            problems.push(Problem::error(&text_path, 1, "the article is empty"));
            None
        }
        Ok(text) => {
            let article = Article::new(meta, text);
            let lines = article
                .text
                .lines()
                .filter(|l| !l.trim().is_empty())
                .count();
            if article.paragraphs.len() < lines {
                problems.push(Problem::warning(
                    &text_path,
                    1,
                    format!(
                        "{lines} lines of text make only {} paragraph(s): paragraphs (§N) are blocks separated by blank lines; put a blank line between paragraphs",
                        article.paragraphs.len()
                    ),
                ));
            }
            Some(article)
        }
        Err(err) => {
            problems.push(Problem::error(
                &text_path,
                1,
                format!("cannot read the article: {err}"),
            ));
            None
        }
    }
}

fn load_cards(dir: &Path, article: Option<&Article>, problems: &mut Vec<Problem>) -> Vec<FactCard> {
    let facts_dir = dir.join("facts");
    let mut paths: Vec<PathBuf> = match fs::read_dir(&facts_dir) {
        Ok(entries) => {
            let mut cards = Vec::new();
            for path in entries.filter_map(Result::ok).map(|e| e.path()) {
                let extension = path.extension().and_then(|e| e.to_str());
                if extension == Some("toml") && path.is_file() {
                    cards.push(path);
                } else if path.is_dir() || extension.is_some_and(|e| e.eq_ignore_ascii_case("toml"))
                {
                    // Silently skipping a card someone meant to add hides it from them.
                    problems.push(Problem::error(
                        &path,
                        1,
                        "not read: a card is a file facts/<command>.toml (lowercase .toml, no subfolders)",
                    ));
                }
            }
            cards
        }
        Err(err) => {
            problems.push(Problem::error(
                &facts_dir,
                1,
                format!("cannot read the facts folder: {err}"),
            ));
            return Vec::new();
        }
    };
    paths.sort();
    let mut cards = Vec::new();
    let mut names: HashMap<String, (PathBuf, usize)> = HashMap::new();
    let mut questions: HashMap<String, (PathBuf, usize)> = HashMap::new();
    let built_in: Vec<&str> = BUILT_IN_COMMANDS
        .iter()
        .flat_map(|(en, pt)| [*en, *pt])
        .collect();
    let room = MAX_CHAT_INPUT_COMMANDS - BUILT_IN_COMMANDS.len();
    for (position, path) in paths.into_iter().enumerate() {
        if position == room {
            problems.push(Problem::error(
                &path,
                1,
                format!(
                    "too many cards: Discord registers at most {MAX_CHAT_INPUT_COMMANDS} slash commands, {} of them built in, so at most {room} cards",
                    BUILT_IN_COMMANDS.len()
                ),
            ));
        }
        let source = match fs::read_to_string(&path) {
            Ok(source) => source,
            Err(err) => {
                problems.push(Problem::error(&path, 1, format!("cannot read: {err}")));
                continue;
            }
        };
        let parsed = match parse_card(&path, &source, article) {
            Ok(parsed) => parsed,
            Err(found) => {
                problems.extend(found);
                continue;
            }
        };
        let mut duplicate = false;
        for (name, line) in &parsed.name_lines {
            if built_in.contains(&name.as_str()) {
                problems.push(Problem::error(
                    &path,
                    *line,
                    format!("name `{name}` is a built-in command of citebot's; pick another"),
                ));
                duplicate = true;
                continue;
            }
            if let Some((other, other_line)) = names.get(name) {
                if other != &path {
                    problems.push(Problem::error(
                        &path,
                        *line,
                        format!(
                            "name `{name}` is already used by {}:{other_line}",
                            other.display()
                        ),
                    ));
                    duplicate = true;
                }
                continue;
            }
            names.insert(name.clone(), (path.clone(), *line));
        }
        for (question, line) in &parsed.question_lines {
            let key = paraphrase_key(question);
            if let Some((other, other_line)) = questions.get(&key) {
                if other != &path {
                    problems.push(Problem::error(
                        &path,
                        *line,
                        format!(
                            "question \"{question}\" is also in {}:{other_line}; one question must lead to one card",
                            other.display()
                        ),
                    ));
                    duplicate = true;
                }
                continue;
            }
            questions.insert(key, (path.clone(), *line));
        }
        if !duplicate {
            cards.push(parsed.card);
        }
    }
    if cards.is_empty() && problems.is_empty() {
        problems.push(Problem::error(
            &facts_dir,
            1,
            "no fact cards (facts/*.toml)",
        ));
    }
    load_learned(dir, &mut cards, &mut questions, problems);
    cards.sort_by(|a, b| a.command.cmp(&b.command));
    cards
}

/// Adds `learned/<command>.toml` to its card. A taught question obeys the cards' own rule: one
/// question leads to one card; repeating the card's own question is harmless and skipped.
fn load_learned(
    dir: &Path,
    cards: &mut [FactCard],
    questions: &mut HashMap<String, (PathBuf, usize)>,
    problems: &mut Vec<Problem>,
) {
    let learned_dir = dir.join(LEARNED_DIR);
    let entries = match fs::read_dir(&learned_dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return,
        Err(err) => {
            problems.push(Problem::error(
                &learned_dir,
                1,
                format!("cannot read the learned folder: {err}"),
            ));
            return;
        }
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    paths.sort();
    for path in paths {
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        if path.extension().and_then(|e| e.to_str()) != Some("toml") || !path.is_file() {
            problems.push(Problem::error(
                &path,
                1,
                "not read: learned questions are a file learned/<command>.toml",
            ));
            continue;
        }
        let Some(card) = cards.iter_mut().find(|card| card.command == stem) else {
            problems.push(Problem::error(
                &path,
                1,
                format!("there is no card facts/{stem}.toml for these questions"),
            ));
            continue;
        };
        let source = match fs::read_to_string(&path) {
            Ok(source) => source,
            Err(err) => {
                problems.push(Problem::error(&path, 1, format!("cannot read: {err}")));
                continue;
            }
        };
        let parsed = match parse_learned(&path, &source) {
            Ok(parsed) => parsed,
            Err(found) => {
                problems.extend(found);
                continue;
            }
        };
        let own = card.path.clone();
        for (question, line) in parsed {
            let key = paraphrase_key(&question);
            match questions.get(&key) {
                Some((other, _)) if *other == own || *other == path => {}
                Some((other, other_line)) => problems.push(Problem::error(
                    &path,
                    line,
                    format!(
                        "question \"{question}\" is also in {}:{other_line}; one question must lead to one card",
                        other.display()
                    ),
                )),
                None => {
                    questions.insert(key, (path.clone(), line));
                    card.learned.push(question);
                }
            }
        }
    }
}

/// The folder of taught questions, inside the responses folder.
pub const LEARNED_DIR: &str = "learned";

/// A question as the index sees it: folded, without punctuation or stop words. Two questions
/// with one key are one question to the index, whatever their accents and punctuation.
fn paraphrase_key(question: &str) -> String {
    tokenize(question)
        .into_iter()
        .filter(|t| !is_stopword(&t.text))
        .map(|t| t.text)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The summary may name only cards that exist, each once, and no more than one answer can show.
fn unknown_summary_cards(dir: &Path, article: &Article, cards: &[FactCard]) -> Vec<Problem> {
    let path = dir.join("article.toml");
    let line = || {
        fs::read_to_string(&path)
            .ok()
            .and_then(|source| {
                source
                    .lines()
                    .position(|l| l.trim_start().starts_with("summary"))
            })
            .map_or(1, |i| i + 1)
    };
    let mut problems = Vec::new();
    let summary = &article.meta.summary;
    if summary.len() > MAX_SUMMARY_CARDS {
        problems.push(Problem::error(
            &path,
            line(),
            format!(
                "`summary` names {} cards; an answer shows at most {MAX_SUMMARY_CARDS}",
                summary.len()
            ),
        ));
    }
    for (i, name) in summary.iter().enumerate() {
        if !cards.iter().any(|card| card.names().any(|n| n == name)) {
            problems.push(Problem::error(
                &path,
                line(),
                format!("`summary` names `{name}`, which is no fact card's command or alias"),
            ));
        } else if summary[..i].contains(name) {
            problems.push(Problem::error(
                &path,
                line(),
                format!("`summary` names `{name}` twice"),
            ));
        }
    }
    problems
}

/// A summary answer is one card and at most two more parts, as a message asking three things.
pub const MAX_SUMMARY_CARDS: usize = 3;

fn uncited_paragraphs(dir: &Path, article: &Article, cards: &[FactCard]) -> Vec<Problem> {
    let text_path = dir.join(&article.meta.text);
    article
        .paragraphs
        .iter()
        .filter(|p| !p.heading)
        .filter(|p| {
            !cards
                .iter()
                .flat_map(|c| &c.citations)
                .any(|c| c.paragraph == p.number)
        })
        .map(|p| {
            Problem::warning(
                &text_path,
                p.line,
                format!("paragraph §{} is not cited by any card", p.number),
            )
        })
        .collect()
}
