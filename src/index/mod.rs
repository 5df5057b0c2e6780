//! The question-to-fact index: matches a question in Portuguese or English to a fact card, to a
//! sentence of the article, or to nothing.
//!
//! How a question is read:
//! 1. [`tokenize`] folds case and accents; numbers and model codes become exact-only tokens.
//! 2. Lexicon phrases and words become concepts (question words first, so "quando" and "quanto"
//!    stay apart); stop words are dropped; every other word is kept as its Snowball stem in both
//!    languages, so no language detection is needed.
//! 3. A word the index has never seen is corrected token by token (OSA distance bounded by the
//!    word's length, ties broken by Jaro-Winkler) against the words of the cards, the article and
//!    the lexicon; a correction counts a little less than an exact hit.
//!
//! How a card is scored: every query term weighs its rarity across cards (a word no card knows
//! weighs most, so "how many *parameters* does R2 have" cannot ride on "R2"). A card scores the
//! weighted share of the question it covers, blended with how well its closest paraphrase and the
//! question cover each other. Below [`Tuning::answer_threshold`] the best article sentence is
//! tried as a direct passage, and below that the index abstains. Thresholds come from the dev set
//! in `tests/data/devset.tsv` (see `tests/quality.rs`).

/// Hash maps keyed by words and keys: foldhash (seeded per process) instead of SipHash, which was
/// the largest single cost of building the index.
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
type HashSet<K> = std::collections::HashSet<K, foldhash::fast::RandomState>;

use crate::answer::{
    chit_chat_text, passage_text, refusal_text, suggestion_text, uncovered_text, Answer, Lang,
    Matched,
};
use crate::facts::FactCard;
use crate::lexicon::{ConceptHit, ConceptId, Lexicon, Rule};
use crate::reader;
use crate::responses::Responses;
use crate::text::{
    fold, is_common_word, is_stopword, is_stopword_in, laughter, pt_infinitives, stems,
    stopword_lang, tokenize, Token, TokenKind,
};

mod builder;
mod keys;

pub use builder::IndexBuilder;
use keys::{Interner, Key, KeySet, KeyText, TermKeys};

/// Only this many characters of a question are read: no real question is longer, and it bounds
/// the time an answer takes whatever is pasted (Discord allows 6000 in an option).
pub const MAX_QUESTION_CHARS: usize = 1000;
/// At most this many distinct words of a question are scored, and typo-corrected.
const MAX_QUERY_TERMS: usize = 48;

/// The part of a question that is read.
fn question_prefix(question: &str) -> &str {
    match question.char_indices().nth(MAX_QUESTION_CHARS) {
        Some((end, _)) => &question[..end],
        None => question,
    }
}

/// Scoring constants, measured on the dev set.
#[derive(Debug, Clone, Copy)]
pub struct Tuning {
    /// A card below this score is not answered.
    pub answer_threshold: f32,
    /// An article sentence below this coverage is not quoted as a direct passage.
    pub passage_threshold: f32,
    /// Share of the card-wide coverage in a card's score (the rest is the best paraphrase).
    pub card_weight: f32,
    /// How much a term found only in a card's answer or quotes counts, against its questions.
    pub secondary_weight: f32,
    /// How much a typo-corrected term counts against an exact one.
    pub fuzzy_factor: f32,
    /// Share of coverage (question covered by a paraphrase) in a paraphrase's fit.
    pub coverage_weight: f32,
    /// Alternatives below this score are not suggested.
    pub alternative_floor: f32,
    /// Least weight of a question word: the kind of answer asked for is never incidental.
    pub question_word_weight: f32,
    /// Least weight of a number or model code: `r2` is not `r1` however common both are.
    pub exact_weight: f32,
    /// Weight of a word no card and no sentence knows: what the question is really about
    /// ("parameters", "CEO") is usually the word the article lacks.
    pub unknown_weight: f32,
    /// Weight of a word no card or sentence holds that is a common word of either language
    /// ("yesterday", "novo", "side") and not in the lexicon: chatter around the question, not
    /// what it asks about.
    pub common_word_weight: f32,
    /// Weight of a word the article lacks in a question tagged for confirmation ("R1 was trained
    /// on H100s, right?"): it is the claim to check, and the card holding the fact corrects it.
    pub premise_weight: f32,
    /// Each further unknown word of a question weighs this much of the one before: the first
    /// unknown word is likely what the question is about; the fifth, in a long question, filler.
    pub unknown_decay: f32,
    /// Score factor for a card about another model of the same family than the one asked
    /// about (`r1` card, question about `r2`; `h800` card, question about `h20`).
    pub entity_conflict_factor: f32,
    /// A card between this and `answer_threshold` is offered as "did you mean", not answered.
    pub suggest_threshold: f32,
    /// Least score of a second (or third) card answered in the same reply as a first.
    pub extra_part_threshold: f32,
    /// Score factor for a card that can give the kind of answer asked but is not about it.
    pub unasked_kind_factor: f32,
    /// Least share of the question a suggested card must cover.
    pub suggest_min_coverage: f32,
    /// How much more of a question a quote must cover to lead instead of the card's first.
    pub lead_margin: f32,
    /// How much more a word of outcome (worked, failed) counts when choosing the leading quote.
    pub outcome_lead_factor: f32,
    /// How much a known word of another clause of the message counts (the preamble's context).
    pub context_factor: f32,
    /// Score factor for a card none of whose questions asks the specific kind of answer wanted
    /// (how many, when, who, where): "how many engineers" is not "which engineers".
    pub answer_type_factor: f32,
}

impl Default for Tuning {
    fn default() -> Tuning {
        Tuning {
            answer_threshold: 0.55,
            passage_threshold: 0.8,
            card_weight: 0.5,
            secondary_weight: 0.6,
            fuzzy_factor: 0.85,
            coverage_weight: 0.7,
            alternative_floor: 0.15,
            question_word_weight: 1.5,
            exact_weight: 2.0,
            unknown_weight: 4.0,
            common_word_weight: 2.0,
            premise_weight: 1.0,
            unknown_decay: 1.0,
            suggest_threshold: 0.35,
            extra_part_threshold: 0.75,
            context_factor: 0.7,
            lead_margin: 0.1,
            outcome_lead_factor: 3.0,
            suggest_min_coverage: 0.45,
            unasked_kind_factor: 0.85,
            entity_conflict_factor: 0.5,
            answer_type_factor: 0.6,
        }
    }
}

/// One meaningful unit of a text after analysis.
#[derive(Debug, Clone)]
struct Term {
    /// What the term matches; none for a word no card or sentence holds.
    keys: TermKeys,
    /// 1.0, or less when the term is a typo correction.
    factor: f32,
    /// The folded word the term came from (for typo correction and debugging).
    surface: String,
    kind: TokenKind,
    role: Role,
    /// Whether the lexicon lists it (a concept), rather than the index knowing it by its stem.
    listed: bool,
}

impl Term {
    /// Whether the term counts in a score (filler and small talk do not).
    fn is_scored(&self) -> bool {
        matches!(
            self.role,
            Role::Content | Role::Exact | Role::QuestionWord | Role::Claim
        )
    }
}

/// What a term contributes to a question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// What the question is about.
    Content,
    /// A number or model code.
    Exact,
    /// Only the kind of answer wanted (why, when, how many...).
    QuestionWord,
    /// A word the article lacks in a question tagged for confirmation ("R1 was trained on
    /// H100s, right?"): the claim to check, not what is asked. The card holding the fact
    /// answers, and its quote confirms or corrects the claim.
    Claim,
    /// Tag questions, filler and laughter: dropped.
    Filler,
    /// Thanks, greetings, questions about the bot: dropped, and mark the clause as small talk.
    ChitChat,
}

/// A paraphrase (question, keyword, description) of a card, as analysed terms.
#[derive(Debug)]
struct Paraphrase {
    card: usize,
    /// The card's own wording; autocomplete offers the questions among them.
    text: String,
    folded: String,
    is_question: bool,
    lang: Option<Lang>,
    keys: Vec<TermKeys>,
    weight: f32,
}

#[derive(Debug)]
struct CardProfile {
    /// Keys of its questions, keywords, names and descriptions.
    primary: KeySet,
    /// Keys of its fact: quotes, glosses and answer.
    secondary: KeySet,
    /// Whether the card's fact (answer and quotes) states a number, and a time.
    states_number: bool,
    states_time: bool,
    /// Whether its fact states a day of a month ("15 de maio"), and a span of time ("in the
    /// coming weeks").
    states_day: bool,
    states_span: bool,
    /// Model codes the card's answer and quotes mention (`r1`, `h800`...): what its fact is
    /// about, whatever its questions mention in passing ("R2's predecessor").
    codes: HashSet<String>,
    /// Whether the card's fact states an amount of money.
    states_money: bool,
    /// The card's quotes (with their glosses), in the card's order.
    citations: Vec<PieceProfile>,
    /// The sentences of the card's answer, per language (pt, en).
    answer_sentences: [Vec<PieceProfile>; 2],
}

/// Whether two words differ by two neighbouring letters swapped, and nothing else.
fn is_transposition(word: &str, other: &str) -> bool {
    strsim::osa_distance(word, other) == 1 && strsim::levenshtein(word, other) == 2
}

/// The keys of negation, success and failure, when the texts hold all three: a negated success
/// is a failure.
fn failure_keys(rule_key: impl Fn(Rule) -> Option<Key>) -> Option<[Key; 3]> {
    Some([
        rule_key(Rule::Negation)?,
        rule_key(Rule::Succeed)?,
        rule_key(Rule::Fail)?,
    ])
}

/// What a piece of text states that some kinds of answer need, read from its tokens once.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Stated {
    /// A quantity: a number or a percentage, not a model code ("R2", "H20").
    number: bool,
    /// A number that can be a day of a month ("15", "15th", "1º"); with a time word beside it,
    /// it dates something to the day.
    day_number: bool,
}

impl Stated {
    fn of(tokens: &[Token]) -> Stated {
        let exact = |t: &Token| t.kind == TokenKind::Exact;
        let number = tokens
            .iter()
            .any(|t| exact(t) && code_family(&t.text).is_none() && t.text != "$");
        let day_number = tokens.iter().enumerate().any(|(i, t)| {
            let digits = t.text.trim_end_matches(|c: char| !c.is_ascii_digit());
            let suffix = &t.text[digits.len()..];
            // "15%" is a share, not the 15th.
            let percent = tokens.get(i + 1).is_some_and(|next| next.text == "%");
            exact(t)
                && !percent
                && matches!(suffix, "" | "st" | "nd" | "rd" | "th" | "o" | "º")
                && digits
                    .parse::<u32>()
                    .is_ok_and(|day| (1..=31).contains(&day))
        });
        Stated { number, day_number }
    }

    #[cfg(test)]
    fn of_text(text: &str) -> Stated {
        Stated::of(&tokenize(text))
    }
}

/// The family of a model code: its leading letters (`r` for `r1`/`r2`, `h` for `h20`/`h800`).
/// Pure numbers have none.
fn code_family(code: &str) -> Option<&str> {
    let letters = code.trim_end_matches(|c: char| c.is_ascii_digit());
    let is_code = !letters.is_empty()
        && letters.len() < code.len()
        && letters.chars().all(|c| c.is_alphabetic());
    is_code.then_some(letters)
}

#[derive(Debug)]
struct SentenceProfile {
    sentence: usize,
    keys: KeySet,
    stated: Stated,
}

/// How much of a question each paraphrase holds, and which paraphrases hold any of it (in the
/// order first met).
struct Coverage {
    covered_by: Vec<f32>,
    touched: Vec<u32>,
}

/// A card's standing for one question.
#[derive(Debug, Clone, Copy)]
struct Ranked {
    card: usize,
    score: f32,
    /// Weighted share of the question the card's vocabulary covers.
    coverage: f32,
    lang: Option<Lang>,
}

/// An autocomplete suggestion: a question from a card, or a command name.
#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    pub text: String,
    pub command: String,
    pub score: f32,
}

/// The immutable index. Build once, share behind an `Arc`, replace whole on reload.
#[derive(Debug)]
pub struct Index {
    responses: Responses,
    tuning: Tuning,
    keys: Interner,
    /// The meaning of every word the cards and the article use, found while building: a
    /// question's known words are looked up, not stemmed again.
    words: HashMap<Box<str>, WordMeaning>,
    /// Number of cards whose vocabulary holds each key.
    card_df: Vec<u32>,
    cards: Vec<CardProfile>,
    paraphrases: Vec<Paraphrase>,
    /// For each key, the paraphrases holding it (each once).
    postings: Vec<Vec<u32>>,
    sentences: Vec<SentenceProfile>,
    /// Every folded word the index knows, by length, with its letter histogram, for typo
    /// correction.
    vocabulary: Vec<Vec<(String, LetterCounts)>>,
    /// Words seen only in one language's questions, for reply-language evidence.
    word_lang: HashMap<String, Lang>,
    /// Keys of the question words that ask for a specific kind of answer (who, where, a name).
    specific_answer_types: Vec<Key>,
    /// The key of each scoring rule's concept, in [`Rule::ALL`]'s order.
    rule_keys: [Option<Key>; Rule::ALL.len()],
    /// Keys of the concepts that date something.
    time_keys: Vec<Key>,
}

impl Index {
    pub fn build(responses: Responses) -> Index {
        IndexBuilder::new(responses).build()
    }

