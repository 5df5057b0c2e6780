//! Text normalisation shared by the index, the lexicon and the checks.
//!
//! Users type with or without accents, in either case, with `5,576` or `5.576`: everything that is
//! compared goes through [`fold`] and [`tokenize`] first, so the index never sees two spellings of
//! one word. Model codes and numbers (`h20`, `r2`, `2048`, `%`) are marked exact-only because a
//! one-character edit turns them into another product (`r1` vs `r2`), not a typo.

use std::sync::OnceLock;

use rust_stemmers::{Algorithm, Stemmer};
use unicode_normalization::char::{decompose_compatible, is_combining_mark};

use crate::answer::Lang;

/// Lowercases, strips accents and folds compatibility forms: "Inferência" -> "inferencia",
/// fullwidth "Ｒ２" and "R₂" -> "r2"; zero-width characters and soft hyphens vanish, so a word
/// split by an invisible character is still the word.
pub fn fold(text: &str) -> String {
    let mut folded = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii() {
            folded.push(c.to_ascii_lowercase());
            continue;
        }
        if crate::reader::is_format_char(c) {
            continue;
        }
        // Compatibility decomposition, one character at a time, keeping only the base letters:
        // NFKD with its combining marks dropped, without NFKD's reordering buffer.
        decompose_compatible(c, |part| {
            if !is_combining_mark(part) {
                folded.extend(part.to_lowercase());
            }
        });
    }
    folded
}

/// How a token may be matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// An ordinary word: stemmed, mapped to concepts, typo-tolerant.
    Word,
    /// A number, a model code or `%`: matched only exactly.
    Exact,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub text: String,
    pub kind: TokenKind,
}

/// Splits folded text into tokens. Digits joined by `.` or `,` become one number ("50.000" ->
/// "50000"), so both decimal conventions meet; `%` is a token of its own.
pub fn tokenize(text: &str) -> Vec<Token> {
    tokenize_folded(&fold(text))
}

/// [`tokenize`] for text already passed through [`fold`].
pub fn tokenize_folded(folded: &str) -> Vec<Token> {
    let bytes = folded.as_bytes();
    let mut tokens = Vec::with_capacity(folded.len() / 5);
    let mut current = String::with_capacity(16);
    let mut has_digit = false;
    let flush = |current: &mut String, has_digit: &mut bool, tokens: &mut Vec<Token>| {
        if !current.is_empty() {
            // "50k" is how people type 50.000 in chat.
            if let Some(digits) = current.strip_suffix('k') {
                if !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) {
                    *current = format!("{digits}000");
                }
            }
            // "h20s" is the plural of the code "h20", not another product.
            if *has_digit && current.len() > 2 && current.ends_with('s') {
                let stem = &current[..current.len() - 1];
                if stem.ends_with(|c: char| c.is_ascii_digit()) {
                    current.truncate(current.len() - 1);
                }
            }
            let kind = if *has_digit {
                TokenKind::Exact
            } else {
                TokenKind::Word
            };
            tokens.push(Token {
                // A copy of exactly its size; `current` keeps its buffer for the next token.
                text: current.as_str().to_owned(),
                kind,
            });
            current.clear();
        }
        *has_digit = false;
    };
    // Past an English contraction's tail ("they're", "we've", "it'll"), which says nothing.
    let mut skip_to = 0;
    for (i, c) in folded.char_indices() {
        if i < skip_to {
            continue;
        }
        if c.is_alphanumeric() {
            has_digit |= c.is_numeric();
            current.push(c);
            continue;
        }
        if matches!(c, '\'' | '’') && current.chars().last().is_some_and(char::is_alphabetic) {
            let after = i + c.len_utf8();
            let tail_len = folded[after..]
                .find(|t: char| !t.is_ascii_alphabetic())
                .unwrap_or(folded.len() - after);
            if matches!(
                &folded[after..after + tail_len],
                "s" | "re" | "ve" | "ll" | "d" | "m"
            ) {
                skip_to = after + tail_len;
            }
        }
        // '.' and ',' are one byte, and so are the ASCII digits around them.
        let joins_digits = matches!(c, '.' | ',')
            && i > 0
            && bytes[i - 1].is_ascii_digit()
            && bytes.get(i + 1).is_some_and(u8::is_ascii_digit);
        if joins_digits {
            continue;
        }
        flush(&mut current, &mut has_digit, &mut tokens);
        if c == '%' || c == '$' {
            tokens.push(Token {
                text: c.to_string(),
                kind: TokenKind::Exact,
            });
        }
    }
    flush(&mut current, &mut has_digit, &mut tokens);
    // "50 mil" and "50 thousand" are how people write 50.000.
    let mut kept = 0;
    for read in 0..tokens.len() {
        let thousands = matches!(tokens[read].text.as_str(), "mil" | "thousand");
        if thousands && kept > 0 && tokens[kept - 1].text.chars().all(|c| c.is_ascii_digit()) {
            tokens[kept - 1].text.push_str("000");
            continue;
        }
        tokens.swap(kept, read);
        kept += 1;
    }
    tokens.truncate(kept);
    tokens
}

