//! The concept lexicon: `responses/lexicon.toml`.
//!
//! Words of both languages that mean the same thing for this article ("atrasou", "adiado",
//! "delayed", "pushed back") map to one concept, so an English question meets a Portuguese
//! paraphrase and a synonym meets the card's own word. Question words are concepts too, and are
//! resolved before any typo tolerance: "quando" and "quanto" are one edit apart but ask different
//! things. The lexicon is data, like the cards: a new synonym needs no Rust change.

/// Hash maps keyed by words and keys: foldhash (seeded per process) instead of SipHash, which was
/// the largest single cost of building the index.
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
type HashSet<K> = std::collections::HashSet<K, foldhash::fast::RandomState>;

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use crate::answer::Lang;
use crate::problem::{line_of, Lines, Problem};
use crate::text::{stems, tokenize};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLexicon {
    #[serde(default)]
    question_words: Vec<Spanned<String>>,
    #[serde(default)]
    time_words: Vec<Spanned<String>>,
    #[serde(default)]
    filler_words: Vec<Spanned<String>>,
    #[serde(default)]
    chit_chat_words: Vec<Spanned<String>>,
    concepts: BTreeMap<String, Spanned<RawConcept>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConcept {
    #[serde(default)]
    pt: Vec<Spanned<String>>,
    #[serde(default)]
    en: Vec<Spanned<String>>,
    /// Words spelled the same in both languages ("chip", "hardware"): no language evidence.
    #[serde(default)]
    any: Vec<Spanned<String>>,
}

pub type ConceptId = u32;

/// What a folded word or phrase means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConceptHit {
    pub concept: ConceptId,
    /// The language the word belongs to; `None` when it is the same in both.
    pub lang: Option<Lang>,
}

#[derive(Debug, Clone, Default)]
pub struct Lexicon {
    names: Vec<String>,
    /// Concepts that only name the kind of answer wanted (why, when, how many...).
    question_words: Vec<ConceptId>,
    /// Concepts that date something (months, "in the coming weeks"): a fact that states one of
    /// them can answer "when".
    time_words: Vec<ConceptId>,
    /// Concepts that carry no meaning for matching: tag questions ("right?", "né?"), filler
    /// ("tipo", "ngl"), laughter. Dropped from the question, never counted as unknown words.
    filler_words: Vec<ConceptId>,
    /// Concepts of small talk: thanks, greetings, questions about the bot. Dropped from the
    /// question; a clause made of them (and little else) is chit-chat, not a question.
    chit_chat_words: Vec<ConceptId>,
    /// Folded token sequences (one or more tokens) to concepts.
    phrases: HashMap<Vec<String>, ConceptHit>,
    longest_phrase: usize,
    /// First words of the phrases of two or more words: most words start none, and skip the
    /// phrase lookups.
    phrase_starts: HashSet<String>,
    by_stem_pt: HashMap<String, ConceptId>,
    by_stem_en: HashMap<String, ConceptId>,
}

impl Lexicon {
    pub fn parse(path: &Path, source: &str) -> Result<Lexicon, Vec<Problem>> {
        let raw: RawLexicon = toml::from_str(source).map_err(|err| {
            let line = err.span().map_or(1, |span| line_of(source, span.start));
            vec![Problem::error(
                path,
                line,
                format!("invalid lexicon: {}", err.message()),
            )]
        })?;
        let mut lexicon = Lexicon::default();
        let lines = Lines::new(source);
        let mut problems = Vec::new();
        let mut first_seen: HashMap<Vec<String>, (String, usize)> = HashMap::default();
        let mut stem_owner_pt: HashMap<String, Option<ConceptId>> = HashMap::default();
        let mut stem_owner_en: HashMap<String, Option<ConceptId>> = HashMap::default();
        for (name, concept) in &raw.concepts {
            let id = lexicon.names.len() as ConceptId;
            lexicon.names.push(name.clone());
            let raw = concept.get_ref();
            for (lang, words) in [
                (Some(Lang::Pt), &raw.pt),
                (Some(Lang::En), &raw.en),
                (None, &raw.any),
            ] {
                for word in words {
                    let line = lines.line_of(word.span().start);
                    let tokens: Vec<String> = tokenize(word.get_ref())
                        .into_iter()
                        .map(|t| t.text)
                        .collect();
                    if tokens.is_empty() {
                        problems.push(Problem::error(
                            path,
                            line,
                            format!("concept `{name}` has an empty word"),
                        ));
                        continue;
                    }
                    match first_seen.get(&tokens) {
                        Some((other, _)) if other != name => {
                            problems.push(Problem::error(
                                path,
                                line,
                                format!("`{}` is in both `{other}` and `{name}`", word.get_ref()),
                            ));
                            continue;
                        }
                        Some(_) => continue,
                        None => {
                            first_seen.insert(tokens.clone(), (name.clone(), line));
                        }
                    }
                    if let [single] = tokens.as_slice() {
                        let (pt, en) = stems(single);
                        let owners = match lang {
                            Some(Lang::Pt) => vec![(&mut stem_owner_pt, pt)],
                            Some(Lang::En) => vec![(&mut stem_owner_en, en)],
                            None => vec![(&mut stem_owner_pt, pt), (&mut stem_owner_en, en)],
                        };
                        for (owner_map, stem) in owners {
                            owner_map
                                .entry(stem)
                                .and_modify(|owner| {
                                    if *owner != Some(id) {
                                        *owner = None; // a stem shared by two concepts means neither
                                    }
                                })
                                .or_insert(Some(id));
                        }
                    }
                    lexicon.longest_phrase = lexicon.longest_phrase.max(tokens.len());
                    if tokens.len() > 1 {
                        lexicon.phrase_starts.insert(tokens[0].clone());
                    }
                    lexicon
                        .phrases
                        .insert(tokens, ConceptHit { concept: id, lang });
                }
            }
        }
        for (list, names) in [
            ("question word", &raw.question_words),
            ("time word", &raw.time_words),
            ("filler word", &raw.filler_words),
            ("chit-chat word", &raw.chit_chat_words),
        ] {
            for name in names {
                match lexicon.names.iter().position(|n| n == name.get_ref()) {
                    Some(id) => {
                        let target = match list {
                            "question word" => &mut lexicon.question_words,
                            "time word" => &mut lexicon.time_words,
                            "filler word" => &mut lexicon.filler_words,
                            _ => &mut lexicon.chit_chat_words,
                        };
                        target.push(id as ConceptId);
                    }
                    None => problems.push(Problem::error(
                        path,
                        line_of(source, name.span().start),
                        format!("{list} `{}` is not a concept", name.get_ref()),
                    )),
                }
            }
        }
        lexicon.by_stem_pt = stem_owner_pt
            .into_iter()
            .filter_map(|(stem, owner)| owner.map(|id| (stem, id)))
            .collect();
        lexicon.by_stem_en = stem_owner_en
            .into_iter()
            .filter_map(|(stem, owner)| owner.map(|id| (stem, id)))
            .collect();
        if problems.is_empty() {
            Ok(lexicon)
        } else {
            Err(problems)
        }
    }