    pub fn with_tuning(responses: Responses, tuning: Tuning) -> Index {
        IndexBuilder::new(responses).tuning(tuning).build()
    }

    /// The key of the concept that plays `rule`'s part, if any card or sentence holds it.
    fn rule_key(&self, rule: Rule) -> Option<Key> {
        self.rule_keys[rule.slot()]
    }

    /// Whether a term is exactly the concept of `rule`.
    fn names_rule(&self, term: &Term, rule: Rule) -> bool {
        self.rule_key(rule).is_some_and(|k| term.keys.contains(k))
    }

    /// Whether a question word asks for this kind of answer.
    fn asks_kind(&self, term: &Term, kind: AnswerKind) -> bool {
        let rule = match kind {
            AnswerKind::Amount => Rule::HowMany,
            AnswerKind::When => Rule::When,
            AnswerKind::Day => Rule::Day,
            AnswerKind::Duration => Rule::Duration,
        };
        self.names_rule(term, rule)
    }

    pub fn responses(&self) -> &Responses {
        &self.responses
    }

    pub fn cards(&self) -> &[FactCard] {
        &self.responses.cards
    }

    pub fn card(&self, name: &str) -> Option<&FactCard> {
        self.responses.card(name)
    }

    /// The answer a fact command gives, in `lang`.
    pub fn fact_answer(&self, name: &str, lang: Lang) -> Option<Answer> {
        let card = self
            .responses
            .cards
            .iter()
            .position(|c| c.command == name)
            .or_else(|| {
                self.responses
                    .cards
                    .iter()
                    .position(|c| c.names().any(|n| n == name))
            })?;
        Some(self.card_answer(card, 1.0, lang, Vec::new(), &[]))
    }

    /// Answers a chat message. `lang` forces the reply language; otherwise it is inferred.
    ///
    /// The message is read first ([`crate::reader`]): markup out, clauses found. The clauses
    /// that ask something are scored each, with the known words of the rest of the message as
    /// lighter context (a preamble's unknown words never count against the question). The best
    /// clause gives the answer; another clause that confidently matches another card is answered
    /// too, and one the article does not cover is named.
    pub fn ask(&self, message: &str, lang: Option<Lang>) -> Answer {
        let reading = self.read(question_prefix(message));
        self.answer_reading(&reading, 0, lang)
    }

    /// Answers a message that follows `previous` in a conversation (a thread, a DM): a follow-up
    /// that names little ("e quando sai?", "and who pays?") is read with the previous question's
    /// words as context, and one that names no model is about the model named before. Only the
    /// follow-up is answered; a follow-up that stands alone is answered as [`Index::ask`] would.
    pub fn ask_follow_up(&self, message: &str, previous: &str, lang: Option<Lang>) -> Answer {
        let alone = self.ask(message, lang);
        if alone.is_answered() || alone.is_chit_chat() {
            return alone;
        }
        let mut reading = self.read(question_prefix(previous));
        let first = reading.clauses.len();
        let follow_up = self.read(question_prefix(message));
        reading.clauses.extend(follow_up.clauses);
        reading.wants_summary.extend(follow_up.wants_summary);
        reading.cleaned = follow_up.cleaned;
        reading.thanks = follow_up.thanks;
        reading.earlier_messages = first;
        let read_with_previous = self.answer_reading(&reading, first, lang);
        if read_with_previous.is_answered() {
            read_with_previous
        } else {
            alone
        }
    }

    /// Answers the clauses of `reading` from `first` on; those before are context only.
    fn answer_reading(&self, reading: &Reading, first: usize, lang: Option<Lang>) -> Answer {
        let reply_lang = |best_paraphrase_lang: Option<Lang>| {
            lang.or_else(|| self.evidence_lang(&reading.cleaned))
                .or(best_paraphrase_lang)
                .unwrap_or(Lang::En)
        };
        let focus: Vec<usize> = reading.focus(first);
        // "tldr?" asks for the story; "tldr of the AMD part?" names a topic and is read as usual.
        let later = first.min(reading.clauses.len());
        if reading.wants_summary[later..].iter().any(|&asked| asked)
            && !reading.clauses[later..].iter().any(|c| c.has_topic)
        {
            if let Some(summary) = self.summary(reply_lang(None)) {
                return summary;
            }
        }
        if focus.is_empty() {
            let lang = reply_lang(None);
            if reading.clauses[first.min(reading.clauses.len())..]
                .iter()
                .any(|c| c.kind == ClauseKind::ChitChat)
            {
                return self.chit_chat(lang, reading.thanks);
            }
            return self.refusal(lang, Vec::new(), 0.0);
        }
        let scored: Vec<ScoredClause> = focus
            .iter()
            .map(|&i| {
                let query = reading.query_for(i, self.tuning.context_factor);
                let ranked = self.rank_cards(&query);
                ScoredClause {
                    clause: i,
                    query,
                    ranked,
                }
            })
            .collect();
        let main = scored
            .iter()
            .enumerate()
            .max_by(|(ia, a), (ib, b)| {
                a.best_score().total_cmp(&b.best_score()).then(ib.cmp(ia)) // the earlier clause on ties
            })
            .map_or(0, |(i, _)| i);
        let main_clause = &scored[main];
        let lang = reply_lang(main_clause.ranked.first().and_then(|r| r.lang));
        let mut answer = self.decide(main_clause, lang, self.tuning.answer_threshold);
        let mut answered: Vec<usize> = answer_card(&answer, &self.responses.cards)
            .into_iter()
            .collect();
        for (i, other) in scored.iter().enumerate() {
            if i == main || answer.more.len() >= MAX_EXTRA_PARTS {
                continue;
            }
            let clause = &reading.clauses[other.clause];
            // A second card in one reply must be surer than the first: a wrong extra card spoils
            // the whole reply.
            let mut part = self.decide(other, lang, self.tuning.extra_part_threshold);
            part.alternatives.clear();
            match answer_card(&part, &self.responses.cards) {
                Some(card) if answered.contains(&card) => continue,
                Some(card) => answered.push(card),
                None if part.is_answered() => {}
                // A suggestion or a refusal is worth saying only beside a real answer, and only
                // for a part that names something.
                None if !(answer.is_answered() && clause.has_topic) => continue,
                None if part.is_suggested() => {
                    part.alternatives = other
                        .ranked
                        .iter()
                        .take(1)
                        .map(|r| self.responses.cards[r.card].command.clone())
                        .collect();
                }
                None => part.summary = uncovered_text(lang).to_string(),
            }
            part.clause = Some(clause.text.clone());
            answer.more.push(part);
        }
        if !answer.more.is_empty() {
            answer.clause = Some(reading.clauses[main_clause.clause].text.clone());
        }
        answer
    }

    /// The story in brief: the cards the article names as its summary, headline first, each part
    /// headed by its card's description. `None` when the article names none.
    fn summary(&self, lang: Lang) -> Option<Answer> {
        let mut parts = self
            .responses
            .article
            .meta
            .summary
            .iter()
            .filter_map(|name| {
                let card = self
                    .responses
                    .cards
                    .iter()
                    .position(|card| card.names().any(|n| n == name))?;
                let mut part = self.card_answer(card, 1.0, lang, Vec::new(), &[]);
                part.clause = Some(self.responses.cards[card].description.get(lang).to_string());
                Some(part)
            });
        let mut answer = parts.next()?;
        answer.more.extend(parts);
        if answer.more.is_empty() {
            answer.clause = None;
        }
        Some(answer)
    }

    /// The outcome for one scored clause: a card, a passage, a suggestion, or a refusal.
    /// The answer to one scored clause: its best card if that scores `answer_at` or more; "did
    /// you mean" for a card above the answer threshold but below `answer_at` (an extra part of
    /// a reply); else a direct passage, a suggestion or a refusal.
    fn decide(&self, scored: &ScoredClause, lang: Lang, answer_at: f32) -> Answer {
        let ranked = &scored.ranked;
        let alternatives = |skip: Option<usize>| -> Vec<String> {
            ranked
                .iter()
                .filter(|r| Some(r.card) != skip && r.score >= self.tuning.alternative_floor)
                .take(3)
                .map(|r| self.responses.cards[r.card].command.clone())
                .collect()
        };
        let Some(best) = ranked.first() else {
            return self.refusal(lang, Vec::new(), 0.0);
        };
        let answer_at = answer_at.max(self.tuning.answer_threshold);
        if best.score >= self.tuning.answer_threshold && best.score < answer_at {
            return Answer {
                alternatives: alternatives(None),
                ..self.suggestion(lang, best.score)
            };
        }
        if best.score >= answer_at {
            return self.card_answer(
                best.card,
                best.score,
                lang,
                alternatives(Some(best.card)),
                &scored.query,
            );
        }
        if let Some((sentence, coverage)) = self.best_sentence(&scored.query) {
            if coverage >= self.tuning.passage_threshold
                && self.passage_can_answer(sentence, &scored.query)
            {
                let article = &self.responses.article;
                let sentence = &article.sentences[sentence];
                return Answer {
                    matched: Matched::Passage {
                        paragraph: sentence.paragraph,
                    },
                    confidence: coverage,
                    lang,
                    summary: passage_text(lang).to_string(),
                    citations: vec![article.citation_for(sentence)],
                    alternatives: alternatives(None),
                    clause: None,
                    more: Vec::new(),
                };
            }
        }
        // A suggestion needs the card to cover most of the question: "who is the CEO" shares
        // only "DeepSeek" with any card, and deserves a plain refusal.
        if best.score >= self.tuning.suggest_threshold
            && best.coverage >= self.tuning.suggest_min_coverage
        {
            return Answer {
                alternatives: alternatives(None),
                ..self.suggestion(lang, best.score)
            };
        }
        self.refusal(lang, alternatives(None), best.score)
    }

    /// "Did you mean": the card is plausible but not sure enough to answer with.
    fn suggestion(&self, lang: Lang, confidence: f32) -> Answer {
        Answer {
            matched: Matched::Suggested,
            confidence,
            lang,
            summary: suggestion_text(lang).to_string(),
            citations: Vec::new(),
            alternatives: Vec::new(),
            clause: None,
            more: Vec::new(),
        }
    }

    /// How a message is read and scored, for people tuning cards and the lexicon.
    pub fn explain(&self, message: &str) -> String {
        let reading = self.read(question_prefix(message));
        let focus = reading.focus(0);
        let mut out = String::new();
        for (i, clause) in reading.clauses.iter().enumerate() {
            let scored = if focus.contains(&i) {
                "  <- scored"
            } else {
                ""
            };
            out.push_str(&format!(
                "clause {i} {:?} {:?}{scored}\n",
                clause.kind, clause.text
            ));
        }
        for &i in &focus {
            let query = reading.query_for(i, self.tuning.context_factor);
            out.push_str(&format!("scoring clause {i}:\n"));
            let weights = self.query_weights(&query);
            for (term, weight) in query.iter().zip(&weights) {
                let keys: Vec<String> = if term.keys.is_empty() {
                    vec!["<unknown>".to_string()]
                } else {
                    term.keys
                        .as_slice()
                        .iter()
                        .map(|k| self.key_name(*k))
                        .collect()
                };
                out.push_str(&format!(
                    "  term {:?} {:?} keys {:?} weight {:.2} factor {:.2}\n",
                    term.surface, term.role, keys, weight, term.factor
                ));
            }
            for ranked in self.rank_cards(&query).iter().take(3) {
                out.push_str(&format!(
                    "  card /{} score {:.3} coverage {:.3}\n",
                    self.responses.cards[ranked.card].command, ranked.score, ranked.coverage
                ));
            }
            if let Some((sentence, coverage)) = self.best_sentence(&query) {
                out.push_str(&format!("  sentence {sentence} {coverage:.3}\n"));
            }
        }
        out
    }

    fn key_name(&self, key: Key) -> String {
        let lexicon = &self.responses.lexicon;
        self.keys
            .describe(key, |id| lexicon.concept_name(id).to_string())
    }

    /// Autocomplete: up to `limit` card questions and command names for what the user has typed
    /// so far, best first. An empty input lists the commands.
    pub fn suggest(&self, typed: &str, limit: usize) -> Vec<Suggestion> {
        let typed_folded = fold(typed.trim());
        if typed_folded.is_empty() {
            return self
                .responses
                .cards
                .iter()
                .take(limit)
                .map(|card| Suggestion {
                    text: card.description.en.clone(),
                    command: card.command.clone(),
                    score: 0.0,
                })
                .collect();
        }
        let query: Vec<Term> = self
            .query_terms(typed)
            .into_iter()
            .filter(Term::is_scored)
            .collect();
        let weights = self.query_weights(&query);
        let query_weight: f32 = weights.iter().zip(&query).map(|(w, t)| w * t.factor).sum();
        let covered_by = self.paraphrase_coverage(&query, &weights).covered_by;
        let typed_folded = fold(question_prefix(typed).trim());
        // Scored by position first; only the choices returned are copied out.
        let mut scored: Vec<(usize, f32)> = Vec::new();
        for (id, (paraphrase, covered)) in self.paraphrases.iter().zip(covered_by).enumerate() {
            if !paraphrase.is_question {
                continue;
            }
            let folded = &paraphrase.folded;
            let mut score = 0.0;
            if folded.starts_with(&typed_folded) {
                score += 1.0;
            } else if folded.contains(typed_folded.as_str()) {
                score += 0.6;
            }
            if query_weight > 0.0 {
                score += covered / query_weight;
            }
            if score > 0.0 {
                scored.push((id, score));
            }
        }
        scored.sort_by(|&(a, sa), &(b, sb)| {
            sb.total_cmp(&sa)
                .then_with(|| self.paraphrases[a].text.cmp(&self.paraphrases[b].text))
        });
        let mut seen: HashSet<&str> = HashSet::default();
        scored
            .into_iter()
            .filter(|&(id, _)| seen.insert(self.paraphrases[id].folded.as_str()))
            .take(limit)
            .map(|(id, score)| {
                let paraphrase = &self.paraphrases[id];
                Suggestion {
                    text: paraphrase.text.clone(),
                    command: self.responses.cards[paraphrase.card].command.clone(),
                    score,
                }
            })
            .collect()
    }

