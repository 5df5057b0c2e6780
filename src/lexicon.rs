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

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use crate::answer::Lang;
use crate::problem::{line_of, Lines, Problem};
use crate::text::{stem, stems, tokenize};

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
    /// The concept that plays each part a scoring rule names: `when = "when"`.
    #[serde(default)]
    rules: BTreeMap<Spanned<String>, Spanned<String>>,
    concepts: BTreeMap<String, Spanned<RawConcept>>,
}

/// A part a scoring rule gives a concept. The lexicon's `[rules]` table names the concept for
/// each, and a lexicon that leaves one out is refused: renaming a concept can never switch a
/// rule off silently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// "How many / how much": answered only by a fact that states a number.
    HowMany,
    /// "When": answered only by a fact that states a time.
    When,
    /// "Who": answered only by a card one of whose questions asks who.
    Who,
    /// "Where": answered only by a card one of whose questions asks where.
    Where,
    /// "What is it called", "qual o nome": answered only by a card one of whose questions asks
    /// for a name, since the article names few things (no people, no outlet, no regulator).
    Name,
    /// Money: "how many dollars" is not answered by a percentage.
    Money,
    /// Cost: "how much does it cost" asks for money.
    Cost,
    /// Price: asks for money, with or without "how much".
    Price,
    /// Thanks: a clause of thanks gets "you're welcome".
    Thanks,
    /// Negation: "didn't" before a word of success is a failure.
    Negation,
    Succeed,
    Fail,
    /// A tag that asks to confirm a claim ("..., right?", "..., né?", "iirc"): the words the
    /// article lacks are the claim to check, not what is asked.
    Confirmation,
    /// A day ("what day", "que dia"): answered only by a fact that states a day of a month.
    Day,
    /// A length of time ("how long", "quanto tempo"): answered only by a fact that states a
    /// span (the concept of [`Rule::Span`]), not by a date.
    Duration,
    /// What a fact says to state a span of time ("in the coming weeks").
    Span,
    /// "Exactly", "ao certo": beside "when" it asks for the day.
    Precise,
    /// "tldr?", "resume pra mim": asks for the story in brief, answered with the cards the
    /// article names as its summary.
    Summary,
}

impl Rule {
    /// The rule's place in [`Rule::ALL`] (its declaration order), for tables indexed by rule.
    pub fn slot(self) -> usize {
        self as usize
    }

    pub const ALL: [Rule; 18] = [
        Rule::HowMany,
        Rule::When,
        Rule::Who,
        Rule::Where,
        Rule::Name,
        Rule::Money,
        Rule::Cost,
        Rule::Price,
        Rule::Thanks,
        Rule::Negation,
        Rule::Succeed,
        Rule::Fail,
        Rule::Confirmation,
        Rule::Day,
        Rule::Duration,
        Rule::Span,
        Rule::Precise,
        Rule::Summary,
    ];

