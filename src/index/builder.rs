//! Building the index: the cards, the article and the lexicon analysed once, in order, into the
//! immutable [`Index`].
//!
//! The builder owns what only building needs: the key tables while they grow and the meaning of
//! every word met. Each step reads what the steps before it made, and [`IndexBuilder::build`] is
//! the only way to an [`Index`], so no half-built index is ever visible.

use super::keys::{Interner, Key, KeySet, KeyText, TermKeys};
use super::{
    analyze_tokens, answer_sentences, code_family, failure_keys, letter_counts, CardProfile,
    HashMap, HashSet, Index, Paraphrase, PieceProfile, Role, SentenceProfile, Stated, Term, Tuning,
    Vocabulary, WordMeaning,
};
use crate::answer::Lang;
use crate::facts::FactCard;
use crate::lexicon::{ConceptId, Lexicon, Rule};
use crate::responses::Responses;
use crate::text::{fold, stems, tokenize_folded, Token};

/// Turns validated responses into an [`Index`].
pub struct IndexBuilder {
    responses: Responses,
    tuning: Tuning,
    keys: Interner,
    /// What each word met means: stemmed once, however often the cards repeat it.
    words: HashMap<Box<str>, WordMeaning>,
}

/// The builder's side of analysis: every key met is interned.
struct Interning<'a> {
    lexicon: &'a Lexicon,
    keys: &'a mut Interner,
    words: &'a mut HashMap<Box<str>, WordMeaning>,
}

impl Vocabulary for Interning<'_> {
    fn concept(&mut self, id: ConceptId) -> TermKeys {
        TermKeys::one(self.keys.intern(KeyText::Concept(id)))
    }

    fn exact(&mut self, text: &str) -> TermKeys {
        TermKeys::one(self.keys.intern(KeyText::Exact(text)))
    }

    fn word(&mut self, word: &str) -> WordMeaning {
        if let Some(meaning) = self.words.get(word) {
            return *meaning;
        }
        let (pt, en) = stems(word);
        let meaning = match self.lexicon.word_with_stems(word, &pt, &en) {
            Some(concept) => WordMeaning::Concept(concept),
            None => WordMeaning::Stems(TermKeys::stems(
                Some(self.keys.intern(KeyText::PtStem(&pt))),
                Some(self.keys.intern(KeyText::EnStem(&en))),
            )),
        };
        self.words.insert(word.into(), meaning);
        meaning
    }
}

impl IndexBuilder {
    pub fn new(responses: Responses) -> IndexBuilder {
        IndexBuilder {
            responses,
            tuning: Tuning::default(),
            keys: Interner::default(),
            words: HashMap::default(),
        }
    }

    /// Scoring constants other than the measured defaults (the tuning grid).
    pub fn tuning(mut self, tuning: Tuning) -> IndexBuilder {
        self.tuning = tuning;
        self
    }

    /// A text's terms, every key met interned, and what the text states (a number, a day), from
    /// one tokenization.
    fn analyze_stated(&mut self, text: &str) -> (Vec<Term>, Stated) {
        let mut tokens = tokenize_folded(&fold(text));
        let stated = Stated::of(&tokens);
        (self.analyze_tokens(&mut tokens), stated)
    }

    fn analyze_tokens(&mut self, tokens: &mut [Token]) -> Vec<Term> {
        let mut interning = Interning {
            lexicon: &self.responses.lexicon,
            keys: &mut self.keys,
            words: &mut self.words,
        };
        analyze_tokens(&self.responses.lexicon, tokens, &mut interning)
    }