    /// A card's answer, led by what answers this question: its quotes ranked by how much of the
    /// question each covers (ties keep the card's order), and the answer's best sentence first.
    fn card_answer(
        &self,
        card: usize,
        confidence: f32,
        lang: Lang,
        alternatives: Vec<String>,
        query: &[Term],
    ) -> Answer {
        let fact = &self.responses.cards[card];
        let profile = &self.cards[card];
        let weights = self.query_weights(query);
        let fit = |keys: &KeySet, states_number: bool, states_time: bool| -> f32 {
            query
                .iter()
                .zip(&weights)
                .filter(|(term, _)| match term.role {
                    // Which model a question names picks the card, not the quote within it: "what
                    // hardware is r2 trained on now" is answered by the quote about hardware, not
                    // by the one that names R2.
                    Role::Exact => false,
                    // A question word counts for the kind of fact a piece states, not for
                    // sharing the word ("why" with a gloss's "because").
                    Role::QuestionWord => {
                        (states_number && self.asks_kind(term, AnswerKind::Amount))
                            || (states_time && self.asks_kind(term, AnswerKind::When))
                    }
                    _ => keys.holds(&term.keys),
                })
                .map(|(term, weight)| {
                    // Whether an attempt worked is what a question about it asks ("huawei sent
                    // engineers, so it got fixed?"): the quote that says how it ended leads.
                    let outcome = if self.states_outcome(term) {
                        self.tuning.outcome_lead_factor
                    } else {
                        1.0
                    };
                    weight * term.factor * outcome
                })
                .sum()
        };
        // The card's own order stands unless a quote answers clearly more of this question.
        let mut order: Vec<(usize, f32)> = profile
            .citations
            .iter()
            .enumerate()
            .map(|(i, c)| (i, fit(&c.keys, c.states_number, c.states_time)))
            .collect();
        let margin = self.tuning.lead_margin;
        let leader = order
            .iter()
            .copied()
            .reduce(|best, next| if next.1 > best.1 + margin { next } else { best })
            .map_or(0, |(i, _)| i);
        order.sort_by_key(|&(i, _)| (i != leader, i));
        let citations = order
            .iter()
            .map(|(i, _)| fact.citations[*i].clone())
            .collect();
        let sentences = &profile.answer_sentences[lang_slot(lang)];
        let summary = match sentences
            .iter()
            .enumerate()
            .map(|(i, s)| (i, fit(&s.keys, s.states_number, s.states_time)))
            .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))
        {
            Some((best, score))
                if best > 0
                    && score
                        > self.tuning.lead_margin
                            + fit(
                                &sentences[0].keys,
                                sentences[0].states_number,
                                sentences[0].states_time,
                            ) =>
            {
                let mut parts: Vec<&str> = vec![sentences[best].text.as_str()];
                parts.extend(
                    sentences
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| *i != best)
                        .map(|(_, s)| s.text.as_str()),
                );
                parts.join(" ")
            }
            _ => fact.answer.get(lang).to_string(),
        };
        Answer {
            matched: Matched::Fact(fact.command.clone()),
            confidence,
            lang,
            summary,
            citations,
            alternatives,
            clause: None,
            more: Vec::new(),
        }
    }

    fn refusal(&self, lang: Lang, alternatives: Vec<String>, confidence: f32) -> Answer {
        Answer {
            matched: Matched::Nothing,
            confidence,
            lang,
            summary: refusal_text(lang).to_string(),
            citations: Vec::new(),
            alternatives,
            clause: None,
            more: Vec::new(),
        }
    }

    fn chit_chat(&self, lang: Lang, thanks: bool) -> Answer {
        Answer {
            matched: Matched::ChitChat,
            confidence: 0.0,
            lang,
            summary: chit_chat_text(lang, thanks).to_string(),
            citations: Vec::new(),
            alternatives: Vec::new(),
            clause: None,
            more: Vec::new(),
        }
    }

    /// Reads a message: markup out, clauses analysed and classified.
    fn read(&self, message: &str) -> Reading {
        let cleaned = reader::strip_markup(message);
        let mut clauses = Vec::new();
        let mut thanks = false;
        let mut wants_summary = Vec::new();
        for clause in merge_follow_ups(reader::clauses(&cleaned)) {
            for (text, asks) in self.split_at_inner_question(&clause.text, clause.asks) {
                let all_terms = self.query_terms(&text);
                let mut chit_chat = false;
                for term in &all_terms {
                    if term.role == Role::ChitChat {
                        chit_chat = true;
                        thanks |= self.names_rule(term, Rule::Thanks);
                    }
                }
                let summary = all_terms.iter().any(|t| self.names_rule(t, Rule::Summary));
                // A message of laughter and filler alone ("kkkk", "lol") is chat too: it asks
                // nothing, and "the article doesn't cover that" would answer a question nobody asked.
                chit_chat |= !summary
                    && !all_terms.is_empty()
                    && all_terms.iter().all(|t| t.role == Role::Filler);
                let confirming = self.asks_to_confirm(&all_terms);
                let terms: Vec<Term> = all_terms
                    .into_iter()
                    .filter(Term::is_scored)
                    .map(|mut term| {
                        let claimed = matches!(term.role, Role::Content | Role::Exact);
                        if confirming && claimed && !term.listed && !self.is_known(&term) {
                            term.role = Role::Claim;
                        }
                        term
                    })
                    .collect();
                let has_question_word = terms.iter().any(|t| t.role == Role::QuestionWord);
                let known_topics = terms
                    .iter()
                    .filter(|t| t.role != Role::QuestionWord && self.is_known(t))
                    .count();
                let has_exact = terms.iter().any(|t| t.role == Role::Exact);
                let has_topic = terms.iter().any(|t| t.role != Role::QuestionWord);
                // "%", "%%%", "$": symbols alone say nothing to match.
                let says_something = terms
                    .iter()
                    .any(|t| t.surface.chars().any(char::is_alphanumeric));
                let kind = if chit_chat && !has_question_word && !has_exact && known_topics <= 1 {
                    ClauseKind::ChitChat
                } else if !says_something {
                    ClauseKind::Empty
                } else if asks || has_question_word || opens_with_question_word(&text) {
                    ClauseKind::Question
                } else {
                    ClauseKind::Statement
                };
                let known: Vec<Term> = terms
                    .iter()
                    .filter(|t| t.role != Role::QuestionWord && self.is_known(t))
                    .cloned()
                    .collect();
                let topics = terms
                    .iter()
                    .filter(|t| matches!(t.role, Role::Content | Role::Exact))
                    .count();
                wants_summary.push(summary);
                clauses.push(ReadClause {
                    text,
                    kind,
                    terms,
                    known,
                    has_topic,
                    topics,
                });
            }
        }
        Reading {
            cleaned,
            clauses,
            thanks,
            wants_summary,
            earlier_messages: 0,
        }
    }

    /// A long clause whose question starts after a run-on preamble ("ok so i read about this
    /// yesterday and im confused why did r2 get delayed") is cut where the question word is.
    fn split_at_inner_question(&self, text: &str, asks: bool) -> Vec<(String, bool)> {
        let words: Vec<&str> = text.split_whitespace().collect();
        // "R1 came out when and when was R2 supposed to drop": a conjunction followed by a
        // question word starts a second question.
        if let Some(at) = (1..words.len().saturating_sub(2)).find(|&i| {
            // Unfolded: "é" (is) is not "e" (and).
            QUESTION_JOINERS.contains(&words[i].to_lowercase().as_str())
                && is_clause_opener(words[i + 1])
        }) {
            let mut parts = vec![(words[..at].join(" "), true)];
            parts.extend(self.split_at_inner_question(&words[at + 1..].join(" "), asks));
            return parts;
        }
        if words.len() < LONG_CLAUSE_WORDS {
            return vec![(text.to_string(), asks)];
        }
        // "como", "quando", "how", "when" also join clauses ("descreveram os H20 como
        // inseguros"): they open a question only after a comma; "why", "qual"... anywhere.
        let opens = |i: usize| {
            let folded = bare_word(words[i]);
            let after_comma = words[i - 1].ends_with([',', ':']);
            // "alguém sabe me dizer se a deepseek ainda usa...": after asking to be told, "se"
            // or "if" opens the question itself.
            let asked_whether = i + 1 < words.len()
                && WHETHER.contains(&bare_word(words[i - 1]).as_str())
                && words[i.saturating_sub(4)..i - 1]
                    .iter()
                    .any(|w| ASKING_VERBS.contains(&bare_word(w).as_str()));
            STRONG_CLAUSE_OPENERS.contains(&folded.as_str())
                || (after_comma && CLAUSE_OPENERS.contains(&folded.as_str()))
                || asked_whether
        };
        // "what's the name of the journalist who wrote it": after a question, "who" or "which"
        // with no comma before it opens a relative clause of the same question.
        let relative = |i: usize| {
            RELATIVE_PRONOUNS.contains(&bare_word(words[i]).as_str())
                && !words[i - 1].ends_with([',', ':'])
                && words[..i]
                    .iter()
                    .any(|w| STRONG_CLAUSE_OPENERS.contains(&bare_word(w).as_str()))
        };
        match (PREAMBLE_MIN_WORDS..words.len().saturating_sub(1))
            .find(|&i| opens(i))
            .filter(|&i| !relative(i))
        {
            Some(at) => vec![
                (words[..at].join(" "), false),
                (words[at..].join(" "), true),
            ],
            None => vec![(text.to_string(), asks)],
        }
    }

    /// Cards by score, best first, with the language of each card's best paraphrase.
    fn rank_cards(&self, query: &[Term]) -> Vec<Ranked> {
        let weights = self.query_weights(query);
        let total: f32 = weights.iter().sum();
        if total <= 0.0 {
            return Vec::new();
        }
        // Each card's best fit, the language of the paraphrase that gives it, and its id: on a
        // tie the card's first paraphrase wins, whatever order the postings met them in.
        let mut best_fit = vec![(0.0f32, None, u32::MAX); self.cards.len()];
        let coverage = self.paraphrase_coverage(query, &weights);
        // Only the paraphrases sharing a key with the question can fit it.
        for &id in &coverage.touched {
            let paraphrase = &self.paraphrases[id as usize];
            let covered = coverage.covered_by[id as usize];
            if covered <= 0.0 {
                continue;
            }
            let coverage = covered / total;
            let precision = (covered / paraphrase.weight.max(f32::EPSILON)).min(1.0);
            let fit = self.tuning.coverage_weight * coverage
                + (1.0 - self.tuning.coverage_weight) * precision;
            let slot = &mut best_fit[paraphrase.card];
            if fit > slot.0 || (fit == slot.0 && id < slot.2) {
                *slot = (fit, paraphrase.lang, id);
            }
        }
        // What the question asks for is the same for every card.
        // "How much does X cost" asks for money, as "how many dollars" does.
        let asks_amount = query
            .iter()
            .any(|t| t.role == Role::QuestionWord && self.asks_kind(t, AnswerKind::Amount));
        let names = |rule: Rule| {
            query
                .iter()
                .any(|t| t.factor >= 1.0 && self.names_rule(t, rule))
        };
        let asks_price = names(Rule::Price) || (asks_amount && names(Rule::Cost));
        let asks_money = query.iter().any(|t| self.names_rule(t, Rule::Money));
        let exact_words: Vec<&str> = query
            .iter()
            .filter(|t| t.role == Role::Exact)
            .map(|t| t.surface.as_str())
            .collect();
        let names_models = exact_words.iter().any(|w| code_family(w).is_some());
        // "How many tokens was R1 trained on": the thing to count is a word the article never
        // uses, so no card counts it, however well the rest of the question fits one.
        let counts_what_the_article_lacks = query.windows(2).any(|pair| {
            pair[0].role == Role::QuestionWord
                && self.asks_kind(&pair[0], AnswerKind::Amount)
                && pair[1].role == Role::Content
                && !self.is_known(&pair[1])
        });
        let mut ranked: Vec<Ranked> = self
            .cards
            .iter()
            .enumerate()
            .map(|(i, card)| {
                let mut covered = 0.0;
                let mut about = false;
                for (term, weight) in query.iter().zip(&weights) {
                    let hit = if card.primary.holds(&term.keys) {
                        about |= term.role != Role::QuestionWord;
                        1.0
                    } else if card.secondary.holds(&term.keys) {
                        self.tuning.secondary_weight
                    } else {
                        0.0
                    };
                    covered += weight * term.factor * hit;
                }
                let card_coverage = covered / total;
                let (fit, lang, _) = best_fit[i];
                // A card that shares only question words with the question is not about it.
                let mut score = if about {
                    self.tuning.card_weight * card_coverage + (1.0 - self.tuning.card_weight) * fit
                } else {
                    0.0
                };
                if counts_what_the_article_lacks {
                    score *= self.tuning.answer_type_factor;
                }
                if asks_price && !card.states_money {
                    score *= self.tuning.answer_type_factor;
                }
                // A card about other models than every one the question names ("when did
                // nvidia launch the h20" is not about R2's launch).
                let about_another = names_models
                    && !card.codes.is_empty()
                    && !exact_words.iter().any(|w| card.codes.contains(*w));
                if about_another {
                    score *= self.tuning.entity_conflict_factor;
                }
                for term in query {
                    let conflict = term.role == Role::Exact
                        && !card.codes.contains(&term.surface)
                        && code_family(&term.surface).is_some_and(|family| {
                            card.codes.iter().any(|c| code_family(c) == Some(family))
                        });
                    if conflict {
                        score *= self.tuning.entity_conflict_factor;
                    }
                    if term.role == Role::QuestionWord && !self.can_answer(card, term) {
                        score *= self.tuning.answer_type_factor;
                    } else if term.role == Role::QuestionWord
                        && (self.asks_kind(term, AnswerKind::Amount)
                            || self.asks_kind(term, AnswerKind::When)
                            || self.asks_kind(term, AnswerKind::Duration))
                        && !card.primary.holds(&term.keys)
                    {
                        // The fact states a time, but none of the card's questions asks when:
                        // a card that is about the date wins over one that mentions it.
                        score *= self.tuning.unasked_kind_factor;
                    }
                }
                // "How many dollars" is not answered by a percentage.
                if asks_money && !card.states_money {
                    score *= self.tuning.answer_type_factor;
                }
                Ranked {
                    card: i,
                    score,
                    coverage: card_coverage,
                    lang,
                }
            })
            .collect();
        ranked.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.card.cmp(&b.card)));
        ranked
    }

    /// For each paraphrase, the weight of the question's terms it holds (through the postings:
    /// only paraphrases sharing a key with the question are touched).
    fn paraphrase_coverage(&self, query: &[Term], weights: &[f32]) -> Coverage {
        let mut covered_by = vec![0.0f32; self.paraphrases.len()];
        let mut last_term = vec![usize::MAX; self.paraphrases.len()];
        let mut touched = Vec::new();
        for (term_index, (term, weight)) in query.iter().zip(weights).enumerate() {
            for key in term.keys.as_slice() {
                let postings = self
                    .postings
                    .get(key.index())
                    .map_or(&[][..], Vec::as_slice);
                for &id in postings {
                    let slot = id as usize;
                    if last_term[slot] == usize::MAX {
                        touched.push(id);
                    }
                    if last_term[slot] != term_index {
                        last_term[slot] = term_index;
                        covered_by[slot] += weight * term.factor;
                    }
                }
            }
        }
        Coverage {
            covered_by,
            touched,
        }
    }

    /// Whether a card can give the kind of answer a question word asks for: a number for "how
    /// many", a time for "when" (judged on the fact itself, not on how its questions are worded);
    /// for "who" and "where", one of its questions must ask it. Open kinds (why, how) always fit.
    fn can_answer(&self, card: &CardProfile, term: &Term) -> bool {
        if self.asks_kind(term, AnswerKind::Amount) {
            card.states_number
        } else if self.asks_kind(term, AnswerKind::When) {
            card.states_time
        } else if self.asks_kind(term, AnswerKind::Day) {
            card.states_day
        } else if self.asks_kind(term, AnswerKind::Duration) {
            card.states_span
        } else if self
            .specific_answer_types
            .iter()
            .any(|k| term.keys.contains(*k))
        {
            card.primary.holds(&term.keys)
        } else {
            true
        }
    }

    /// Whether a sentence can give the kind of answer asked: a number for "how many", a time for
    /// "when"; "who" and "where" are never answered by a bare sentence, which may name none.
    fn passage_can_answer(&self, sentence: usize, query: &[Term]) -> bool {
        let profile = &self.sentences[sentence];
        query
            .iter()
            .filter(|t| t.role == Role::QuestionWord)
            .all(|term| {
                let states_time = self.time_keys.iter().any(|k| profile.keys.contains(*k));
                if self.asks_kind(term, AnswerKind::Amount) {
                    profile.stated.number
                } else if self.asks_kind(term, AnswerKind::When) {
                    states_time
                } else if self.asks_kind(term, AnswerKind::Day) {
                    states_time && profile.stated.day_number
                } else if self.asks_kind(term, AnswerKind::Duration) {
                    self.rule_key(Rule::Span)
                        .is_some_and(|k| profile.keys.contains(k))
                } else {
                    !self
                        .specific_answer_types
                        .iter()
                        .any(|k| term.keys.contains(*k))
                }
            })
    }

    /// The article sentence covering the most of the question, and that coverage.
    fn best_sentence(&self, query: &[Term]) -> Option<(usize, f32)> {
        let weights = self.query_weights(query);
        let total: f32 = weights.iter().sum();
        if total <= 0.0 {
            return None;
        }
        self.sentences
            .iter()
            .map(|s| {
                let matched = query
                    .iter()
                    .zip(&weights)
                    .filter(|(t, _)| s.keys.holds(&t.keys));
                let mut about = false;
                let mut covered = 0.0;
                for (term, weight) in matched {
                    about |= term.role != Role::QuestionWord;
                    covered += weight * term.factor;
                }
                (s.sentence, if about { covered / total } else { 0.0 })
            })
            .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))
    }

    /// Rarity of a term across cards: a term no card knows weighs the most.
    /// The weights of a question's terms, each further unknown word decayed.
    fn query_weights(&self, query: &[Term]) -> Vec<f32> {
        let mut unknown_seen = 0;
        query
            .iter()
            .map(|term| {
                let weight = self.term_weight(term);
                if term.role == Role::Content && !self.is_known(term) {
                    let decayed = weight * self.tuning.unknown_decay.powi(unknown_seen);
                    unknown_seen += 1;
                    decayed
                } else {
                    weight
                }
            })
            .collect()
    }

    fn term_weight(&self, term: &Term) -> f32 {
        let rarity = self.key_weight(&term.keys);
        if term.role == Role::Content
            && !term.listed
            && !self.is_known(term)
            && is_common_word(&term.surface)
        {
            return self.tuning.common_word_weight;
        }
        match term.role {
            Role::Content => rarity,
            Role::Exact => rarity.max(self.tuning.exact_weight),
            // A kind of answer no card's text names ("what's it called") is still only a kind
            // of answer, not a topic the article lacks.
            Role::QuestionWord if self.card_frequency(&term.keys) == 0 => {
                self.tuning.question_word_weight
            }
            Role::QuestionWord => rarity.max(self.tuning.question_word_weight),
            Role::Claim => self.tuning.premise_weight,
            Role::Filler | Role::ChitChat => 0.0,
        }
    }

    /// How many cards hold one of the keys (the most for any one key).
    fn card_frequency(&self, keys: &TermKeys) -> u32 {
        keys.as_slice()
            .iter()
            .map(|k| self.card_df.get(k.index()).copied().unwrap_or(0))
            .max()
            .unwrap_or(0)
    }

    fn key_weight(&self, keys: &TermKeys) -> f32 {
        let cards = self.cards.len() as f32;
        let df = self.card_frequency(keys);
        if df == 0 {
            return self.tuning.unknown_weight;
        }
        ((cards + 1.0) / (df as f32 + 0.5)).ln().max(0.05)
    }

    /// Whether any card or article sentence holds one of the term's keys.
    fn is_known(&self, term: &Term) -> bool {
        !term.keys.is_empty()
    }

    /// Analyses a question and corrects the words the index does not know.
    fn query_terms(&self, question: &str) -> Vec<Term> {
        let mut terms = self.analyze(question_prefix(question));
        // A word repeated is one term; an unknown word is known by its surface alone.
        let mut seen_words = HashSet::default();
        terms.retain(|t| seen_words.insert(t.surface.clone()));
        terms.truncate(MAX_QUERY_TERMS);
        let mut read = Vec::with_capacity(terms.len());
        for term in terms {
            // A word the lexicon lists ("based", "ano") is spelled as meant, even if no card
            // holds it: it is not a typo of a word some card holds ("bashed").
            if term.kind != TokenKind::Word || self.is_known(&term) || term.listed {
                read.push(term);
                continue;
            }
            let Some(corrected) = self
                .known_infinitive(&term.surface)
                .or_else(|| self.correct(&term.surface))
            else {
                read.push(term);
                continue;
            };
            match self.analyze(&corrected).into_iter().next() {
                // A word of five letters or more that a changed letter turns into filler is more
                // likely a word the index lacks ("multa", a fine) than misspelt filler ("malta"):
                // it stays. Two letters swapped are a slip of the fingers ("exaclty").
                Some(fixed)
                    if fixed.role == Role::Filler
                        && term.surface.chars().count() >= 5
                        && !is_transposition(&term.surface, &corrected) =>
                {
                    read.push(term)
                }
                Some(fixed) => read.push(Term {
                    factor: self.tuning.fuzzy_factor,
                    ..fixed
                }),
                // A misspelt stop word ("teh", "becuase") carries no meaning either: it is dropped.
                None => {}
            }
        }
        self.negate_success(&mut read);
        self.sharpen_when(&mut read);
        let mut seen = HashSet::default();
        read.retain(|t| t.keys.is_empty() || seen.insert(t.keys));
        read
    }

    /// Whether a term says how something ended: it worked, or it failed.
    fn states_outcome(&self, term: &Term) -> bool {
        self.names_rule(term, Rule::Succeed) || self.names_rule(term, Rule::Fail)
    }

    /// Whether a clause is a claim put up for confirmation: a tag before or after all that it
    /// says ("..., right?", "iirc ...", "é verdade que ..."). Inside the clause the same words
    /// are not a tag ("the right to sell").
    fn asks_to_confirm(&self, terms: &[Term]) -> bool {
        let is_tag = |t: &Term| self.names_rule(t, Rule::Confirmation);
        let said = |t: &&Term| t.is_scored();
        let before = terms.iter().take_while(|t| !t.is_scored()).any(is_tag);
        let after = terms.iter().rev().take_while(|t| !said(t)).any(is_tag);
        before || after
    }

    /// "When exactly", "quando ao certo": asking when with a word of precision asks for the day,
    /// which a month does not give.
    fn sharpen_when(&self, terms: &mut [Term]) {
        let (Some(day), true) = (
            self.rule_key(Rule::Day),
            terms.iter().any(|t| self.names_rule(t, Rule::Precise)),
        ) else {
            return;
        };
        for term in terms.iter_mut() {
            if self.names_rule(term, Rule::When) {
                term.keys = TermKeys::one(day);
            }
        }
    }

    /// "não funcionou", "n deu certo", "didn't succeed": a negation right before a word of success
    /// is one word of failure, whatever the wording.
    fn negate_success(&self, terms: &mut Vec<Term>) {
        let Some([negation, succeed, fail]) = failure_keys(|rule| self.rule_key(rule)) else {
            return;
        };
        let mut i = 0;
        while i + 1 < terms.len() {
            if terms[i].keys.is(negation) && terms[i + 1].keys.is(succeed) {
                let surface = format!("{} {}", terms[i].surface, terms[i + 1].surface);
                terms[i + 1].keys = TermKeys::one(fail);
                terms[i + 1].surface = surface;
                terms.remove(i);
            }
            i += 1;
        }
    }

    /// The closest known word within a typo's distance: 1 edit for words of 5-7 letters, 2 from
    /// 8 letters on. Shorter words are never corrected: too many of them are one edit apart
    /// ("nome" and "none", "sede" and "rede").
    /// The infinitive of an unknown Portuguese verb form, when the index knows that verb.
    fn known_infinitive(&self, word: &str) -> Option<String> {
        pt_infinitives(word).into_iter().find(|infinitive| {
            match (Lookup { index: self }).word(infinitive) {
                WordMeaning::Concept(_) => true,
                WordMeaning::Stems(keys) => !keys.is_empty(),
            }
        })
    }

    fn correct(&self, word: &str) -> Option<String> {
        let len = word.chars().count();
        let max_edits = match len {
            3..=4 => return self.untranspose(word),
            0..=4 => return None,
            5..=7 => 1,
            _ => 2,
        };
        let counts = letter_counts(word);
        // A typo rarely changes how a word starts: "sporting" is not "porting". The buckets are
        // sorted, so the words that start alike are one run of each, found by binary search.
        let first = word.chars().next()?;
        let mut first_bytes = [0u8; 4];
        let first: &str = first.encode_utf8(&mut first_bytes);
        let mut best: Option<(usize, f64, &str)> = None;
        for candidate_len in len.saturating_sub(max_edits)..=len + max_edits {
            let Some(bucket) = self.vocabulary.get(candidate_len) else {
                continue;
            };
            let start = bucket.partition_point(|(candidate, _)| candidate.as_str() < first);
            let run = &bucket[start..];
            let run = &run[..run.partition_point(|(candidate, _)| candidate.starts_with(first))];
            for (candidate, candidate_counts) in run {
                // Cheap bounds before OSA.
                if more_than_edits_apart(&counts, candidate_counts, max_edits) {
                    continue;
                }
                let distance = strsim::osa_distance(word, candidate);
                if distance == 0 || distance > max_edits {
                    continue;
                }
                let similarity = strsim::jaro_winkler(word, candidate);
                let better = match best {
                    None => true,
                    Some((d, s, _)) => distance < d || (distance == d && similarity > s),
                };
                if better {
                    best = Some((distance, similarity, candidate));
                }
            }
        }
        best.map(|(_, _, word)| word.to_string())
    }

    /// A short word typed with two letters swapped ("waht", "teh", "qaul") is the function or
    /// question word it spells; any other edit of a short word is too likely another word.
    fn untranspose(&self, word: &str) -> Option<String> {
        let chars: Vec<char> = word.chars().collect();
        let lexicon = &self.responses.lexicon;
        (0..chars.len() - 1).find_map(|i| {
            let mut swapped = chars.clone();
            swapped.swap(i, i + 1);
            let candidate: String = swapped.into_iter().collect();
            let known = is_stopword(&candidate)
                || lexicon
                    .single(&candidate)
                    .is_some_and(|hit| lexicon.is_question_word(hit.concept));
            (candidate != word && known).then_some(candidate)
        })
    }

    /// Which language the question's own words point to, if they agree.
    fn evidence_lang(&self, question: &str) -> Option<Lang> {
        let lexicon = &self.responses.lexicon;
        let (mut pt, mut en) = (0, 0);
        for token in tokenize(question) {
            let lang = stopword_lang(&token.text)
                .or_else(|| lexicon.single(&token.text).and_then(|h| h.lang))
                .or_else(|| self.word_lang.get(&token.text).copied());
            match lang {
                Some(Lang::Pt) => pt += 1,
                Some(Lang::En) => en += 1,
                None => {}
            }
        }
        majority(pt, en)
    }

    /// Turns a question into terms: its words are looked up, and a word no card or sentence
    /// holds gets no key (it matches nothing but still weighs as unknown).
    fn analyze(&self, text: &str) -> Vec<Term> {
        analyze_with(&self.responses.lexicon, text, &mut Lookup { index: self })
    }
}

