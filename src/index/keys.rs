//! Typed index keys: what a term can match in a card or a sentence.
//!
//! A key stands for a lexicon concept, a number or model code, or a word's Snowball stem in one
//! language. Each kind is interned in its own table, so a lookup hashes the bare text (no
//! prefixed string is built), and a concept is found by its id without hashing at all.

use crate::lexicon::ConceptId;

type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// An interned key: an index into the tables built from the cards and the article.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) struct Key(u32);

impl Key {
    pub(super) fn index(self) -> usize {
        self.0 as usize
    }
}

/// What a key stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum KeyText<'a> {
    Concept(ConceptId),
    /// A number, percentage or model code (`r2`, `15%`, `2048`): matched exactly.
    Exact(&'a str),
    PtStem(&'a str),
    EnStem(&'a str),
}

/// The keys of one term: a concept or an exact token has one, a word has its two stems, and a
/// word no card or sentence holds has none (it is known by its surface alone).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct TermKeys {
    keys: [Key; 2],
    len: u8,
}

impl TermKeys {
    pub(super) const NONE: TermKeys = TermKeys {
        keys: [Key(0); 2],
        len: 0,
    };

    pub(super) fn one(key: Key) -> TermKeys {
        TermKeys {
            keys: [key; 2],
            len: 1,
        }
    }

    /// Both stems of a word; one key when only one language's stem is known.
    pub(super) fn stems(pt: Option<Key>, en: Option<Key>) -> TermKeys {
        match (pt, en) {
            (Some(pt), Some(en)) => TermKeys {
                keys: [pt, en],
                len: 2,
            },
            (Some(key), None) | (None, Some(key)) => TermKeys::one(key),
            (None, None) => TermKeys::NONE,
        }
    }

    pub(super) fn as_slice(&self) -> &[Key] {
        &self.keys[..self.len as usize]
    }

    pub(super) fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub(super) fn contains(&self, key: Key) -> bool {
        self.as_slice().contains(&key)
    }

    /// Exactly this one key.
    pub(super) fn is(&self, key: Key) -> bool {
        self.as_slice() == [key]
    }
}

/// A set of keys, as bits: what a card, a quote or a sentence holds. Testing a key is one bit
/// test, where a hash set hashed it each time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct KeySet {
    bits: Vec<u64>,
}

impl KeySet {
    pub(super) fn insert(&mut self, key: Key) {
        let (word, bit) = (key.index() / 64, key.index() % 64);
        if self.bits.len() <= word {
            self.bits.resize(word + 1, 0);
        }
        self.bits[word] |= 1 << bit;
    }

    pub(super) fn contains(&self, key: Key) -> bool {
        let (word, bit) = (key.index() / 64, key.index() % 64);
        self.bits.get(word).is_some_and(|w| w & (1 << bit) != 0)
    }

    /// Whether the set holds any of a term's keys.
    pub(super) fn holds(&self, keys: &TermKeys) -> bool {
        keys.as_slice().iter().any(|k| self.contains(*k))
    }

    pub(super) fn extend(&mut self, keys: &TermKeys) {
        for key in keys.as_slice() {
            self.insert(*key);
        }
    }

    pub(super) fn union_with(&mut self, other: &KeySet) {
        if self.bits.len() < other.bits.len() {
            self.bits.resize(other.bits.len(), 0);
        }
        for (mine, theirs) in self.bits.iter_mut().zip(&other.bits) {
            *mine |= theirs;
        }
    }

    /// The keys, in order.
    pub(super) fn iter(&self) -> impl Iterator<Item = Key> + '_ {
        self.bits.iter().enumerate().flat_map(|(word, &bits)| {
            (0..64)
                .filter(move |bit| bits & (1 << bit) != 0)
                .map(move |bit| Key((word * 64 + bit) as u32))
        })
    }
}

/// The key tables. Built once by the index builder; read-only afterwards.
#[derive(Debug, Default)]
pub(super) struct Interner {
    /// By concept id; a concept no card or sentence uses has no key.
    concepts: Vec<Option<Key>>,
    exact: HashMap<Box<str>, Key>,
    pt_stems: HashMap<Box<str>, Key>,
    en_stems: HashMap<Box<str>, Key>,
    len: u32,
}