    pub fn build(mut self) -> Index {
        // Questions are read with these whether or not a card holds them: a tag, "exactly", a
        // request for the story in brief, and the kinds of answer (a day, a length of time) a
        // fact may be unable to give.
        for rule in [
            Rule::Confirmation,
            Rule::Precise,
            Rule::Day,
            Rule::Duration,
            Rule::Fail,
            Rule::Summary,
            Rule::Name,
        ] {
            if let Some(concept) = self.responses.lexicon.rule(rule) {
                self.keys.intern(KeyText::Concept(concept));
            }
        }
        let cards = std::mem::take(&mut self.responses.cards);
        let mut vocabulary: HashSet<String> = HashSet::default();
        let mut seen_lang: HashMap<String, (bool, bool)> = HashMap::default();
        let mut paraphrases = Vec::new();
        let mut analysed_cards = Vec::with_capacity(cards.len());
        for (card_index, card) in cards.iter().enumerate() {
            let (primary, card_paraphrases) =
                self.card_paraphrases(card_index, card, &mut vocabulary, &mut seen_lang);
            paraphrases.extend(card_paraphrases);
            analysed_cards.push((primary, self.card_fact(card, &mut vocabulary)));
        }
        // The concepts that date something and money are interned by now if any text has them.
        let time_keys: Vec<Key> = self
            .responses
            .lexicon
            .time_words()
            .filter_map(|name| self.responses.lexicon.concept(name))
            .filter_map(|id| self.keys.get(KeyText::Concept(id)))
            .collect();
        let money_key = self.rule_key(Rule::Money);
        let span_key = self.rule_key(Rule::Span);
        let card_profiles: Vec<CardProfile> = analysed_cards
            .into_iter()
            .map(|(primary, fact)| {
                CardProfile::new(primary, fact, &time_keys, [money_key, span_key])
            })
            .collect();

        let article = &self.responses.article;
        let sentence_texts: Vec<String> = article
            .sentences
            .iter()
            .map(|s| article.sentence_text(s).to_string())
            .collect();
        let mut sentences = Vec::with_capacity(sentence_texts.len());
        for (sentence, text) in sentence_texts.iter().enumerate() {
            let mut keys = KeySet::default();
            let (terms, stated) = self.analyze_stated(text);
            self.mark_failure(&terms, &mut keys);
            for term in terms {
                keys.extend(&term.keys);
                vocabulary.insert(term.surface);
            }
            sentences.push(SentenceProfile {
                sentence,
                keys,
                stated,
            });
        }
        vocabulary.extend(self.responses.lexicon.words().map(str::to_string));

        let key_count = self.keys.len();
        let mut postings: Vec<Vec<u32>> = vec![Vec::new(); key_count];
        for (id, paraphrase) in paraphrases.iter().enumerate() {
            for key in paraphrase.keys.iter().flat_map(TermKeys::as_slice) {
                let list = &mut postings[key.index()];
                if list.last() != Some(&(id as u32)) {
                    list.push(id as u32);
                }
            }
        }
        let mut card_df = vec![0u32; key_count];
        for card in &card_profiles {
            let mut vocabulary = card.primary.clone();
            vocabulary.union_with(&card.secondary);
            for key in vocabulary.iter() {
                card_df[key.index()] += 1;
            }
        }
        let mut by_length: Vec<Vec<(String, super::LetterCounts)>> = Vec::new();
        for word in vocabulary {
            let len = word.chars().count();
            if by_length.len() <= len {
                by_length.resize(len + 1, Vec::new());
            }
            let counts = letter_counts(&word);
            by_length[len].push((word, counts));
        }
        for bucket in &mut by_length {
            // The words are distinct, so their order is the same as a stable sort's.
            bucket.sort_unstable();
        }
        let word_lang = seen_lang
            .into_iter()
            .filter_map(|(word, seen)| match seen {
                (true, false) => Some((word, Lang::Pt)),
                (false, true) => Some((word, Lang::En)),
                _ => None,
            })
            .collect();
        let rule_keys = Rule::ALL.map(|rule| self.rule_key(rule));
        let specific_answer_types = [Rule::Who, Rule::Where, Rule::Name]
            .iter()
            .filter_map(|rule| self.rule_key(*rule))
            .collect();
        self.responses.cards = cards;
        let mut index = Index {
            responses: self.responses,
            tuning: self.tuning,
            keys: self.keys,
            words: self.words,
            card_df,
            cards: card_profiles,
            paraphrases,
            postings,
            sentences,
            vocabulary: by_length,
            word_lang,
            specific_answer_types,
            rule_keys,
            time_keys,
        };
        let weights: Vec<f32> = index
            .paraphrases
            .iter()
            .map(|p| p.keys.iter().map(|keys| index.key_weight(keys)).sum())
            .collect();
        for (paraphrase, weight) in index.paraphrases.iter_mut().zip(weights) {
            paraphrase.weight = weight;
        }
        index
    }

    /// A fact that negates success anywhere before it ("nunca foi possível concluir com
    /// sucesso", "never managed to complete") states a failure, as a question's "didn't work" does.
    fn mark_failure(&self, terms: &[Term], keys: &mut KeySet) {
        let Some([negation, succeed, fail]) = failure_keys(|rule| self.rule_key(rule)) else {
            return;
        };
        let negated_at = terms.iter().position(|t| t.keys.contains(negation));
        let succeeds_after =
            negated_at.is_some_and(|at| terms[at + 1..].iter().any(|t| t.keys.contains(succeed)));
        if succeeds_after {
            keys.insert(fail);
        }
    }

    /// The key of the concept that plays `rule`'s part, if any text holds it.
    fn rule_key(&self, rule: Rule) -> Option<Key> {
        let concept = self.responses.lexicon.rule(rule)?;
        self.keys.get(KeyText::Concept(concept))
    }