/// What a single word means to the index: a lexicon concept, or its two stems.
#[derive(Debug, Clone, Copy)]
enum WordMeaning {
    Concept(ConceptId),
    Stems(TermKeys),
}

/// Where analysis gets its keys: the builder interns them, a question looks them up.
trait Vocabulary {
    fn concept(&mut self, id: ConceptId) -> TermKeys;
    fn exact(&mut self, text: &str) -> TermKeys;
    /// A word that is neither listed in the lexicon nor a stop word.
    fn word(&mut self, word: &str) -> WordMeaning;
}

/// The question side of analysis: nothing is added to the index.
struct Lookup<'a> {
    index: &'a Index,
}

impl Vocabulary for Lookup<'_> {
    fn concept(&mut self, id: ConceptId) -> TermKeys {
        self.index
            .keys
            .get(KeyText::Concept(id))
            .map_or(TermKeys::NONE, TermKeys::one)
    }

    fn exact(&mut self, text: &str) -> TermKeys {
        self.index
            .keys
            .get(KeyText::Exact(text))
            .map_or(TermKeys::NONE, TermKeys::one)
    }

    fn word(&mut self, word: &str) -> WordMeaning {
        if let Some(meaning) = self.index.words.get(word) {
            return *meaning;
        }
        let (pt, en) = stems(word);
        match self.index.responses.lexicon.word_with_stems(word, &pt, &en) {
            Some(concept) => WordMeaning::Concept(concept),
            None => WordMeaning::Stems(TermKeys::stems(
                self.index.keys.get(KeyText::PtStem(&pt)),
                self.index.keys.get(KeyText::EnStem(&en)),
            )),
        }
    }
}

