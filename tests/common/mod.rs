//! Helpers shared by the integration tests: the shipped responses and the question sets.
#![allow(dead_code)]

pub mod bot;

use std::path::{Path, PathBuf};

use citebot::{Index, Responses};

pub fn responses_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("responses")
}

pub fn shipped_index() -> Index {
    let responses = Responses::load(&responses_dir()).expect("the shipped responses/ are valid");
    Index::build(responses)
}

/// One labelled question: the commands that are right for it, or none when it must be refused.
#[derive(Debug, Clone)]
pub struct Labelled {
    pub line: usize,
    pub question: String,
    pub expected: Vec<String>,
}

impl Labelled {
    pub fn is_refusal(&self) -> bool {
        self.expected.is_empty()
    }
}

/// Reads `expected<TAB>question` lines; `refuse` means the article does not answer it.
pub fn question_set(name: &str) -> Vec<Labelled> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|(i, l)| {
            let (expected, question) = l
                .split_once('\t')
                .unwrap_or_else(|| panic!("{}:{}: expected<TAB>question", path.display(), i + 1));
            let expected = if expected == "refuse" {
                Vec::new()
            } else {
                expected.split('|').map(str::to_string).collect()
            };
            Labelled {
                line: i + 1,
                question: question.to_string(),
                expected,
            }
        })
        .collect()
}

/// Figures of one question set.
#[derive(Debug, Default)]
pub struct Figures {
    pub in_scope: usize,
    pub in_scope_correct: usize,
    pub out_of_scope: usize,
    pub refused: usize,
    /// Answered with the wrong card, or answered at all when it should have refused.
    pub wrong: usize,
    /// In-scope questions answered with a direct passage instead of a card.
    pub passages: usize,
    pub misses: Vec<String>,
}

impl Figures {
    pub fn accuracy(&self) -> f64 {
        self.in_scope_correct as f64 / self.in_scope.max(1) as f64
    }

    pub fn refusal_rate(&self) -> f64 {
        self.refused as f64 / self.out_of_scope.max(1) as f64
    }
}

pub fn evaluate(index: &Index, set: &[Labelled]) -> Figures {
    let mut figures = Figures::default();
    for item in set {
        let answer = index.ask(&item.question, None);
        let got = answer.fact().map(str::to_string).unwrap_or_else(|| {
            if answer.is_passage() {
                "<passage>".into()
            } else {
                "refuse".into()
            }
        });
        if item.is_refusal() {
            figures.out_of_scope += 1;
            if answer.is_answered() {
                figures.wrong += 1;
            } else {
                figures.refused += 1;
                continue;
            }
        } else {
            figures.in_scope += 1;
            if item
                .expected
                .iter()
                .any(|e| Some(e.as_str()) == answer.fact())
            {
                figures.in_scope_correct += 1;
                continue;
            }
            if answer.is_passage() {
                figures.passages += 1;
            } else if answer.fact().is_some() {
                figures.wrong += 1;
            }
        }
        figures.misses.push(format!(
            "line {}: {:?} expected {} got {} ({:.2}; alternatives {:?})",
            item.line,
            item.question,
            if item.expected.is_empty() {
                "refuse".to_string()
            } else {
                item.expected.join("|")
            },
            got,
            answer.confidence,
            answer.alternatives
        ));
    }
    figures
}