/// Snowball stems of a folded word in both languages, so a question need not be
/// language-detected before it is matched.
pub fn stems(word: &str) -> (String, String) {
    (stem(Lang::Pt, word), stem(Lang::En, word))
}

/// The Snowball stem of a folded word in one language.
pub fn stem(lang: Lang, word: &str) -> String {
    static STEMMERS: OnceLock<(Stemmer, Stemmer)> = OnceLock::new();
    let (pt, en) = STEMMERS.get_or_init(|| {
        (
            Stemmer::create(Algorithm::Portuguese),
            Stemmer::create(Algorithm::English),
        )
    });
    match lang {
        Lang::Pt => pt.stem(word).into_owned(),
        Lang::En => en.stem(word).into_owned(),
    }
}

/// Function words dropped before matching. Question words (quando, quanto, porque, why, when...)
/// and negations (nao, nunca, not, never, sem...) are deliberately absent: they change what is
/// asked.
const PT_STOPWORDS: &[&str] = &[
    "a",
    "ao",
    "aos",
    "as",
    "à",
    "às",
    "o",
    "os",
    "um",
    "uma",
    "uns",
    "umas",
    "de",
    "da",
    "das",
    "do",
    "dos",
    "d",
    "em",
    "na",
    "nas",
    "no",
    "nos",
    "num",
    "numa",
    "por",
    "pela",
    "pelas",
    "pelo",
    "pelos",
    "para",
    "pra",
    "pro",
    "p",
    "com",
    "e",
    "ou",
    "mas",
    "que",
    "q",
    "se",
    "foi",
    "foram",
    "ser",
    "sido",
    "era",
    "eram",
    "é",
    "e",
    "esta",
    "está",
    "estao",
    "estão",
    "estava",
    "estavam",
    "este",
    "esta",
    "isto",
    "isso",
    "esse",
    "essa",
    "aquele",
    "aquela",
    "aquilo",
    "ele",
    "ela",
    "eles",
    "elas",
    "lhe",
    "lhes",
    "seu",
    "sua",
    "seus",
    "suas",
    "meu",
    "minha",
    "teu",
    "tua",
    "eu",
    "tu",
    "voce",
    "vc",
    "vcs",
    "voces",
    "me",
    "te",
    "nós",
    "nos",
    "ja",
    "la",
    "aqui",
    "ai",
    "entao",
    "tipo",
    "tb",
    "tbm",
    "tambem",
    "mesmo",
    "mesma",
    "sobre",
    "ter",
    "tem",
    "tinha",
    "tiveram",
    "teve",
    "ha",
    "houve",
    "fazer",
    "fez",
    "fizeram",
    "faz",
    "qual",
    "quais",
    "cujo",
    "cuja",
    "sao",
    "sera",
    "seria",
    "pode",
    "podes",
    "poderia",
    "sabes",
    "sabe",
    "saber",
    "diz",
    "dizer",
    "diga",
    "conta",
    "contar",
    "explica",
    "explicar",
    "explique",
    "fala",
    "falar",
    "artigo",
    "noticia",
    "texto",
    "segundo",
    "acordo com",
    "afinal",
    "ainda",
    "agora",
    "entre",
    "ate",
    "apos",
    "depois",
    "antes",
    "muito",
    "muita",
    "muitos",
    "muitas",
    "mais",
    "menos",
    "bem",
    "so",
    "apenas",
    "ne",
    "ok",
    "oi",
    "ola",
    "ei",
    "pls",
    "por favor",
    "favor",
    "citebot",
    "bot",
    "exatamente",
    "realmente",
    "certo",
    "coisa",
    "coisas",
    "alguma",
    "algum",
    "algo",
    "estar",
    "sendo",
    "vai",
    "vao",
    "aconteceu",
    "acontecer",
    "acontece",
    "rolou",
    "cara",
    "mano",
    "gente",
    "dai",
    "tanto",
    "tao",
    "ver",
    "desta",
    "deste",
    "nesta",
    "neste",
    "dessa",
    "desse",
    "nessa",
    "nesse",
    "disto",
    "disso",
    "nisso",
    "agora",
    "ainda",
    "ta",
    "tá",
    "dele",
    "dela",
    "deles",
    "delas",
    "quer",
    "querer",
    "queria",
    "querem",
];