/// Shared analysis: phrases and words to concepts, stop words out, other words to stems.
fn analyze_with(lexicon: &Lexicon, text: &str, vocabulary: &mut dyn Vocabulary) -> Vec<Term> {
    analyze_tokens(lexicon, &mut tokenize(text), vocabulary)
}

/// [`analyze_with`] over text already tokenized, for callers that read the tokens too. Each
/// token's text moves into its term.
fn analyze_tokens(
    lexicon: &Lexicon,
    tokens: &mut [Token],
    vocabulary: &mut dyn Vocabulary,
) -> Vec<Term> {
    let mut terms = Vec::with_capacity(tokens.len());
    let text_lang = function_word_lang(tokens);
    let mut joined = String::new();
    // Where each prefix of `joined` ends: `ends[n]` after n tokens.
    let mut ends: Vec<usize> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        // Longest phrase first; only a word that starts one is looked up as a phrase, and only
        // as long as the phrases it starts.
        let phrase = if let Some(longest) = lexicon.longest_phrase_from(&tokens[i].text) {
            let longest = longest.min(tokens.len() - i);
            joined.clear();
            ends.clear();
            ends.push(0);
            for (k, token) in tokens[i..i + longest].iter().enumerate() {
                if k > 0 {
                    joined.push(' ');
                }
                joined.push_str(&token.text);
                ends.push(joined.len());
            }
            (2..=longest).rev().find_map(|n| {
                lexicon
                    .phrase_joined(&joined[..ends[n]])
                    .map(|hit| (n, hit))
            })
        } else {
            None
        };
        if let Some((n, hit)) = phrase {
            let surface = joined[..ends[n]].to_string();
            terms.push(Term {
                keys: vocabulary.concept(hit.concept),
                factor: 1.0,
                surface,
                kind: TokenKind::Word,
                role: concept_role(lexicon, hit.concept),
                listed: true,
            });
            i += n;
            continue;
        }
        let word = tokens[i].text.as_str();
        let listed = lexicon
            .single(word)
            .or_else(|| laughter(word).and_then(|form| lexicon.single(form)))
            .filter(|hit| !is_other_languages_function_word(hit, word, text_lang))
            .map(|hit| hit.concept);
        let token = &mut tokens[i];
        i += 1;
        if token.kind == TokenKind::Exact {
            let (keys, role) = match listed {
                Some(concept) => (vocabulary.concept(concept), concept_role(lexicon, concept)),
                None => (vocabulary.exact(&token.text), Role::Exact),
            };
            terms.push(Term {
                keys,
                factor: 1.0,
                surface: std::mem::take(&mut token.text),
                kind: TokenKind::Exact,
                role,
                listed: listed.is_some(),
            });
            continue;
        }
        // A listed word wins even if it is a stop word ("pq", "n"); a stop word is never mapped
        // through its stem ("com" is not "como").
        let meaning = match listed {
            Some(concept) => WordMeaning::Concept(concept),
            None if is_stopword(&token.text) || token.text.chars().count() < 2 => continue,
            None => vocabulary.word(&token.text),
        };
        let (keys, role, listed) = match meaning {
            WordMeaning::Concept(concept) => (
                vocabulary.concept(concept),
                concept_role(lexicon, concept),
                true,
            ),
            WordMeaning::Stems(keys) => (keys, Role::Content, false),
        };
        terms.push(Term {
            keys,
            factor: 1.0,
            surface: std::mem::take(&mut token.text),
            kind: TokenKind::Word,
            role,
            listed,
        });
    }
    terms
}

/// The language a text's function words point to, if they clearly do.
fn function_word_lang(tokens: &[Token]) -> Option<Lang> {
    let (mut pt, mut en) = (0, 0);
    for token in tokens {
        match stopword_lang(&token.text) {
            Some(Lang::Pt) => pt += 1,
            Some(Lang::En) => en += 1,
            None => {}
        }
    }
    majority(pt, en)
}

/// The language with more evidence, if one has more.
fn majority(pt: usize, en: usize) -> Option<Lang> {
    match pt.cmp(&en) {
        std::cmp::Ordering::Greater => Some(Lang::Pt),
        std::cmp::Ordering::Less => Some(Lang::En),
        std::cmp::Ordering::Equal => None,
    }
}

/// Whether a word the lexicon lists for one language is, in a text written in the other, that
/// language's function word: "no" is a negation in English and "in the" in Portuguese ("usasse no
/// R2"), "ai" is AI in English and "there" in Portuguese ("e aí").
fn is_other_languages_function_word(hit: &ConceptHit, word: &str, text_lang: Option<Lang>) -> bool {
    match (hit.lang, text_lang) {
        (Some(listed), Some(text)) if listed != text => is_stopword_in(text, word),
        _ => false,
    }
}

/// A word's letters, for cheap bounds on its edit distance to another word: one edit changes the
/// counts of at most two letters, by one each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct LetterCounts {
    /// One bit per letter present (a-z, and everything else in bit 26).
    present: u32,
    counts: [u8; 27],
}

fn letter_counts(word: &str) -> LetterCounts {
    let mut counts = [0u8; 27];
    let mut present = 0u32;
    for c in word.chars() {
        let bin = if c.is_ascii_lowercase() {
            (c as u8 - b'a') as usize
        } else {
            26
        };
        counts[bin] = counts[bin].saturating_add(1);
        present |= 1 << bin;
    }
    LetterCounts { present, counts }
}

/// Whether two words are certainly more than `edits` edits apart.
fn more_than_edits_apart(a: &LetterCounts, b: &LetterCounts, edits: usize) -> bool {
    // Letters present in only one word: a one-instruction test that rejects most candidates.
    if (a.present ^ b.present).count_ones() as usize > 2 * edits {
        return true;
    }
    let histogram: usize = a
        .counts
        .iter()
        .zip(&b.counts)
        .map(|(x, y)| x.abs_diff(*y) as usize)
        .sum();
    histogram > 2 * edits
}

fn concept_role(lexicon: &Lexicon, concept: crate::lexicon::ConceptId) -> Role {
    if lexicon.is_question_word(concept) {
        Role::QuestionWord
    } else if lexicon.is_filler(concept) {
        Role::Filler
    } else if lexicon.is_chit_chat(concept) {
        Role::ChitChat
    } else {
        Role::Content
    }
}

/// At most this many further parts of a message are answered besides the main one.
const MAX_EXTRA_PARTS: usize = 2;
/// A question of a question word and at most one more word continues the one before it.
const BARE_QUESTION_WORDS: usize = 2;
/// A question this short that names no question word continues the one before it.
const FOLLOW_UP_WORDS: usize = 3;
/// "Who called the H20 unsafe? was it the US government?": a short yes/no question after a
/// wh-question offers a candidate answer to it, and is read with it.
const YES_NO_FOLLOW_UP_WORDS: usize = 5;

fn opens_with_question_word(text: &str) -> bool {
    text.split_whitespace().take(3).any(is_clause_opener)
}

/// A clause this long may open with a preamble before its question word.
const LONG_CLAUSE_WORDS: usize = 9;
/// A question word this far into a long clause starts its question.
const PREAMBLE_MIN_WORDS: usize = 4;
/// Words that open a question in the middle of a run-on message.
const CLAUSE_OPENERS: &[&str] = &[
    "why", "when", "how", "what", "whats", "which", "who", "where", "porque", "porquê", "pq",
    "quando", "qnd", "qdo", "como", "qual", "quais", "quem", "onde", "oq", "quanto", "quantos",
    "quantas",
];

/// "If", "whether": after a verb of asking, the question begins after them.
const WHETHER: &[&str] = &["se", "if", "whether"];

/// Verbs that ask to be told something: "sabe (me dizer) se", "does anyone know if".
const ASKING_VERBS: &[&str] = &[
    "sabe",
    "sabem",
    "sabes",
    "saber",
    "dizer",
    "diz",
    "explicar",
    "confirmar",
    "know",
    "knows",
    "tell",
    "wondering",
    "wonder",
    "confirm",
    "check",
    "curious",
];

/// A word of a clause as the openers are listed: folded, without the punctuation around it.
/// Apostrophes go too: "what's" is listed as "whats".
fn bare_word(word: &str) -> String {
    fold(word.trim_matches(|c: char| !c.is_alphanumeric())).replace(['\'', '’'], "")
}

fn is_clause_opener(word: &str) -> bool {
    CLAUSE_OPENERS.contains(&bare_word(word).as_str())
}

/// Conjunctions that, followed by a question word, start a second question.
const QUESTION_JOINERS: &[&str] = &["and", "also", "but", "or", "e", "mas", "ou", "tb", "tambem"];

/// Question words that also open a relative clause ("the journalist who wrote it").
const RELATIVE_PRONOUNS: &[&str] = &["who", "whom", "which"];

/// Question words that never join two clauses of a statement.
const STRONG_CLAUSE_OPENERS: &[&str] = &[
    "why", "what", "whats", "which", "who", "where", "porque", "porquê", "pq", "qual", "quais",
    "quem", "onde", "oq",
];

/// How a clause of a message is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClauseKind {
    /// Ends with a question mark or holds a question word.
    Question,
    /// Says something; scored only when the message asks nothing else.
    Statement,
    /// Thanks, greetings, questions about the bot.
    ChitChat,
    /// Nothing left once markup, filler and stop words are out ("right?", "kkkk").
    Empty,
}

#[derive(Debug)]
struct ReadClause {
    text: String,
    kind: ClauseKind,
    /// The terms scored: topics, numbers and codes, question words.
    terms: Vec<Term>,
    /// The terms any card or sentence knows, but question words: the clause as context.
    known: Vec<Term>,
    /// Whether it names anything besides the kind of answer wanted.
    has_topic: bool,
    /// How many of its terms name something (topics, numbers, codes; not question words).
    topics: usize,
}

#[derive(Debug)]
struct Reading {
    /// The message without markup.
    cleaned: String,
    clauses: Vec<ReadClause>,
    /// Whether its small talk thanks.
    thanks: bool,
    /// Whether it asks for the story in brief ("tldr?"), by clause.
    wants_summary: Vec<bool>,
    /// How many clauses come from earlier messages of the conversation (context only).
    earlier_messages: usize,
}

