//! The labelled question sets of `tests/data/`: one loader for every test and bench.

use std::path::{Path, PathBuf};

/// `tests/data/` of the citebot checkout.
pub fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data")
}

/// One labelled message: the commands that are right for it, or none when it must be refused.
#[derive(Debug, Clone)]
pub struct Labelled {
    pub line: usize,
    pub question: String,
    /// Commands that answer the (first answerable part of the) message; empty: refuse.
    pub expected: Vec<String>,
    /// Commands that answer its other parts, when it asks several things.
    pub also: Vec<Vec<String>>,
    /// Small talk: no card, a friendly line.
    pub chat: bool,
    /// The article words whose quote should lead the answer.
    pub lead: Option<String>,
}

impl Labelled {
    pub fn is_refusal(&self) -> bool {
        self.expected.is_empty()
    }
}

/// Reads `expected<TAB>question` or `expected<TAB>lead<TAB>question` lines. `expected` is a
/// command, `a|b` (either), `refuse` (the article does not answer), `chat` (small talk), or
/// `part;part` for a message asking two things; `lead` is `-` or the article's words that
/// answer, parts separated by ` ;; `.
pub fn question_set(name: &str) -> Vec<Labelled> {
    let path = data_dir().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|(i, l)| {
            let fields: Vec<&str> = l.split('\t').collect();
            let (expected, lead, question) = match fields.as_slice() {
                [expected, question] => (*expected, "-", *question),
                [expected, lead, question] => (*expected, *lead, *question),
                _ => panic!(
                    "{}:{}: expected<TAB>[lead<TAB>]question",
                    path.display(),
                    i + 1
                ),
            };
            let mut parts: Vec<Vec<String>> = expected
                .split(';')
                .filter(|p| !matches!(*p, "refuse" | "chat"))
                .map(|p| p.split('|').map(str::to_string).collect())
                .collect();
            let first = if parts.is_empty() {
                Vec::new()
            } else {
                parts.remove(0)
            };
            let lead = lead.split(" ;; ").next().unwrap_or("-").trim();
            Labelled {
                line: i + 1,
                question: question.to_string(),
                expected: first,
                also: parts,
                chat: expected == "chat",
                lead: (lead != "-" && !lead.is_empty()).then(|| lead.to_string()),
            }
        })
        .collect()
}

/// The messages of a set alone, in file order.
pub fn questions(name: &str) -> Vec<String> {
    question_set(name).into_iter().map(|q| q.question).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_format_of_a_set_line_is_read() {
        let sets = question_set("devset3.tsv");
        assert!(sets.len() > 100);
        let two_part = sets
            .iter()
            .find(|q| !q.also.is_empty())
            .expect("devset3 has two-part messages");
        assert!(!two_part.expected.is_empty() || two_part.also.len() == 1);
        assert!(sets.iter().any(|q| q.chat && q.is_refusal()));
        assert!(sets.iter().any(|q| q.lead.is_some()));
        assert_eq!(
            questions("devset.tsv").len(),
            question_set("devset.tsv").len()
        );
    }
}