const EN_STOPWORDS: &[&str] = &[
    "a",
    "an",
    "the",
    "of",
    "to",
    "in",
    "on",
    "at",
    "by",
    "for",
    "with",
    "from",
    "into",
    "about",
    "as",
    "and",
    "or",
    "but",
    "is",
    "are",
    "was",
    "were",
    "be",
    "been",
    "being",
    "am",
    "do",
    "does",
    "did",
    "done",
    "doing",
    "has",
    "have",
    "had",
    "having",
    "it",
    "its",
    "it's",
    "this",
    "that",
    "these",
    "those",
    "there",
    "their",
    "they",
    "them",
    "he",
    "she",
    "his",
    "her",
    "i",
    "me",
    "my",
    "we",
    "our",
    "you",
    "your",
    "u",
    "ur",
    "ya",
    "s",
    "t",
    "what",
    "whats",
    "wat",
    "which",
    "can",
    "could",
    "would",
    "should",
    "will",
    "shall",
    "might",
    "must",
    "get",
    "got",
    "gets",
    "getting",
    "tell",
    "say",
    "says",
    "said",
    "explain",
    "know",
    "article",
    "news",
    "story",
    "text",
    "please",
    "pls",
    "plz",
    "thanks",
    "hey",
    "hi",
    "hello",
    "yo",
    "bot",
    "citebot",
    "so",
    "just",
    "really",
    "actually",
    "exactly",
    "up",
    "some",
    "any",
    "thing",
    "things",
    "stuff",
    "like",
    "also",
    "too",
    "then",
    "than",
    "now",
    "still",
    "very",
    "much",
    "more",
    "most",
    "less",
    "all",
    "happen",
    "happened",
    "happening",
    "going",
    "go",
    "gonna",
    "wanna",
    "let",
    "lets",
    "make",
    "made",
    "anyone",
    "anybody",
    "guys",
    "wtf",
    "lol",
    "ok",
    "okay",
    "according",
    "if",
    "whether",
    "want",
    "wants",
    "wanted",
    "here",
    "something",
    "kind",
    "sort",
    "one",
];

/// The language this folded word is a function word of, when it is one of exactly one.
pub fn stopword_lang(word: &str) -> Option<Lang> {
    match stopword_langs(word) {
        Some((true, false)) => Some(Lang::Pt),
        Some((false, true)) => Some(Lang::En),
        _ => None,
    }
}

/// Whether the folded word is a function word of this language (it may be one of the other too).
pub fn is_stopword_in(lang: Lang, word: &str) -> bool {
    stopword_langs(word).is_some_and(|(pt, en)| match lang {
        Lang::Pt => pt,
        Lang::En => en,
    })
}

/// True when the folded word carries no meaning for matching.
pub fn is_stopword(word: &str) -> bool {
    stopword_langs(word).is_some()
}

/// Whether the folded word is a Portuguese and an English function word; `None` if neither.
fn stopword_langs(word: &str) -> Option<(bool, bool)> {
    type Table = std::collections::HashMap<String, (bool, bool), foldhash::fast::FixedState>;
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE
        .get_or_init(|| {
            let mut table = Table::default();
            for word in PT_STOPWORDS {
                table.entry(fold(word)).or_default().0 = true;
            }
            for word in EN_STOPWORDS {
                table.entry(fold(word)).or_default().1 = true;
            }
            table
        })
        .get(word)
        .copied()
}

