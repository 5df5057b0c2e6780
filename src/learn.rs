//! Teaching: a moderator attaches a question the index missed to the card that answers it. The
//! question is appended to `learned/<card>.toml`, the whole folder is validated exactly as
//! `citebot check` does, and the new index is returned; on any problem the file is put back as it
//! was, so a bad teach never leaves the folder broken.
//!
//! Only questions are taught: the answer and its quotes stay in the card.

use std::fs;
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::facts::{learned_file_text, parse_learned, MAX_LEARNED_QUESTION_CHARS};
use crate::index::Index;
use crate::problem::Problems;
use crate::responses::{Responses, LEARNED_DIR};
use crate::text::{collapse_whitespace, fold};

#[derive(Debug, Error)]
pub enum TeachError {
    #[error("the question is empty")]
    Empty,
    #[error(
        "a taught question is at most {MAX_LEARNED_QUESTION_CHARS} characters; this one has {0}"
    )]
    TooLong(usize),
    #[error("there is no card /{0}")]
    UnknownCard(String),
    #[error("/{0} already has this question")]
    AlreadyKnown(String),
    #[error("the responses folder would not be valid: {}", first_problems(.0))]
    Invalid(Problems),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn first_problems(problems: &Problems) -> String {
    problems
        .errors()
        .take(3)
        .map(|p| format!("{}:{}: {}", p.path.display(), p.line, p.message))
        .collect::<Vec<_>>()
        .join("; ")
}

/// What a successful teach produced.
#[derive(Debug)]
pub struct Taught {
    /// The question as stored (whitespace collapsed).
    pub question: String,
    /// The card's command.
    pub card: String,
    pub index: Index,
}

/// Appends `question` to `card`'s learned questions in `dir` and rebuilds the index.
/// `card` may be any of the card's names (command, pt-BR name, alias).
pub fn teach(dir: &Path, card: &str, question: &str) -> Result<Taught, TeachError> {
    let question = collapse_whitespace(question.trim());
    let chars = question.chars().count();
    if chars == 0 {
        return Err(TeachError::Empty);
    }
    if chars > MAX_LEARNED_QUESTION_CHARS {
        return Err(TeachError::TooLong(chars));
    }
    let current = Responses::load(dir).map_err(TeachError::Invalid)?;
    let command = current
        .card(card.trim().trim_start_matches('/'))
        .map(|c| c.command.clone())
        .ok_or_else(|| TeachError::UnknownCard(card.to_string()))?;
    let folded = fold(&question);
    let own = current.card(&command).map(|c| {
        c.questions()
            .map(|(_, q)| q)
            .chain(c.learned.iter().map(String::as_str))
            .any(|q| fold(q) == folded)
    });
    if own == Some(true) {
        return Err(TeachError::AlreadyKnown(command));
    }
    let learned_dir = dir.join(LEARNED_DIR);
    let path = learned_dir.join(format!("{command}.toml"));
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| TeachError::Io { path, source }
    };
    let previous = match fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => None,
        Err(err) => return Err(io(&path)(err)),
    };
    let mut questions: Vec<String> = match &previous {
        Some(text) => parse_learned(&path, text)
            .map_err(|problems| TeachError::Invalid(Problems(problems)))?
            .into_iter()
            .map(|(q, _)| q)
            .collect(),
        None => Vec::new(),
    };
    questions.push(question.clone());
    fs::create_dir_all(&learned_dir).map_err(io(&learned_dir))?;
    replace_file(dir, &path, &learned_file_text(&command, &questions))?;
    match Responses::load(dir) {
        Ok(responses) => Ok(Taught {
            question,
            card: command,
            index: Index::build(responses),
        }),
        Err(problems) => {
            // Put the folder back as it was before reporting.
            match &previous {
                Some(text) => replace_file(dir, &path, text)?,
                None => fs::remove_file(&path).map_err(io(&path))?,
            }
            Err(TeachError::Invalid(problems))
        }
    }
}