impl Reading {
    /// The clauses to score, from `first` on: those that ask, or every statement when none does.
    fn focus(&self, first: usize) -> Vec<usize> {
        let of_kind = |kind| -> Vec<usize> {
            self.clauses
                .iter()
                .enumerate()
                .skip(first)
                .filter(|(_, c)| c.kind == kind)
                .map(|(i, _)| i)
                .collect()
        };
        let questions = of_kind(ClauseKind::Question);
        if questions.is_empty() {
            of_kind(ClauseKind::Statement)
        } else {
            questions
        }
    }

    /// A clause's terms, with the known words of the rest of the message as lighter context.
    fn query_for(&self, clause: usize, context_factor: f32) -> Vec<Term> {
        let mut query = self.clauses[clause].terms.clone();
        // "R2 vai ser open source? e quanto custou treinar ele?": a question that names no
        // model is about the one named before it.
        // Across messages (a conversation's earlier question) only a follow-up that names
        // almost nothing takes the earlier model: "and the engineers?" after an H20 question is
        // still about the engineers.
        let from = if self.clauses[clause].topics <= 1 {
            0
        } else {
            self.earlier_messages
        };
        if !query.iter().any(|t| t.role == Role::Exact) {
            let named = self.clauses[from..clause]
                .iter()
                .rev()
                .find_map(|c| {
                    let codes: Vec<&Term> = c
                        .terms
                        .iter()
                        .filter(|t| t.role == Role::Exact && code_family(&t.surface).is_some())
                        .collect();
                    (!codes.is_empty()).then_some(codes)
                })
                .unwrap_or_default();
            query.extend(named.into_iter().cloned());
        }
        for (i, other) in self.clauses.iter().enumerate() {
            // Another question is asked on its own, unless this one names almost nothing ("and
            // how much is that in dollars?"); the rest of the message is context.
            let elliptical = i + 1 == clause && self.clauses[clause].topics <= 1;
            if i == clause
                || other.kind == ClauseKind::ChitChat
                || (other.kind == ClauseKind::Question && !elliptical)
            {
                continue;
            }
            for term in &other.known {
                if query.iter().all(|t| t.keys != term.keys) {
                    query.push(Term {
                        factor: term.factor * context_factor,
                        ..term.clone()
                    });
                }
            }
        }
        query.truncate(MAX_QUERY_TERMS);
        query
    }
}

/// A short question that only names a candidate ("bytedance? alibaba?", "CAC?", "pela amd?")
/// continues the question before it: it is read with it, so its words count in that question.
fn merge_follow_ups(clauses: Vec<reader::Clause>) -> Vec<reader::Clause> {
    let mut merged: Vec<reader::Clause> = Vec::with_capacity(clauses.len());
    for clause in clauses {
        let words: Vec<&str> = clause.text.split_whitespace().collect();
        let opens_question = words.first().is_some_and(|w| is_clause_opener(w));
        // "quem é o ceo? e o r2 atrasou mesmo?": a question joined by "and" asks something new,
        // where "foi o governo americano?" offers an answer to the one before.
        let joined = words
            .first()
            .is_some_and(|w| QUESTION_JOINERS.contains(&bare_word(w).as_str()));
        match merged.last_mut() {
            Some(previous)
                if previous.asks
                    && clause.asks
                    && ((!opens_question
                        && (words.len() <= FOLLOW_UP_WORDS
                            || (words.len() <= YES_NO_FOLLOW_UP_WORDS
                                && !joined
                                && opens_with_question_word(&previous.text))))
                        // "Quanto mais?", "Porquê?": a bare question word asks about what
                        // was just said.
                        || (opens_question && words.len() <= BARE_QUESTION_WORDS)) =>
            {
                previous.text.push(' ');
                previous.text.push_str(&clause.text);
            }
            _ => merged.push(clause),
        }
    }
    merged
}

/// One scored clause of a message.
#[derive(Debug)]
struct ScoredClause {
    clause: usize,
    query: Vec<Term>,
    ranked: Vec<Ranked>,
}

impl ScoredClause {
    fn best_score(&self) -> f32 {
        self.ranked.first().map_or(0.0, |r| r.score)
    }
}

/// The card an answer gives, by index.
fn answer_card(answer: &Answer, cards: &[FactCard]) -> Option<usize> {
    let name = answer.fact()?;
    cards.iter().position(|c| c.command == name)
}

/// Kinds of answer a question word may ask for that a fact must be able to give.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AnswerKind {
    Amount,
    When,
    /// A day of a month, not the month.
    Day,
    /// A length of time, not a date.
    Duration,
}

/// A piece of a card (a quote with its gloss, or a sentence of its answer) as analysed keys, to
/// rank the pieces by how well each answers a question.
#[derive(Debug)]
struct PieceProfile {
    text: String,
    keys: KeySet,
    states_number: bool,
    states_time: bool,
}

fn lang_slot(lang: Lang) -> usize {
    match lang {
        Lang::Pt => 0,
        Lang::En => 1,
    }
}