impl Interner {
    /// The key of `text`, made if new.
    pub(super) fn intern(&mut self, text: KeyText) -> Key {
        if let Some(key) = self.get(text) {
            return key;
        }
        let key = Key(self.len);
        self.len += 1;
        match text {
            KeyText::Concept(id) => {
                let slot = id as usize;
                if self.concepts.len() <= slot {
                    self.concepts.resize(slot + 1, None);
                }
                self.concepts[slot] = Some(key);
            }
            KeyText::Exact(word) => {
                self.exact.insert(word.into(), key);
            }
            KeyText::PtStem(stem) => {
                self.pt_stems.insert(stem.into(), key);
            }
            KeyText::EnStem(stem) => {
                self.en_stems.insert(stem.into(), key);
            }
        }
        key
    }

    /// The key of `text`, if any card or sentence holds it.
    pub(super) fn get(&self, text: KeyText) -> Option<Key> {
        match text {
            KeyText::Concept(id) => self.concepts.get(id as usize).copied().flatten(),
            KeyText::Exact(word) => self.exact.get(word).copied(),
            KeyText::PtStem(stem) => self.pt_stems.get(stem).copied(),
            KeyText::EnStem(stem) => self.en_stems.get(stem).copied(),
        }
    }

    /// How many keys there are: every key's index is below it.
    pub(super) fn len(&self) -> usize {
        self.len as usize
    }

    /// What a key stands for, for `--explain` (a scan: never on the answering path).
    pub(super) fn describe(&self, key: Key, concept_name: impl Fn(ConceptId) -> String) -> String {
        if let Some(id) = self.concepts.iter().position(|k| *k == Some(key)) {
            return format!("concept {}", concept_name(id as ConceptId));
        }
        let find = |table: &HashMap<Box<str>, Key>| {
            table
                .iter()
                .find(|(_, k)| **k == key)
                .map(|(text, _)| text.to_string())
        };
        if let Some(text) = find(&self.exact) {
            return format!("exact {text}");
        }
        if let Some(text) = find(&self.pt_stems) {
            return format!("pt stem {text}");
        }
        find(&self.en_stems).map_or_else(|| "<unknown>".to_string(), |t| format!("en stem {t}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_of_key_is_its_own_namespace() {
        let mut interner = Interner::default();
        let pt = interner.intern(KeyText::PtStem("chip"));
        let en = interner.intern(KeyText::EnStem("chip"));
        let exact = interner.intern(KeyText::Exact("chip"));
        let concept = interner.intern(KeyText::Concept(3));
        let all = [pt, en, exact, concept];
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                assert_ne!(a, b, "the same text in two kinds is two keys");
            }
        }
        assert_eq!(
            interner.intern(KeyText::PtStem("chip")),
            pt,
            "interned once"
        );
        assert_eq!(interner.len(), 4);
        assert_eq!(interner.get(KeyText::Concept(2)), None);
        assert_eq!(interner.get(KeyText::EnStem("chips")), None);
        assert_eq!(
            interner.describe(concept, |id| format!("#{id}")),
            "concept #3"
        );
        assert_eq!(interner.describe(en, |_| String::new()), "en stem chip");
    }

    #[test]
    fn a_key_set_holds_exactly_the_keys_put_in() {
        let mut set = KeySet::default();
        for k in [0, 63, 64, 700] {
            set.insert(Key(k));
        }
        assert!(set.contains(Key(63)) && set.contains(Key(64)) && set.contains(Key(700)));
        assert!(!set.contains(Key(1)) && !set.contains(Key(65)) && !set.contains(Key(10_000)));
        let mut other = KeySet::default();
        other.insert(Key(5));
        set.union_with(&other);
        let keys: Vec<u32> = set.iter().map(|k| k.0).collect();
        assert_eq!(keys, [0, 5, 63, 64, 700]);
        assert!(set.holds(&TermKeys::stems(Some(Key(9)), Some(Key(700)))));
        assert!(!set.holds(&TermKeys::NONE));
    }

    #[test]
    fn term_keys_hold_up_to_two_keys_and_compare_as_sets_of_them() {
        let (a, b) = (Key(1), Key(2));
        let both = TermKeys::stems(Some(a), Some(b));
        assert_eq!(both.as_slice(), &[a, b]);
        assert!(both.contains(b) && !both.is(b));
        assert_eq!(TermKeys::stems(None, Some(b)), TermKeys::one(b));
        assert!(TermKeys::one(b).is(b));
        assert!(TermKeys::stems(None, None).is_empty());
        assert_eq!(TermKeys::NONE.as_slice(), &[] as &[Key]);
    }
}