/// Writes `path` whole or not at all: the text goes to a hidden file beside the folder's top
/// (where the loader and watcher never read a card), then is renamed over `path`.
fn replace_file(dir: &Path, path: &Path, text: &str) -> Result<(), TeachError> {
    let staging = dir.join(".teach.tmp");
    fs::write(&staging, text).map_err(|source| TeachError::Io {
        path: staging.clone(),
        source,
    })?;
    fs::rename(&staging, path).map_err(|source| TeachError::Io {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Matched;

    /// A scratch copy of the shipped responses folder.
    fn copy() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("responses");
        copy_dir(&from, dir.path());
        dir
    }

    fn copy_dir(from: &Path, to: &Path) {
        fs::create_dir_all(to).expect("mkdir");
        for entry in fs::read_dir(from).expect("read_dir").flatten() {
            let target = to.join(entry.file_name());
            if entry.path().is_dir() {
                copy_dir(&entry.path(), &target);
            } else {
                fs::copy(entry.path(), target).expect("copy");
            }
        }
    }

    const MISSED: &str = "a casa branca morde quanto?";

    #[test]
    fn a_taught_question_is_answered_by_its_card_afterwards() {
        let dir = copy();
        let before = Index::build(Responses::load(dir.path()).expect("load"));
        assert_ne!(
            before.ask(MISSED, None).fact(),
            Some("h20-deal"),
            "the test needs a question the shipped index misses"
        );
        let taught = teach(dir.path(), "h20-deal", &format!("  {MISSED} ")).expect("taught");
        assert_eq!(taught.card, "h20-deal");
        let answer = taught.index.ask(MISSED, None);
        assert_eq!(answer.matched, Matched::Fact("h20-deal".into()));
        let file = fs::read_to_string(dir.path().join("learned/h20-deal.toml")).expect("file");
        assert!(file.contains(MISSED));
        // And `check` accepts the folder as written.
        let reloaded = Responses::load(dir.path()).expect("valid after teaching");
        assert_eq!(reloaded.card("h20-deal").map(|c| c.learned.len()), Some(1));
    }

    #[test]
    fn teaching_by_a_cards_other_name_uses_its_command() {
        let dir = copy();
        let responses = Responses::load(dir.path()).expect("load");
        let card = responses.card("h20-deal").expect("card");
        let taught = teach(dir.path(), &card.command_pt, MISSED).expect("taught");
        assert_eq!(taught.card, "h20-deal");
    }

    #[test]
    fn a_question_another_card_has_is_refused_and_the_folder_is_left_as_it_was() {
        let dir = copy();
        let responses = Responses::load(dir.path()).expect("load");
        let other = responses.card("why-r2-delayed").expect("card");
        let question = other.questions_en[0].clone();
        let err = teach(dir.path(), "h20-deal", &question).expect_err("one question, one card");
        assert!(matches!(err, TeachError::Invalid(_)), "{err}");
        assert!(
            err.to_string()
                .contains("one question must lead to one card"),
            "{err}"
        );
        assert!(!dir.path().join("learned/h20-deal.toml").exists());
        Responses::load(dir.path()).expect("still valid");
    }

    #[test]
    fn empty_long_unknown_and_repeated_questions_are_refused() {
        let dir = copy();
        assert!(matches!(
            teach(dir.path(), "h20-deal", "  "),
            Err(TeachError::Empty)
        ));
        assert!(matches!(
            teach(dir.path(), "h20-deal", &"a".repeat(301)),
            Err(TeachError::TooLong(301))
        ));
        assert!(matches!(
            teach(dir.path(), "no-such-card", MISSED),
            Err(TeachError::UnknownCard(_))
        ));
        teach(dir.path(), "h20-deal", MISSED).expect("first time");
        assert!(matches!(
            teach(dir.path(), "h20-deal", &MISSED.to_uppercase()),
            Err(TeachError::AlreadyKnown(_))
        ));
    }
}