/// Sentences of a card's answer: cut after `.`, `!` or `?` followed by a space.
fn answer_sentences(text: &str) -> Vec<&str> {
    let mut sentences = Vec::new();
    let mut start = 0;
    let bytes = text.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if matches!(b, b'.' | b'!' | b'?') && bytes.get(i + 1) == Some(&b' ') {
            let sentence = text[start..=i].trim();
            if !sentence.is_empty() {
                sentences.push(sentence);
            }
            start = i + 1;
        }
    }
    let last = text[start..].trim();
    if !last.is_empty() {
        sentences.push(last);
    }
    sentences
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::OnceLock;

    fn shipped() -> &'static Index {
        static INDEX: OnceLock<Index> = OnceLock::new();
        INDEX.get_or_init(|| {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("responses");
            Index::build(Responses::load(&dir).expect("the shipped responses are valid"))
        })
    }

    fn kinds(message: &str) -> Vec<(String, ClauseKind)> {
        shipped()
            .read(message)
            .clauses
            .into_iter()
            .map(|c| (c.text, c.kind))
            .collect()
    }

    fn shipped_responses() -> Responses {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("responses");
        Responses::load(&dir).expect("the shipped responses are valid")
    }

    #[test]
    fn autocomplete_offers_each_question_once_best_first() {
        let suggestions = shipped().suggest("porque o r2", 25);
        assert_eq!(suggestions.len(), 25);
        let folded: HashSet<String> = suggestions.iter().map(|s| fold(&s.text)).collect();
        assert_eq!(folded.len(), suggestions.len(), "no question twice");
        assert!(suggestions.windows(2).all(|w| w[0].score >= w[1].score));
        assert!(
            fold(&suggestions[0].text).starts_with("porque o r2"),
            "what the user typed, as typed, comes first: {:?}",
            suggestions[0].text
        );
        assert!(shipped().suggest("porque o r2", 3).len() == 3);
    }

    #[test]
    fn a_question_about_one_model_is_not_answered_with_anothers_card() {
        let question = "how much did r2 cost to train?";
        let answer = shipped().ask(question, None);
        assert_ne!(answer.fact(), Some("r1-training"), "{answer:?}");
        // The rule is what stands between this question and R1's card.
        let without_rule = Index::with_tuning(
            shipped_responses(),
            Tuning {
                entity_conflict_factor: 1.0,
                ..Tuning::default()
            },
        );
        assert_eq!(without_rule.ask(question, None).fact(), Some("r1-training"));
    }

    #[test]
    fn the_shipped_lexicon_keeps_when_and_how_much_apart() {
        let responses = shipped_responses();
        let lexicon = &responses.lexicon;
        let concept_of = |word: &str| {
            lexicon
                .word(word)
                .map(|id| lexicon.concept_name(id).to_string())
        };
        for (word, concept) in [
            ("quando", "when"),
            ("qnd", "when"),
            ("when", "when"),
            ("quanto", "amount"),
            ("quantos", "amount"),
            ("how much", "amount"),
        ] {
            let hit = lexicon
                .phrase(&word.split(' ').map(str::to_string).collect::<Vec<_>>())
                .map(|h| lexicon.concept_name(h.concept).to_string())
                .or_else(|| concept_of(word));
            assert_eq!(hit.as_deref(), Some(concept), "{word}");
        }
        let index = shipped();
        assert_eq!(
            index.ask("quando sai o R2?", None).fact(),
            Some("r2-release-date")
        );
        assert_eq!(
            index
                .ask("quantas GPUs usaram para treinar o R1?", None)
                .fact(),
            Some("r1-training")
        );
    }

    #[test]
    fn a_common_word_the_article_lacks_is_chatter_not_what_is_asked() {
        let index = shipped();
        let weight_of = |question: &str, surface: &str| -> f32 {
            let terms = index.query_terms(question);
            let weights = index.query_weights(&terms);
            terms
                .iter()
                .zip(weights)
                .find(|(t, _)| t.surface == surface)
                .map(|(_, w)| w)
                .unwrap_or_else(|| panic!("no term {surface:?} in {terms:?}"))
        };
        // "primeiro" (first) is on the stopwords-iso list; "parametros" and the listed "ano"
        // (the article never gives a year) are what a question is about.
        let tuning = Tuning::default();
        assert_eq!(
            weight_of("pq o r2 atrasou primeiro", "primeiro"),
            tuning.common_word_weight
        );
        assert_eq!(
            weight_of("quantos parametros tem o r2", "parametros"),
            tuning.unknown_weight
        );
        assert_eq!(
            weight_of("o r1 saiu em que ano", "ano"),
            tuning.unknown_weight
        );
        // Scored as an unknown word, "primeiro" sinks this below the answer threshold.
        let answer = index.ask("quem mandou engenheiros pra deepseek primeiro", None);
        assert_eq!(answer.facts().collect::<Vec<_>>(), ["huawei-engineers"]);
    }

    #[test]
    fn a_claim_put_up_for_confirmation_is_checked_against_the_fact() {
        let index = shipped();
        let claims = |message: &str| -> Vec<String> {
            let reading = index.read(message);
            reading.clauses[0]
                .terms
                .iter()
                .filter(|t| t.role == Role::Claim)
                .map(|t| t.surface.clone())
                .collect()
        };
        // A tag after or before all that is said makes the words the article lacks a claim.
        assert_eq!(claims("R1 was trained on H100s, right?"), ["h100"]);
        assert_eq!(claims("o r1 saiu em dezembro ne? kkk"), ["dezembro"]);
        assert_eq!(claims("iirc r1 came out in december"), ["december"]);
        // The same words inside the clause are no tag, and without a tag nothing is a claim.
        assert!(claims("did they pick the right chips for r1, h100s").is_empty());
        assert!(claims("R1 was trained on H100s?").is_empty());
        // The card holding the fact answers, and its quote (2,048 H800) corrects the claim;
        // weighed as an unknown word, the claim sinks the question to a refusal.
        let question = "R1 was trained on H100s, right?";
        assert_eq!(index.ask(question, None).fact(), Some("r1-training"));
        let claims_weigh_as_unknown = Index::with_tuning(
            shipped_responses(),
            Tuning {
                premise_weight: Tuning::default().unknown_weight,
                ..Tuning::default()
            },
        );
        assert_eq!(claims_weigh_as_unknown.ask(question, None).fact(), None);
    }

    #[test]
    fn a_day_is_asked_only_of_a_fact_that_states_one() {
        assert!(Stated::of_text("a 15 de maio").day_number);
        assert!(Stated::of_text("on May 3rd").day_number);
        assert!(!Stated::of_text("em troca de 15% das receitas").day_number);
        assert!(!Stated::of_text("2.048 GPUs H800").day_number);
        let index = shipped();
        // No card dates anything to the day: R2's card says May, then "the coming weeks".
        assert!(index.cards.iter().all(|card| !card.states_day));
        for question in [
            "what day in may was r2 supposed to launch",
            "R2 sai que dia exatamente?",
            // "When" with a word of precision asks for the day too.
            "what date exactly will r2 drop",
            "quando exatamente sai o r2?",
        ] {
            assert_eq!(index.ask(question, None).fact(), None, "{question}");
        }
        let terms = index.query_terms("when exactly will r2 drop");
        assert!(
            terms.iter().any(|t| index.names_rule(t, Rule::Day)),
            "{terms:?}"
        );
        // Without precision, "when" is answered by the month.
        assert_eq!(
            index.ask("when will r2 drop", None).fact(),
            Some("r2-release-date")
        );
    }

    #[test]
    fn a_length_of_time_is_asked_only_of_a_fact_that_states_a_span() {
        let index = shipped();
        // R1's card dates its launch (January) but says nothing of how long training took.
        assert_eq!(
            index
                .ask("quanto tempo o r1 levou pra ser treinado?", None)
                .fact(),
            None
        );
        assert_eq!(
            index.ask("how long did r1 take to train", None).fact(),
            None
        );
        // R2's card states a span: "in the coming weeks".
        assert_eq!(
            index.ask("how long till r2 drops", None).fact(),
            Some("r2-release-date")
        );
        assert_eq!(
            index.ask("quanto tempo falta pro r2 sair?", None).fact(),
            Some("r2-release-date")
        );
    }

    #[test]
    fn a_kind_of_answer_no_card_names_is_not_a_missing_topic() {
        let index = shipped();
        let question = "que dia foi lançado o r1?";
        let terms = index.query_terms(question);
        let weights = index.query_weights(&terms);
        let (day, weight) = terms
            .iter()
            .zip(&weights)
            .find(|(t, _)| t.role == Role::QuestionWord)
            .unwrap_or_else(|| panic!("a question word in {terms:?}"));
        // No card's text asks for a day, yet asking for one is no topic the article lacks.
        assert_eq!(index.card_frequency(&day.keys), 0, "{day:?}");
        assert_eq!(*weight, Tuning::default().question_word_weight);
    }

    #[test]
    fn a_second_card_in_one_reply_must_be_surer_than_the_first() {
        let index = shipped();
        // The guess after the question ("did Huawei cancel the contract?") fits the H20 deal's
        // card only loosely: it is offered, not answered beside the real answer.
        let guess =
            "porque é que a deepseek teve de voltar atrás? foi a huawei que cancelou o contrato?";
        let answer = index.ask(guess, None);
        assert_eq!(answer.fact(), Some("back-to-nvidia"), "{answer:?}");
        let [part] = answer.more.as_slice() else {
            panic!("one more part: {answer:?}");
        };
        assert!(
            part.confidence < Tuning::default().extra_part_threshold,
            "{part:?}"
        );
        assert!(part.is_suggested() && part.fact().is_none(), "{part:?}");
        // Two questions that each fit a card surely get both answers.
        let both = index.ask(
            "why was r2 delayed? and how much of the h20 revenue does the us government get?",
            None,
        );
        let facts: Vec<&str> = both.facts().collect();
        assert_eq!(facts, ["why-r2-delayed", "h20-deal"], "{both:?}");
    }

    #[test]
    fn a_count_of_something_the_article_never_names_is_not_answered() {
        let index = shipped();
        // The card on R1's training counts GPUs and dollars, never tokens.
        for question in [
            "how many tokens was R1 trained on?",
            "quantos tokens usaram para treinar o r1?",
        ] {
            let answer = index.ask(question, None);
            assert_eq!(answer.fact(), None, "{question}: {answer:?}");
        }
        // What the article does count is still answered.
        for question in [
            "how many GPUs was R1 trained on?",
            "quantas gpus usaram para treinar o r1?",
        ] {
            assert_eq!(
                index.ask(question, None).fact(),
                Some("r1-training"),
                "{question}"
            );
        }
    }

    #[test]
    fn a_word_the_lexicon_lists_is_never_typo_corrected() {
        let index = shipped();
        // "based" is listed as a topic the article lacks; one letter away is "bashed" (describe).
        let terms = index.query_terms("where is deepseek based?");
        let based = terms.iter().find(|t| t.surface.starts_with("bas"));
        assert_eq!(
            based.map(|t| t.surface.as_str()),
            Some("based"),
            "{terms:?}"
        );
        assert_eq!(index.ask("where is deepseek based?", None).fact(), None);
    }

    #[test]
    fn a_name_no_card_gives_is_not_answered() {
        let index = shipped();
        // The article names no outlet, regulator or person; the H20 card only says "state media".
        for question in [
            "what is the name of the state newspaper that said the H20 was unsafe?",
            "qual o nome do regulador que convocou a nvidia?",
        ] {
            let answer = index.ask(question, None);
            assert_eq!(answer.fact(), None, "{question}: {answer:?}");
        }
        // The names the article does give (the model, the toolkit, the chip) are answered.
        for (question, card) in [
            (
                "qual é o nome do modelo novo da deepseek?",
                "beijing-pressure",
            ),
            ("what is huawei's toolkit called?", "ascend-problems"),
            ("what's the name of the chip in the US deal?", "h20-deal"),
        ] {
            assert_eq!(index.ask(question, None).fact(), Some(card), "{question}");
        }
    }

    #[test]
    fn a_card_about_other_models_than_the_question_names_is_not_its_answer() {
        let question = "when did nvidia launch the h20";
        // R2's launch and delay cards speak of R2 only; no card dates the H20.
        assert_eq!(shipped().ask(question, None).fact(), None);
        let without_rule = Index::with_tuning(
            shipped_responses(),
            Tuning {
                entity_conflict_factor: 1.0,
                ..Tuning::default()
            },
        );
        let answered = without_rule.ask(question, None);
        assert!(
            matches!(answered.fact(), Some("why-r2-delayed" | "r2-release-date")),
            "{answered:?}"
        );
        // A question naming a model the card speaks of is not touched.
        assert_eq!(
            shipped().ask("when will r2 launch", None).fact(),
            Some("r2-release-date")
        );
    }

    #[test]
    fn a_fact_that_negates_success_states_a_failure() {
        let index = shipped();
        let fail = index
            .rule_key(Rule::Fail)
            .expect("the fail concept is interned");
        let card = index
            .responses
            .cards
            .iter()
            .position(|c| c.command == "huawei-engineers")
            .expect("the card");
        // "...nunca foi possível concluir com sucesso...": "nunca" negates "sucesso" five words on.
        let failing: Vec<&str> = index.cards[card]
            .citations
            .iter()
            .filter(|piece| piece.keys.contains(fail))
            .map(|piece| piece.text.as_str())
            .collect();
        assert_eq!(failing.len(), 1, "{failing:?}");
        assert!(
            failing[0].contains("nunca foi possível concluir"),
            "{failing:?}"
        );
        // So a question about the failure leads with the quote that states it.
        assert_leads_with(
            "mesmo com ajuda da huawei falhou?",
            "huawei-engineers",
            "nunca foi possível concluir",
        );
    }

    /// The message is answered with `card`, whose first quote holds `words`.
    fn assert_leads_with(message: &str, card: &str, words: &str) {
        let answer = shipped().ask(message, None);
        assert_eq!(answer.fact(), Some(card), "{message}");
        let lead = answer.citations.first().map(|c| c.quote.as_str());
        assert!(
            lead.is_some_and(|q| q.contains(words)),
            "{message}: {lead:?}"
        );
    }

    #[test]
    fn chat_slang_beside_a_question_never_sinks_its_answer() {
        let index = shipped();
        let slang = [
            "rn", "tbh", "ngl", "fr", "deadass", "tldr", "bruh", "lol", "mds", "putz", "aff",
            "porra", "uai", "oxe", "td", "mt", "qq", "fds", "vish", "kkkk", "né",
        ];
        for base in [
            "pq o r2 atrasou",
            "why was r2 delayed",
            "quantas gpus o r1 usou",
        ] {
            let plain = index.ask(base, None);
            let expected = plain.fact();
            assert!(expected.is_some(), "{base}");
            for word in slang {
                for message in [format!("{base} {word}"), format!("{word} {base}")] {
                    assert_eq!(index.ask(&message, None).fact(), expected, "{message}");
                }
            }
        }
    }

    #[test]
    fn swapped_letters_are_corrected_even_into_filler() {
        assert!(is_transposition("exaclty", "exactly"));
        assert!(!is_transposition("multa", "malta"));
        let terms = shipped().query_terms("waht went wrogn with teh huawei chips exaclty");
        assert!(
            terms.iter().all(|t| t.surface != "exaclty"),
            "a swap is a typo of the filler word 'exactly': {terms:?}"
        );
        let answer = shipped().ask("waht went wrogn with teh huawei chips exaclty", None);
        assert_eq!(answer.fact(), Some("ascend-problems"));
    }

    #[test]
    fn a_long_word_is_never_corrected_into_filler() {
        // "multa" (a fine) is one edit from the filler "malta" (pt-PT for "folks").
        let terms = shipped().query_terms("a deepseek levou multa por voltar pra nvidia");
        let fine = terms
            .iter()
            .find(|t| t.surface == "multa")
            .unwrap_or_else(|| panic!("the word the index lacks stays: {terms:?}"));
        assert!(!shipped().is_known(fine));
        // A misspelt word of a meaning is still corrected.
        assert_eq!(shipped().correct("toolkti").as_deref(), Some("toolkit"));
    }

    #[test]
    fn a_typo_keeps_the_first_letter_of_its_word() {
        assert_ne!(shipped().correct("sporting").as_deref(), Some("porting"));
        assert_eq!(shipped().correct("huwaei").as_deref(), Some("huawei"));
        assert!(shipped()
            .ask("resultado do sporting ontem", None)
            .facts()
            .next()
            .is_none());
    }

    #[test]
    fn words_under_five_letters_are_only_untransposed_never_edited() {
        let index = shipped();
        // One letter off a known word: left alone under five letters...
        assert_eq!(index.correct("chio"), None, "chip");
        // ...two letters swapped in a short function word are read as meant...
        assert_eq!(index.correct("waht").as_deref(), Some("what"));
        // ...and from five letters on one edit is a typo.
        assert_eq!(index.correct("huawey").as_deref(), Some("huawei"));
    }

    #[test]
    fn a_question_is_read_only_to_its_first_1000_characters() {
        let head = "why was R2 delayed?";
        let padding = " .".repeat(MAX_QUESTION_CHARS);
        let long = format!("{head}{padding} and what is the H20 deal?");
        assert_eq!(question_prefix(&long).chars().count(), MAX_QUESTION_CHARS);
        let answer = shipped().ask(&long, None);
        let facts: Vec<&str> = answer.facts().collect();
        assert_eq!(
            facts,
            ["why-r2-delayed"],
            "the tail past the cap is not read"
        );
        // Within the cap the same second question is answered too.
        let short = format!("{head} and what is the H20 deal?");
        let facts: Vec<String> = shipped()
            .ask(&short, None)
            .facts()
            .map(str::to_string)
            .collect();
        assert!(facts.contains(&"h20-deal".to_string()), "{facts:?}");
    }

    #[test]
    fn a_follow_up_that_names_little_is_read_with_the_previous_question() {
        let index = shipped();
        for (previous, follow_up, card) in [
            ("what is the H20 deal?", "how much?", "h20-deal"),
            ("os chips da huawei falharam?", "porquê?", "ascend-problems"),
            ("nvidia was summoned by regulators?", "why?", "h20-unsafe"),
        ] {
            assert_ne!(
                index.ask(follow_up, None).fact(),
                Some(card),
                "{follow_up:?} alone must not already answer, or this tests nothing"
            );
            let answer = index.ask_follow_up(follow_up, previous, None);
            assert_eq!(answer.fact(), Some(card), "{previous:?} then {follow_up:?}");
        }
    }

    #[test]
    fn a_follow_up_that_stands_alone_is_answered_alone() {
        let index = shipped();
        for (previous, follow_up, card) in [
            (
                "what is the H20 deal?",
                "what did the Huawei engineers do?",
                "huawei-engineers",
            ),
            // Read with the delay question, "launch" would pull towards the delay card.
            (
                "why was R2 delayed?",
                "and when does it launch?",
                "r2-release-date",
            ),
            ("porque atrasou o R2?", "e o R1?", "r1-training"),
        ] {
            let followed = index.ask_follow_up(follow_up, previous, None);
            assert_eq!(
                followed.fact(),
                Some(card),
                "{previous:?} then {follow_up:?}"
            );
            assert!(
                followed.more.is_empty(),
                "the previous question is not answered again"
            );
        }
    }

    #[test]
    fn the_previous_model_carries_over_only_to_a_follow_up_that_names_almost_nothing() {
        let index = shipped();
        let mut reading = index.read("what is the H20 deal?");
        let first = reading.clauses.len();
        reading
            .clauses
            .extend(index.read("what did the Huawei engineers do?").clauses);
        reading.earlier_messages = first;
        let query = reading.query_for(first, index.tuning.context_factor);
        assert!(
            !query.iter().any(|t| t.surface == "h20"),
            "H20 from the earlier message: {query:?}"
        );
    }

    #[test]
    fn a_preamble_is_context_and_the_question_is_scored() {
        let reading = shipped()
            .read("ok so I read a thread yesterday — now I'm confused. why was r2 delayed?");
        let focus = reading.focus(0);
        assert_eq!(focus.len(), 1);
        assert_eq!(reading.clauses[focus[0]].text, "why was r2 delayed");
        let query = reading.query_for(focus[0], 0.5);
        let unknown = query.iter().filter(|t| !shipped().is_known(t)).count();
        assert_eq!(
            unknown, 0,
            "the preamble's unknown words are not in the query: {query:?}"
        );
    }

    #[test]
    fn a_run_on_preamble_is_cut_at_its_question_word() {
        let found =
            kinds("ok so i read about this yesterday and im confused why did r2 get delayed");
        assert_eq!(
            found.last().map(|c| c.0.as_str()),
            Some("why did r2 get delayed")
        );
        assert_eq!(found.last().map(|c| c.1), Some(ClauseKind::Question));
    }

    #[test]
    fn who_after_a_question_opens_a_relative_clause_not_a_second_question() {
        let found = kinds("what's the name of the journalist who wrote the FT report?");
        assert_eq!(found.len(), 1, "{found:?}");
        // After a statement, "who" still starts the question.
        let found =
            kinds("ok so i saw a long thread on this and now wondering who pushed deepseek");
        assert_eq!(
            found.last().map(|c| c.0.as_str()),
            Some("who pushed deepseek")
        );
    }

    #[test]
    fn a_conjunction_before_a_question_word_starts_a_second_question() {
        let found = kinds("R1 came out when and when was R2 supposed to drop?");
        let texts: Vec<&str> = found.iter().map(|c| c.0.as_str()).collect();
        assert_eq!(texts, ["R1 came out when", "when was R2 supposed to drop"]);
        // "é" (is) is not "e" (and).
        assert_eq!(kinds("CANN é oq nesse contexto?").len(), 1);
    }

    #[test]
    fn como_inside_a_statement_does_not_cut_it() {
        let found = kinds(
            "os media estatais chineses descreveram os GPUs H20 como inseguros e desatualizados?",
        );
        assert_eq!(found.len(), 1, "{found:?}");
    }

    #[test]
    fn a_bare_question_word_asks_about_what_was_just_said() {
        let found =
            kinds("Os H20 gastam mais electricidade do que os chips chineses? Quanto mais?");
        assert_eq!(found.len(), 1, "{found:?}");
        let answer = shipped().ask(
            "Os H20 gastam mais electricidade do que os chips chineses? Quanto mais?",
            None,
        );
        assert!(
            !answer.is_answered(),
            "no card states how much more: {answer:?}"
        );
    }

    #[test]
    fn a_short_follow_up_is_read_with_its_question() {
        let found = kinds("quais empresas foram pressionadas a nao usar H20? bytedance? alibaba?");
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].0.ends_with("bytedance? alibaba") || found[0].0.ends_with("bytedance alibaba"),
            "{found:?}"
        );
    }

    #[test]
    fn a_question_joined_by_and_asks_something_new() {
        // "foi o governo americano?" offers an answer to "quem...?"; "e o r2 atrasou?" does not.
        let found = kinds("quem é o ceo da deepseek? e o r2 atrasou mesmo?");
        assert_eq!(found.len(), 2, "{found:?}");
        let answer = shipped().ask("quem é o ceo da deepseek? e o r2 atrasou mesmo?", None);
        assert_eq!(answer.fact(), Some("why-r2-delayed"));
        let offered = kinds("quem chamou o H20 de inseguro? foi o governo americano?");
        assert_eq!(offered.len(), 1, "{offered:?}");
    }

    #[test]
    fn a_long_message_is_read_from_where_it_asks() {
        // After asking to be told, "se"/"if" opens the question; the preamble is context.
        let message = "boa noite pessoal, to vendo muita gente comentando sobre isso no twitter e \
                       fiquei curioso, alguém sabe me dizer se a deepseek ainda usa os chips da \
                       huawei pra alguma coisa?";
        let found = kinds(message);
        let asked = found.iter().find(|(_, kind)| *kind == ClauseKind::Question);
        assert!(
            asked.is_some_and(|(text, _)| text.starts_with("a deepseek ainda usa")),
            "{found:?}"
        );
        assert_eq!(shipped().ask(message, None).fact(), Some("back-to-nvidia"));
        // A clause opening with a question word asks, question mark or not.
        let found = kinds("so my take: china shot itself in the foot?? like what does the article say the cost is for chinese AI companies");
        assert_eq!(
            found.last().map(|(_, kind)| *kind),
            Some(ClauseKind::Question),
            "{found:?}"
        );
        // "Can someone explain, simply, ...": asking to be told is no topic.
        let answer = shipped().ask(
            "Alguém me consegue explicar, de forma simples, o que correu mal com os chips da Huawei?",
            None,
        );
        assert_eq!(answer.fact(), Some("ascend-problems"));
    }

    #[test]
    fn everyday_words_for_the_story_are_read() {
        // Written for this test, not taken from any set: "dump", "short on", "pararem de",
        // "você viu isso?", "q vergonha", "conselho", "pra onde" each used to sink or misdirect
        // the question.
        for (message, card) in [
            (
                "yo quick q, is deepseek still using huawei stuff for anything or did they fully dump it",
                "back-to-nvidia",
            ),
            (
                "você viu isso? a china mandou as empresas pararem de comprar o h20?",
                "avoid-h20",
            ),
            (
                "mano q vergonha, nem os engenheiros da huawei conseguiram fazer o treino funcionar?",
                "huawei-engineers",
            ),
            ("why are chinese companies short on nvidia gpus", "gpu-shortage"),
            // Advice is a softer pressure; a card that states a place answers "where".
            ("foi só um conselho do governo ou uma ordem?", "beijing-pressure"),
            (
                "pra onde a nvidia pode vender os chips com esse acordo?",
                "h20-deal",
            ),
            // Chat's words for bad ("trash") and for measuring up ("stack up", "big players").
            (
                "ngl the ascend chips were straight up trash, what went wrong for deepseek?",
                "ascend-problems",
            ),
            (
                "how does the r1 cost stack up against what the big players spend?",
                "r1-training",
            ),
            // Being left alone is the want of help.
            (
                "so huawei just left them alone with all those bugs?",
                "huawei-engineers",
            ),
            // "deram" (gave, came up) and "end up" are how the question is put.
            (
                "quais problemas deram com o ascend no treino?",
                "ascend-problems",
            ),
            ("so did deepseek end up crawling back to nvidia?", "back-to-nvidia"),
            // "held up" is a delay, not holding.
            (
                "deepseek's new model is late, what held it up?",
                "why-r2-delayed",
            ),
            // How big the delay was is answered by "a considerable delay".
            ("was the r2 delay a small one or a massive one?", "why-r2-delayed"),
            ("o atraso do r2 foi pequeno ou enorme?", "why-r2-delayed"),
            // "isn't" is a negation, not a word "isn"; "going after" is pressure; "daqui" is
            // where the message points, not a topic.
            ("so beijing isn't only going after deepseek, right?", "gpu-shortage"),
            (
                "the ft link, é daqui que saiu a notícia da deepseek?",
                "beijing-pressure",
            ),
        ] {
            assert_eq!(shipped().ask(message, None).fact(), Some(card), "{message}");
        }
    }

    #[test]
    fn a_word_listed_for_one_language_is_a_function_word_in_a_text_of_the_other() {
        let index = shipped();
        let key = |concept: &str| {
            let id = index
                .responses
                .lexicon
                .concept(concept)
                .expect("shipped concept");
            index.keys.get(KeyText::Concept(id)).expect("interned")
        };
        let holds = |text: &str, key: Key| index.analyze(text).iter().any(|t| t.keys.contains(key));
        let (negation, ai) = (key("negation"), key("ai"));
        // Portuguese "no" is "in the", "aí" is "there"; in English they are a negation and AI.
        assert!(!holds(
            "o que queriam que a deepseek usasse no r2",
            negation
        ));
        assert!(!holds("e aí, a huawei ajudou a deepseek?", ai));
        assert!(holds("so no nvidia chips for the r2?", negation));
        assert!(holds("why do the ai labs want nvidia", ai));
    }

    #[test]
    fn an_inflected_verb_the_index_lacks_is_read_as_its_infinitive() {
        let index = shipped();
        let keys = |word: &str| index.query_terms(word).first().map(|t| t.keys);
        // "usasse" keeps its ending under Snowball; the cards say "usar".
        assert!(keys("usar").is_some_and(|k| !k.is_empty()));
        assert_eq!(keys("usasse"), keys("usar"));
        assert_eq!(keys("usassem"), keys("usar"));
    }

    #[test]
    fn wanting_is_how_a_question_is_put_not_its_topic() {
        for message in [
            "oq as autoridades queriam q a deepseek usasse no R2?",
            "what did beijing want deepseek to use for r2?",
        ] {
            assert_eq!(
                shipped().ask(message, None).fact(),
                Some("beijing-pressure"),
                "{message}"
            );
        }
    }

    #[test]
    fn a_request_for_the_story_in_brief_is_answered_with_the_summary_cards() {
        let index = shipped();
        let summary = &index.responses.article.meta.summary;
        assert!(!summary.is_empty(), "the shipped article names its summary");
        for message in [
            "tldr pls",
            "<@123456789012345678> resume pra mim",
            "what's this article about?",
            "do que fala o artigo?",
            "someone asked me for a tl;dr. what's the main thesis here?",
        ] {
            let answer = index.ask(message, None);
            let facts: Vec<&str> = answer.facts().collect();
            assert_eq!(
                facts,
                summary.iter().map(String::as_str).collect::<Vec<_>>(),
                "{message}"
            );
            // Every part is a card's own answer, quotes included.
            assert!(
                answer.citations.len()
                    + answer.more.iter().map(|p| p.citations.len()).sum::<usize>()
                    >= summary.len()
            );
        }
        // Naming a topic asks about it, not for the story.
        let amd = index.ask("tldr of the amd licence deal?", None);
        assert_eq!(amd.facts().collect::<Vec<_>>(), ["h20-deal"]);
        // Laughter alone is still chat.
        assert!(index.ask("kkkkk", None).is_chit_chat());
    }

    #[test]
    fn the_quote_that_says_how_an_attempt_ended_leads_when_asked_whether_it_worked() {
        // The question repeats the attempt (engineers sent) to ask how it ended.
        for message in [
            "huawei sent engineers, so did training on ascend work in the end?",
            "a huawei mandou engenheiros e mesmo assim não deu?",
        ] {
            assert_leads_with(message, "huawei-engineers", "nunca foi possível concluir");
        }
    }

    #[test]
    fn back_then_is_when_a_question_is_set_and_is_it_true_asks_to_confirm() {
        let index = shipped();
        for question in [
            "pq o r1 causou tanto na época",
            "why did r1 matter so much back then",
        ] {
            let unknown: Vec<String> = index
                .query_terms(question)
                .into_iter()
                .filter(|t| t.is_scored() && !index.is_known(t))
                .map(|t| t.surface)
                .collect();
            assert!(unknown.is_empty(), "{question}: {unknown:?}");
        }
        let terms = index.query_terms("isn't it true that deepseek ran out of money");
        assert!(index.asks_to_confirm(&terms));
    }

    #[test]
    fn thanks_and_questions_about_the_bot_are_chit_chat() {
        for message in [
            "thanks citebot, you helped a lot",
            "valeu mano",
            "who made you?",
            "oi, tudo bem?",
        ] {
            let answer = shipped().ask(message, None);
            assert!(answer.is_chit_chat(), "{message}: {answer:?}");
        }
        let answer = shipped().ask("thanks! and when is r2 coming out?", None);
        assert_eq!(answer.fact(), Some("r2-release-date"));
    }

    #[test]
    fn laughter_alone_is_chat_not_a_refusal() {
        for message in ["kkkkkkkkk", "lolol", "hahahaha 😂", "ngl lmaooo"] {
            assert!(shipped().ask(message, None).is_chit_chat(), "{message}");
        }
        let question = shipped().ask("kkkkkkk pq o r2 atrasou?", None);
        assert_eq!(question.facts().collect::<Vec<_>>(), ["why-r2-delayed"]);
    }

    #[test]
    fn tag_questions_and_filler_weigh_nothing() {
        let reading =
            shipped().read("they never managed a full training run on ascend, did they? lol");
        for clause in &reading.clauses {
            assert!(
                clause
                    .terms
                    .iter()
                    .all(|t| !["did they", "lol"].contains(&t.surface.as_str())),
                "{clause:?}"
            );
        }
    }

    #[test]
    fn a_question_naming_no_model_is_about_the_one_named_before() {
        let answer = shipped().ask("R2 vai ser open source? e quanto custou treinar ele?", None);
        assert!(
            answer.facts().all(|f| f != "r1-training"),
            "R1's cost is not R2's: {answer:?}"
        );
    }

    #[test]
    fn a_negated_success_is_a_failure() {
        let reading = shipped().read("pq n funcionou treinar na huawei");
        let terms = &reading.clauses[0].terms;
        assert!(
            terms.iter().any(|t| shipped().names_rule(t, Rule::Fail)),
            "{terms:?}"
        );
        assert!(
            terms
                .iter()
                .all(|t| !shipped().names_rule(t, Rule::Negation)),
            "{terms:?}"
        );
    }

    #[test]
    fn a_price_is_not_answered_by_a_percentage() {
        let answer = shipped().ask("quanto custa uma H20?", None);
        assert!(!answer.is_answered(), "{answer:?}");
        let answer = shipped().ask("how much did R1 cost to train?", None);
        assert_eq!(answer.fact(), Some("r1-training"));
    }

    #[test]
    fn short_words_with_two_letters_swapped_are_read_as_meant() {
        assert_eq!(shipped().correct("teh").as_deref(), Some("the"));
        assert_eq!(
            shipped().correct("nome"),
            None,
            "no other edit of a short word"
        );
    }

    #[test]
    fn a_suggestion_needs_the_card_to_cover_most_of_the_question() {
        let answer = shipped().ask("who is the ceo of deepseek?", None);
        assert!(
            !answer.is_answered() && !answer.is_suggested(),
            "{answer:?}"
        );
    }

    #[test]
    fn the_model_a_question_names_does_not_pick_the_quote() {
        // Both quotes of the card match "training"; only the second names R2, the first says
        // what hardware: the question's model code chose the card and has no say in the quote.
        let answer = shipped().ask("what hardware are they training r2 on now?", None);
        assert_eq!(answer.facts().collect::<Vec<_>>(), ["back-to-nvidia"]);
        assert!(
            answer.citations[0]
                .quote
                .contains("voltar a usar o hardware da NVIDIA"),
            "{:?}",
            answer.citations
        );
    }

    #[test]
    fn the_quote_that_answers_leads_and_the_card_order_stands_otherwise() {
        let answer = shipped().ask("how many GPUs was R1 trained on?", None);
        assert!(answer.citations[0].quote.contains("2048"), "{answer:?}");
        let command = shipped()
            .fact_answer("r1-training", Lang::En)
            .expect("card");
        let card = shipped().card("r1-training").expect("card");
        assert_eq!(
            command.citations, card.citations,
            "a fact command keeps the card's order"
        );
    }
}