/// Laughter of any length, as the one form a word list can hold: "kkkkkkkk" -> "kk",
/// "hahahahah" / "ahahah" / "hehehe" -> "haha", "rsrsrs" -> "rs", "lolol" / "looool" -> "lol",
/// "lmaooo" -> "lmao". `None` for any other word.
pub fn laughter(word: &str) -> Option<&'static str> {
    let only = |letters: &str| !word.is_empty() && word.chars().all(|c| letters.contains(c));
    if word.len() >= 2 && only("k") {
        return Some("kk");
    }
    if word.len() >= 4 && only("haeiu") && word.matches('h').count() >= 2 {
        return Some("haha");
    }
    if word.len() >= 4
        && word.len().is_multiple_of(2)
        && word.as_bytes().chunks(2).all(|p| p == b"rs")
    {
        return Some("rs");
    }
    if word.len() >= 3 && word.starts_with("lo") && word.ends_with('l') && only("lo") {
        return Some("lol");
    }
    if word.starts_with("lmao") && word[4..].chars().all(|c| c == 'o') {
        return Some("lmao");
    }
    None
}

/// True when the folded word is a common word of English or Portuguese: the stopwords-iso lists
/// (the `stop-words` crate), which hold everyday words such as "yesterday", "side", "novo" and
/// "primeiro" besides function words.
pub fn is_common_word(word: &str) -> bool {
    static SET: OnceLock<std::collections::HashSet<String>> = OnceLock::new();
    SET.get_or_init(|| {
        stop_words::get(stop_words::LANGUAGE::English)
            .iter()
            .chain(stop_words::get(stop_words::LANGUAGE::Portuguese))
            .map(|w| fold(w))
            .collect()
    })
    .contains(word)
}

/// The infinitives a Portuguese verb form may come from, most likely first: "usasse" ->
/// "usar", "queriam" -> "querer"/"querir". Snowball strips these endings only after a long enough
/// root, so the short verbs chat uses most ("usasse", "deram") keep forms no card has; reading
/// them back to the infinitive lets the index's own stem of the verb match.
pub fn pt_infinitives(word: &str) -> Vec<String> {
    // Inflectional endings of the three conjugations, longest first within each ending's length,
    // with the infinitive endings they can come from.
    const ENDINGS: &[(&str, &[&str])] = &[
        ("ássemos", &["ar"]),
        ("assemos", &["ar"]),
        ("éssemos", &["er"]),
        ("essemos", &["er"]),
        ("íssemos", &["ir"]),
        ("issemos", &["ir"]),
        ("assem", &["ar"]),
        ("essem", &["er"]),
        ("issem", &["ir"]),
        ("ariam", &["ar"]),
        ("eriam", &["er"]),
        ("iriam", &["ir"]),
        ("asse", &["ar"]),
        ("esse", &["er"]),
        ("isse", &["ir"]),
        ("aria", &["ar"]),
        ("eria", &["er"]),
        ("iria", &["ir"]),
        ("aram", &["ar"]),
        ("eram", &["er"]),
        ("iram", &["ir"]),
        ("avam", &["ar"]),
        ("ando", &["ar"]),
        ("endo", &["er"]),
        ("indo", &["ir"]),
        ("ados", &["ar"]),
        ("adas", &["ar"]),
        ("idos", &["er", "ir"]),
        ("idas", &["er", "ir"]),
        ("iam", &["er", "ir"]),
        ("ava", &["ar"]),
        ("ado", &["ar"]),
        ("ada", &["ar"]),
        ("ido", &["er", "ir"]),
        ("ida", &["er", "ir"]),
        ("ou", &["ar"]),
        ("eu", &["er"]),
        ("iu", &["ir"]),
        ("ia", &["er", "ir"]),
        ("am", &["ar"]),
        ("em", &["er", "ar"]),
    ];
    let mut infinitives = Vec::new();
    for (ending, sources) in ENDINGS {
        let Some(root) = word.strip_suffix(ending) else {
            continue;
        };
        if root.chars().count() < 2 {
            continue;
        }
        for source in *sources {
            let infinitive = format!("{root}{source}");
            if infinitive != word && !infinitives.contains(&infinitive) {
                infinitives.push(infinitive);
            }
        }
    }
    infinitives
}