    /// The rule's key in `[rules]`.
    pub fn name(self) -> &'static str {
        match self {
            Rule::HowMany => "how_many",
            Rule::When => "when",
            Rule::Who => "who",
            Rule::Where => "where",
            Rule::Name => "name",
            Rule::Money => "money",
            Rule::Cost => "cost",
            Rule::Price => "price",
            Rule::Thanks => "thanks",
            Rule::Negation => "negation",
            Rule::Succeed => "succeed",
            Rule::Fail => "fail",
            Rule::Confirmation => "confirmation",
            Rule::Day => "day",
            Rule::Duration => "duration",
            Rule::Span => "span",
            Rule::Precise => "precise",
            Rule::Summary => "summary",
        }
    }
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
    /// Phrases of two or more words, their folded tokens joined by one space.
    phrases: HashMap<String, ConceptHit>,
    /// Folded single words to concepts: most lookups are of one word, by `&str`.
    singles: HashMap<String, ConceptHit>,
    /// First words of the phrases of two or more words, with the most words a phrase from each
    /// holds: most words start none and skip the phrase lookups, the rest try only the lengths
    /// that can match.
    phrase_starts: HashMap<String, usize>,
    by_stem_pt: HashMap<String, ConceptId>,
    by_stem_en: HashMap<String, ConceptId>,
    /// The concept of each [`Rule`], in [`Rule::ALL`]'s order.
    rules: [Option<ConceptId>; Rule::ALL.len()],
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
                    match lexicon.phrase(&tokens) {
                        Some(hit) if hit.concept != id => {
                            let other = &lexicon.names[hit.concept as usize];
                            problems.push(Problem::error(
                                path,
                                line,
                                format!("`{}` is in both `{other}` and `{name}`", word.get_ref()),
                            ));
                            continue;
                        }
                        Some(_) => continue,
                        None => {}
                    }
                    if let [single] = tokens.as_slice() {
                        // A word listed for one language is stemmed in that language only.
                        let owners = match lang {
                            Some(Lang::Pt) => vec![(&mut stem_owner_pt, stem(Lang::Pt, single))],
                            Some(Lang::En) => vec![(&mut stem_owner_en, stem(Lang::En, single))],
                            None => {
                                let (pt, en) = stems(single);
                                vec![(&mut stem_owner_pt, pt), (&mut stem_owner_en, en)]
                            }
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
                    if tokens.len() > 1 {
                        let longest = lexicon.phrase_starts.entry(tokens[0].clone()).or_default();
                        *longest = (*longest).max(tokens.len());
                    }
                    let hit = ConceptHit { concept: id, lang };
                    match tokens.as_slice() {
                        [single] => {
                            lexicon.singles.insert(single.clone(), hit);
                        }
                        _ => {
                            lexicon.phrases.insert(tokens.join(" "), hit);
                        }
                    }
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
        for (rule, concept) in &raw.rules {
            let line = line_of(source, rule.span().start);
            let Some(slot) = Rule::ALL.iter().position(|r| r.name() == rule.get_ref()) else {
                let known: Vec<&str> = Rule::ALL.iter().map(|r| r.name()).collect();
                problems.push(Problem::error(
                    path,
                    line,
                    format!(
                        "`{}` is not a scoring rule (rules: {})",
                        rule.get_ref(),
                        known.join(", ")
                    ),
                ));
                continue;
            };
            match lexicon.concept(concept.get_ref()) {
                Some(id) => lexicon.rules[slot] = Some(id),
                None => problems.push(Problem::error(
                    path,
                    line,
                    format!(
                        "rule `{}` names `{}`, which is not a concept",
                        rule.get_ref(),
                        concept.get_ref()
                    ),
                )),
            }
        }
        let rules_line = source
            .lines()
            .position(|l| l.trim() == "[rules]")
            .map_or(1, |i| i + 1);
        for (rule, concept) in Rule::ALL.iter().zip(lexicon.rules) {
            let named = raw.rules.keys().any(|r| r.get_ref() == rule.name());
            if concept.is_none() && !named {
                problems.push(Problem::error(
                    path,
                    rules_line,
                    format!(
                        "`[rules]` lacks `{}`, which the scorer needs (`{} = \"<concept>\"`)",
                        rule.name(),
                        rule.name()
                    ),
                ));
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

    /// The concept that plays `rule`'s part (every rule has one in a lexicon that parsed).
    pub fn rule(&self, rule: Rule) -> Option<ConceptId> {
        self.rules[rule.slot()]
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

    /// How many words the longest phrase starting with this word holds, if a phrase of two or
    /// more words does.
    pub fn longest_phrase_from(&self, word: &str) -> Option<usize> {
        self.phrase_starts.get(word).copied()
    }

    /// An exact phrase (one or more folded tokens).
    pub fn phrase(&self, tokens: &[String]) -> Option<ConceptHit> {
        match tokens {
            [single] => self.single(single),
            _ => self.phrase_joined(&tokens.join(" ")),
        }
    }

    /// A phrase of two or more folded tokens joined by one space ("pushed back").
    pub fn phrase_joined(&self, joined: &str) -> Option<ConceptHit> {
        self.phrases.get(joined).copied()
    }

    /// A single folded word.
    pub fn single(&self, word: &str) -> Option<ConceptHit> {
        self.singles.get(word).copied()
    }

    /// A single word, by its surface form first, then by its stem in either language.
    pub fn word(&self, word: &str) -> Option<ConceptId> {
        let (pt, en) = stems(word);
        self.word_with_stems(word, &pt, &en)
    }

    /// [`Lexicon::word`] for a caller that already has the word's stems.
    pub fn word_with_stems(&self, word: &str, pt_stem: &str, en_stem: &str) -> Option<ConceptId> {
        if let Some(hit) = self.single(word) {
            return Some(hit.concept);
        }
        self.by_stem_pt
            .get(pt_stem)
            .or_else(|| self.by_stem_en.get(en_stem))
            .copied()
    }

    /// Every single-word surface form, for typo correction.
    pub fn words(&self) -> impl Iterator<Item = &str> {
        self.singles.keys().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = r#"
question_words = ["when", "amount"]
[rules]
how_many = "amount"
when = "when"
who = "who"
where = "where"
name = "name"
money = "money"
cost = "money"
price = "money"
thanks = "thanks"
negation = "negation"
succeed = "succeed"
fail = "fail"
confirmation = "confirm"
day = "day"
duration = "duration"
span = "soon"
precise = "precise"
summary = "summary"
[concepts]
delay = { pt = ["atraso", "adiado"], en = ["delay", "pushed back"] }
when = { pt = ["quando"], en = ["when"] }
amount = { pt = ["quanto"], en = ["how much"] }
who = { en = ["who"] }
where = { en = ["where"] }
name = { en = ["name"] }
money = { en = ["dollars"] }
thanks = { en = ["thanks"] }
negation = { en = ["not"] }
succeed = { en = ["worked"] }
fail = { en = ["failed"] }
confirm = { en = ["right"] }
day = { en = ["what day"] }
duration = { en = ["how long"] }
soon = { en = ["weeks"] }
precise = { en = ["exactly"] }
summary = { en = ["tldr"] }
"#;

    #[test]
    fn each_rule_names_the_concept_that_plays_its_part() {
        let lexicon = Lexicon::parse(Path::new("lexicon.toml"), SOURCE).expect("valid");
        let amount = lexicon.concept("amount");
        assert_eq!(lexicon.rule(Rule::HowMany), amount);
        assert_eq!(lexicon.rule(Rule::Price), lexicon.concept("money"));
        assert!(Rule::ALL.iter().all(|rule| lexicon.rule(*rule).is_some()));
    }

    #[test]
    fn every_rule_sits_at_its_slot_in_all() {
        for (slot, rule) in Rule::ALL.iter().enumerate() {
            assert_eq!(rule.slot(), slot, "{rule:?}");
        }
    }

    #[test]
    fn a_lexicon_missing_a_rule_or_naming_no_concept_is_refused_at_the_line() {
        let missing = SOURCE.replace("fail = \"fail\"\n", "");
        let problems = Lexicon::parse(Path::new("lexicon.toml"), &missing).expect_err("no fail");
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].message.contains("lacks `fail`"), "{problems:?}");
        assert_eq!(problems[0].line, 3, "the line of [rules]");

        let renamed = SOURCE.replace("when = \"when\"", "when = \"quando\"");
        let problems = Lexicon::parse(Path::new("lexicon.toml"), &renamed).expect_err("no concept");
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0]
            .message
            .contains("`quando`, which is not a concept"));
        assert_eq!(problems[0].line, 5);

        let unknown = SOURCE.replace("[rules]\n", "[rules]\nwhy = \"when\"\n");
        let problems = Lexicon::parse(Path::new("lexicon.toml"), &unknown).expect_err("no rule");
        assert!(problems[0].message.contains("`why` is not a scoring rule"));
        assert_eq!(problems[0].line, 4);
    }

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
        let source = format!("{SOURCE}a = {{ en = [\"late\"] }}\nb = {{ en = [\"late\"] }}\n");
        let problems = Lexicon::parse(Path::new("lexicon.toml"), &source).expect_err("ambiguous");
        assert_eq!(problems.len(), 1, "{problems:?}");
        let b_line = source
            .lines()
            .position(|l| l.starts_with("b = "))
            .expect("b")
            + 1;
        assert_eq!(problems[0].line, b_line);
        assert!(
            problems[0].message.contains("`late`"),
            "{}",
            problems[0].message
        );
    }
}