    pub fn concept_name(&self, id: ConceptId) -> &str {
        &self.names[id as usize]
    }

    pub fn is_question_word(&self, id: ConceptId) -> bool {
        self.question_words.contains(&id)
    }

    pub fn is_filler(&self, id: ConceptId) -> bool {
        self.filler_words.contains(&id)
    }

    pub fn is_chit_chat(&self, id: ConceptId) -> bool {
        self.chit_chat_words.contains(&id)
    }

    /// The concept of a name, if the lexicon has it.
    pub fn concept(&self, name: &str) -> Option<ConceptId> {
        self.names
            .iter()
            .position(|n| n == name)
            .map(|id| id as ConceptId)
    }

    /// Names of the concepts that date something.
    pub fn time_words(&self) -> impl Iterator<Item = &str> {
        self.time_words.iter().map(|id| self.concept_name(*id))
    }

    /// Whether a phrase of two or more words starts with this word.
    pub fn starts_phrase(&self, word: &str) -> bool {
        self.phrase_starts.contains(word)
    }

    pub fn longest_phrase(&self) -> usize {
        self.longest_phrase
    }

    /// An exact phrase (one or more folded tokens).
    pub fn phrase(&self, tokens: &[String]) -> Option<ConceptHit> {
        self.phrases.get(tokens).copied()
    }

    /// A single word, by its surface form first, then by its stem in either language.
    pub fn word(&self, word: &str) -> Option<ConceptId> {
        let (pt, en) = stems(word);
        self.word_with_stems(word, &pt, &en)
    }

    /// [`Lexicon::word`] for a caller that already has the word's stems.
    pub fn word_with_stems(&self, word: &str, pt_stem: &str, en_stem: &str) -> Option<ConceptId> {
        if let Some(hit) = self.phrases.get(std::slice::from_ref(&word.to_string())) {
            return Some(hit.concept);
        }
        self.by_stem_pt
            .get(pt_stem)
            .or_else(|| self.by_stem_en.get(en_stem))
            .copied()
    }

    /// Every single-word surface form, for typo correction.
    pub fn words(&self) -> impl Iterator<Item = &str> {
        self.phrases
            .keys()
            .filter(|k| k.len() == 1)
            .map(|k| k[0].as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = r#"
question_words = ["when", "amount"]
[concepts]
delay = { pt = ["atraso", "adiado"], en = ["delay", "pushed back"] }
when = { pt = ["quando"], en = ["when"] }
amount = { pt = ["quanto"], en = ["how much"] }
"#;

    #[test]
    fn words_phrases_and_stems_map_to_concepts() {
        let lexicon = Lexicon::parse(Path::new("lexicon.toml"), SOURCE).expect("valid");
        let delay = lexicon.word("atraso").expect("surface");
        assert_eq!(lexicon.concept_name(delay), "delay");
        assert_eq!(lexicon.word("atrasos"), Some(delay), "by Portuguese stem");
        assert_eq!(lexicon.word("delayed"), Some(delay), "by English stem");
        let pushed = lexicon
            .phrase(&["pushed".to_string(), "back".to_string()])
            .expect("phrase");
        assert_eq!(pushed.concept, delay);
        assert_eq!(pushed.lang, Some(Lang::En));
        assert_ne!(lexicon.word("quando"), lexicon.word("quanto"));
        let when = lexicon.word("quando").expect("when");
        assert!(lexicon.is_question_word(when));
        assert!(!lexicon.is_question_word(delay));
    }

    #[test]
    fn a_word_in_two_concepts_is_reported_with_its_line() {
        let source = "[concepts]\na = { en = [\"late\"] }\nb = { en = [\"late\"] }\n";
        let problems = Lexicon::parse(Path::new("lexicon.toml"), source).expect_err("ambiguous");
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].line, 3);
        assert!(
            problems[0].message.contains("`late`"),
            "{}",
            problems[0].message
        );
    }
}