/// Collapses every run of whitespace to one space; used to compare quotes with the article.
pub fn collapse_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(tokens: &[Token]) -> Vec<&str> {
        tokens.iter().map(|t| t.text.as_str()).collect()
    }

    #[test]
    fn an_english_contractions_tail_is_no_word() {
        assert_eq!(
            texts(&tokenize(
                "they're sure we've heard it'll ship, I'd say; nvidia’s chips"
            )),
            ["they", "sure", "we", "heard", "it", "ship", "i", "say", "nvidia", "chips"]
        );
        // "n't" stays for the lexicon's negations ("didn't" is "didn" + "t").
        assert_eq!(texts(&tokenize("didn't")), ["didn", "t"]);
    }

    #[test]
    fn a_portuguese_verb_form_reads_back_to_its_infinitive() {
        assert_eq!(pt_infinitives("usasse"), ["usar"]);
        // The longest ending is read first.
        assert_eq!(pt_infinitives("usassem")[0], "usar");
        assert!(pt_infinitives("queriam").contains(&"querer".to_string()));
        assert_eq!(pt_infinitives("trocou"), ["trocar"]);
        // A root of one letter is no verb's.
        assert!(pt_infinitives("deu").is_empty());
        assert!(pt_infinitives("nvidia").iter().all(|w| w != "nvidia"));
    }

    #[test]
    fn laughter_of_any_length_is_one_word() {
        for (word, form) in [
            ("kkkkkkkkkk", "kk"),
            ("hahahahah", "haha"),
            ("ahahahah", "haha"),
            ("hehehe", "haha"),
            ("huehuehue", "haha"),
            ("rsrsrsrs", "rs"),
            ("lololol", "lol"),
            ("looool", "lol"),
            ("lmaooooo", "lmao"),
        ] {
            assert_eq!(laughter(word), Some(form), "{word}");
        }
        for word in ["k", "ha", "chip", "hua", "rss", "lola", "lmaox", "kks"] {
            assert_eq!(laughter(word), None, "{word}");
        }
    }

    #[test]
    fn folds_accents_and_case() {
        assert_eq!(fold("Inferência ÁÉÇ"), "inferencia aec");
        // Decomposed input (e + combining acute) folds the same as precomposed.
        assert_eq!(fold("Infere\u{0302}ncia"), "inferencia");
        // Compatibility folding splits the digraph ǅ into its letters.
        assert_eq!(fold("ŒUVRE ß ǅ"), "œuvre ß dz");
    }

    #[test]
    fn compatibility_forms_and_invisible_characters_fold_away() {
        assert_eq!(fold("Ｒ２ R₂ ＨＵＡＷＥＩ"), "r2 r2 huawei");
        assert_eq!(
            fold("atra\u{200B}sou adi\u{00AD}ado\u{FEFF}"),
            "atrasou adiado"
        );
        assert_eq!(texts(&tokenize("H₂0? ｈ２０")), ["h20", "h20"]);
    }

    #[test]
    fn numbers_in_both_decimal_conventions_meet() {
        assert_eq!(texts(&tokenize("50.000 GPUs")), ["50000", "gpus"]);
        assert_eq!(texts(&tokenize("5,576 milhões")), ["5576", "milhoes"]);
        assert_eq!(texts(&tokenize("5.576")), ["5576"]);
        assert_eq!(texts(&tokenize("50k hopper")), ["50000", "hopper"]);
        assert_eq!(texts(&tokenize("H20s h800")), ["h20", "h800"]);
        assert_eq!(
            texts(&tokenize("50 mil gpus, 50 thousand")),
            ["50000", "gpus", "50000"]
        );
    }

    #[test]
    fn model_codes_and_percent_are_exact_only() {
        let tokens = tokenize("R2 usa H20? 15%");
        assert_eq!(texts(&tokens), ["r2", "usa", "h20", "15", "%"]);
        let kinds: Vec<TokenKind> = tokens.iter().map(|t| t.kind).collect();
        assert_eq!(
            kinds,
            [
                TokenKind::Exact,
                TokenKind::Word,
                TokenKind::Exact,
                TokenKind::Exact,
                TokenKind::Exact
            ]
        );
    }

    #[test]
    fn sentence_punctuation_is_not_a_number_separator() {
        assert_eq!(texts(&tokenize("R2. Depois")), ["r2", "depois"]);
        assert_eq!(texts(&tokenize("2048, e")), ["2048", "e"]);
    }

    #[test]
    fn question_words_and_negations_are_kept() {
        for word in [
            "quando", "quanto", "porque", "why", "when", "nao", "never", "not",
        ] {
            assert!(!is_stopword(word), "{word} must not be a stop word");
        }
        assert!(is_stopword("the"));
        assert!(is_stopword("voce"));
    }

    #[test]
    fn stems_in_both_languages() {
        let (pt, _) = stems("atrasado");
        let (pt2, _) = stems("atrasou");
        assert_eq!(pt, pt2);
        let (_, en) = stems("delayed");
        let (_, en2) = stems("delays");
        assert_eq!(en, en2);
    }
}
