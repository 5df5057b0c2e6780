//! Helpers shared by the integration tests: the shipped responses and the question sets.
#![allow(dead_code)]

pub mod reply;

use std::path::{Path, PathBuf};

use citebot::{Index, Responses};
use citebot_testkit::sets::Labelled;

pub fn responses_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("responses")
}

pub fn shipped_index() -> Index {
    let responses = Responses::load(&responses_dir()).expect("the shipped responses/ are valid");
    Index::build(responses)
}

/// Figures of one question set.
#[derive(Debug, Default)]
pub struct Figures {
    pub in_scope: usize,
    pub in_scope_correct: usize,
    pub out_of_scope: usize,
    pub refused: usize,
    /// Answered with a wrong card, or answered at all when it should have refused.
    pub wrong: usize,
    /// In-scope questions answered with a direct passage instead of a card.
    pub passages: usize,
    /// In-scope questions offered as "did you mean" rather than answered.
    pub suggested: usize,
    /// In-scope questions with an annotated lead, and those whose first quote holds it.
    pub lead_total: usize,
    pub lead_correct: usize,
    /// Small-talk messages, and those answered as small talk.
    pub chat: usize,
    pub chat_correct: usize,
    /// In-scope messages that ask two or more things, and those whose every part is answered
    /// (each by one of its own cards).
    pub multi_part: usize,
    pub multi_part_complete: usize,
    pub misses: Vec<String>,
}

impl Figures {
    pub fn accuracy(&self) -> f64 {
        self.in_scope_correct as f64 / self.in_scope.max(1) as f64
    }

    pub fn refusal_rate(&self) -> f64 {
        self.refused as f64 / self.out_of_scope.max(1) as f64
    }

    /// Share of the annotated in-scope questions answered with the right card whose first
    /// quote holds the words that answer.
    pub fn lead_accuracy(&self) -> f64 {
        self.lead_correct as f64 / self.lead_total.max(1) as f64
    }

    pub fn wrong_rate(&self) -> f64 {
        self.wrong as f64 / (self.in_scope + self.out_of_scope).max(1) as f64
    }

    /// The objective the tuning grid maximises and the gate reads: a wrong answer costs twice
    /// a needless refusal.
    pub fn objective(&self) -> f64 {
        self.accuracy() + self.refusal_rate() - 2.0 * self.wrong_rate()
    }
}

pub fn evaluate(index: &Index, set: &[Labelled]) -> Figures {
    let article = &index.responses().article;
    let mut figures = Figures::default();
    for item in set {
        let answer = index.ask(&item.question, None);
        let facts: Vec<&str> = answer.facts().collect();
        let got = if facts.is_empty() {
            if answer.is_passage() {
                "<passage>".to_string()
            } else if answer.is_suggested() {
                format!("suggested {:?}", answer.alternatives)
            } else {
                "refuse".to_string()
            }
        } else {
            facts.join("+")
        };
        if item.is_refusal() {
            figures.out_of_scope += 1;
            if item.chat {
                figures.chat += 1;
                figures.chat_correct += usize::from(answer.is_chit_chat());
            }
            if answer.is_answered() {
                figures.wrong += 1;
            } else {
                figures.refused += 1;
                continue;
            }
        } else {
            figures.in_scope += 1;
            let allowed = |fact: &str| {
                std::iter::once(&item.expected)
                    .chain(&item.also)
                    .any(|part| part.iter().any(|e| e == fact))
            };
            // Right: some answered card is one the message asks for, and none is foreign to it.
            let right = facts.iter().any(|f| allowed(f)) && facts.iter().all(|f| allowed(f));
            if !item.also.is_empty() {
                figures.multi_part += 1;
                let answers_part =
                    |part: &Vec<String>| part.iter().any(|e| facts.contains(&e.as_str()));
                let complete = std::iter::once(&item.expected)
                    .chain(&item.also)
                    .all(answers_part);
                figures.multi_part_complete += usize::from(right && complete);
            }
            if let Some(lead) = &item.lead {
                figures.lead_total += 1;
                let wanted = article.locate(lead);
                let first = answer.citations.first();
                let leads = match (wanted, first) {
                    (Some(w), Some(c)) => c.start < w.end && w.start < c.end,
                    _ => false,
                };
                if right && leads {
                    figures.lead_correct += 1;
                } else if right {
                    figures.misses.push(format!(
                        "line {}: {:?} right card {} but leads with {:?} (wanted {lead:?})",
                        item.line,
                        item.question,
                        facts.join("+"),
                        first.map(|c| c.quote.as_str()).unwrap_or("nothing"),
                    ));
                }
            }
            if right {
                figures.in_scope_correct += 1;
                continue;
            }
            if answer.is_passage() {
                figures.passages += 1;
            } else if answer.is_suggested() {
                figures.suggested += 1;
            } else if !facts.is_empty() {
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