    /// A card's questions, keywords, names and descriptions as paraphrases, and the keys they
    /// hold (the card's primary vocabulary).
    fn card_paraphrases(
        &mut self,
        card_index: usize,
        card: &FactCard,
        vocabulary: &mut HashSet<String>,
        seen_lang: &mut HashMap<String, (bool, bool)>,
    ) -> (KeySet, Vec<Paraphrase>) {
        let mut texts: Vec<(Option<Lang>, String, bool)> = card
            .questions()
            .map(|(lang, q)| (Some(lang), q.to_string(), true))
            .chain(card.learned.iter().map(|q| (None, q.clone(), true)))
            .collect();
        texts.extend(card.keywords.iter().map(|k| (None, k.clone(), false)));
        texts.extend(
            card.names()
                .map(|n| (None, n.replace(['-', '_'], " "), false)),
        );
        texts.push((Some(Lang::En), card.description.en.clone(), false));
        texts.push((Some(Lang::Pt), card.description.pt.clone(), false));
        let mut primary = KeySet::default();
        let mut paraphrases = Vec::with_capacity(texts.len());
        for (lang, text, is_question) in texts {
            let folded = fold(&text);
            let terms = self.analyze_tokens(&mut tokenize_folded(&folded));
            for term in &terms {
                if let Some(lang) = lang {
                    let entry = match seen_lang.get_mut(&term.surface) {
                        Some(entry) => entry,
                        None => seen_lang.entry(term.surface.clone()).or_default(),
                    };
                    match lang {
                        Lang::Pt => entry.0 = true,
                        Lang::En => entry.1 = true,
                    }
                }
                primary.extend(&term.keys);
            }
            let mut keys = Vec::with_capacity(terms.len());
            for term in terms {
                keys.push(term.keys);
                vocabulary.insert(term.surface);
            }
            paraphrases.push(Paraphrase {
                card: card_index,
                folded,
                text,
                is_question,
                lang,
                keys,
                weight: 0.0,
            });
        }
        (primary, paraphrases)
    }

    /// The card's fact, piece by piece: its quotes (each with its gloss), then its answer's
    /// sentences in Portuguese and in English.
    fn card_fact(&mut self, card: &FactCard, vocabulary: &mut HashSet<String>) -> CardFact {
        let citations: Vec<String> = card
            .citations
            .iter()
            .map(|c| match &c.gloss {
                Some(gloss) => format!("{} {gloss}", c.quote),
                None => c.quote.clone(),
            })
            .collect();
        let [pt, en] = [Lang::Pt, Lang::En].map(|lang| {
            answer_sentences(card.answer.get(lang))
                .into_iter()
                .map(str::to_string)
                .collect::<Vec<String>>()
        });
        let mut fact = CardFact::default();
        for (group, texts) in [(0, citations), (1, pt), (2, en)] {
            for text in texts {
                let mut keys = KeySet::default();
                let (terms, stated) = self.analyze_stated(&text);
                self.mark_failure(&terms, &mut keys);
                for term in terms {
                    if term.role == Role::Exact && code_family(&term.surface).is_some() {
                        fact.codes.insert(term.surface.clone());
                    }
                    keys.extend(&term.keys);
                    vocabulary.insert(term.surface);
                }
                fact.pieces[group].push(FactPiece { text, keys, stated });
            }
        }
        fact
    }
}

/// One quote (with its gloss) or answer sentence, analysed.
pub(super) struct FactPiece {
    text: String,
    keys: KeySet,
    stated: Stated,
}

/// A card's fact as analysed text: quotes, pt answer sentences, en answer sentences.
#[derive(Default)]
pub(super) struct CardFact {
    pieces: [Vec<FactPiece>; 3],
    codes: HashSet<String>,
}

impl CardProfile {
    fn new(
        primary: KeySet,
        fact: CardFact,
        time_keys: &[Key],
        [money_key, span_key]: [Option<Key>; 2],
    ) -> CardProfile {
        let mut secondary = KeySet::default();
        for piece in fact.pieces.iter().flatten() {
            secondary.union_with(&piece.keys);
        }
        let states_number = fact.pieces.iter().flatten().any(|p| p.stated.number);
        let states_time = time_keys.iter().any(|k| secondary.contains(*k));
        let states_money = money_key.is_some_and(|k| secondary.contains(k));
        let states_span = span_key.is_some_and(|k| secondary.contains(k));
        let states_day = fact.pieces.iter().flatten().any(|piece| {
            piece.stated.day_number && time_keys.iter().any(|k| piece.keys.contains(*k))
        });
        let [citations, pt, en] = fact.pieces.map(|pieces| {
            pieces
                .into_iter()
                .map(|FactPiece { text, keys, stated }| PieceProfile {
                    states_number: stated.number,
                    states_time: time_keys.iter().any(|k| keys.contains(*k)),
                    keys,
                    text,
                })
                .collect::<Vec<PieceProfile>>()
        });
        CardProfile {
            primary,
            secondary,
            states_number,
            states_time,
            codes: fact.codes,
            states_money,
            states_day,
            states_span,
            citations,
            answer_sentences: [pt, en],
        }
    }
}
