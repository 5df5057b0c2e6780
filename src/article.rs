//! The article: its text exactly as received, its metadata, and where every paragraph and
//! sentence stands in it.
//!
//! The text is never edited. Quotes are located in it whitespace-insensitively (a card may wrap a
//! long quote) but otherwise exactly, and a [`Citation`] always carries the article's own bytes.

use serde::{Deserialize, Serialize};

use crate::answer::Citation;
use crate::text::collapse_whitespace;

/// `responses/article.toml`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ArticleMeta {
    /// Title in English.
    pub title: String,
    /// Title in Portuguese.
    pub title_pt: String,
    /// BCP 47 tag of the article's language, e.g. `pt-PT`.
    pub language: String,
    /// The outlet whose report the article relays.
    pub relays: String,
    /// File name of the text, relative to the responses folder.
    pub text: String,
    /// The fact cards that tell the story in brief, headline first: what "tldr?" is answered
    /// with. Each names a card by its command or an alias.
    #[serde(default)]
    pub summary: Vec<String>,
}

/// A paragraph is a block of text between blank lines; headings count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paragraph {
    /// 1-based, in reading order (§N).
    pub number: usize,
    /// Byte range in the article text.
    pub start: usize,
    pub end: usize,
    /// 1-based line of the text file where the paragraph starts.
    pub line: usize,
    pub heading: bool,
}

/// A sentence of a body paragraph, for direct-passage answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sentence {
    pub paragraph: usize,
    pub start: usize,
    pub end: usize,
}

#[derive(Debug, Clone)]
pub struct Article {
    pub meta: ArticleMeta,
    pub text: String,
    pub paragraphs: Vec<Paragraph>,
    pub sentences: Vec<Sentence>,
    /// The text with whitespace runs collapsed, and each of its bytes' offset in `text`: made
    /// once, for locating every quote.
    collapsed: String,
    origin: Vec<usize>,
}

/// A heading is a one-line block of a few words that does not end as a sentence does.
const HEADING_MAX_WORDS: usize = 12;

impl Article {
    pub fn new(meta: ArticleMeta, text: String) -> Article {
        let paragraphs = split_paragraphs(&text);
        let sentences = paragraphs
            .iter()
            .filter(|p| !p.heading)
            .flat_map(|p| split_sentences(&text, p))
            .collect();
        let (collapsed, origin) = collapse_with_offsets(&text);
        Article {
            meta,
            text,
            paragraphs,
            sentences,
            collapsed,
            origin,
        }
    }

    pub fn paragraph_text(&self, paragraph: &Paragraph) -> &str {
        &self.text[paragraph.start..paragraph.end]
    }

    pub fn sentence_text(&self, sentence: &Sentence) -> &str {
        &self.text[sentence.start..sentence.end]
    }

    pub fn citation_for(&self, sentence: &Sentence) -> Citation {
        Citation {
            quote: self.sentence_text(sentence).to_string(),
            paragraph: sentence.paragraph,
            start: sentence.start,
            end: sentence.end,
            gloss: None,
        }
    }

    /// Finds a quote in the article, ignoring differences in whitespace. The quote must lie
    /// within one paragraph. Returns `None` when it is not verbatim.
    pub fn locate(&self, quote: &str) -> Option<Citation> {
        let wanted = collapse_whitespace(quote);
        if wanted.is_empty() {
            return None;
        }
        let (collapsed, origin) = (&self.collapsed, &self.origin);
        let mut from = 0;
        while let Some(found) = collapsed[from..].find(&wanted) {
            let at = from + found;
            let start = origin[at];
            let end = origin[at + wanted.len() - 1] + 1;
            // `end` points just after the last byte of the match; widen to a char boundary.
            let end = (end..=self.text.len())
                .find(|&i| self.text.is_char_boundary(i))
                .unwrap_or(self.text.len());
            if let Some(paragraph) = self
                .paragraphs
                .iter()
                .find(|p| p.start <= start && end <= p.end)
            {
                return Some(Citation {
                    quote: self.text[start..end].to_string(),
                    paragraph: paragraph.number,
                    start,
                    end,
                    gloss: None,
                });
            }
            from = at + 1;
            while !collapsed.is_char_boundary(from) {
                from += 1;
            }
        }
        None
    }
}

/// The text with whitespace runs collapsed to one space, and for each of its bytes the offset of
/// the byte it came from in the original.
fn collapse_with_offsets(text: &str) -> (String, Vec<usize>) {
    let mut collapsed = String::with_capacity(text.len());
    let mut origin = Vec::with_capacity(text.len());
    let mut in_space = false;
    for (offset, c) in text.char_indices() {
        if c.is_whitespace() {
            if !in_space && !collapsed.is_empty() {
                collapsed.push(' ');
                origin.push(offset);
            }
            in_space = true;
            continue;
        }
        in_space = false;
        let mut buf = [0u8; 4];
        for (i, _) in c.encode_utf8(&mut buf).bytes().enumerate() {
            origin.push(offset + i);
        }
        collapsed.push(c);
    }
    (collapsed, origin)
}

fn split_paragraphs(text: &str) -> Vec<Paragraph> {
    let mut paragraphs = Vec::new();
    let mut block: Option<(usize, usize, usize)> = None; // start, end, line
    let mut offset = 0;
    for (index, line) in text.split_inclusive('\n').enumerate() {
        let content = line.trim_end_matches(['\n', '\r']);
        let leading = content.len() - content.trim_start().len();
        let trimmed = content.trim();
        if trimmed.is_empty() {
            if let Some((start, end, line)) = block.take() {
                paragraphs.push((start, end, line));
            }
        } else {
            let start = offset + leading;
            let end = start + trimmed.len();
            block = Some(match block {
                Some((s, _, l)) => (s, end, l),
                None => (start, end, index + 1),
            });
        }
        offset += line.len();
    }
    if let Some(b) = block {
        paragraphs.push(b);
    }
    paragraphs
        .into_iter()
        .enumerate()
        .map(|(i, (start, end, line))| {
            let body = &text[start..end];
            let heading = !body.contains('\n')
                && body.split_whitespace().count() <= HEADING_MAX_WORDS
                && (!body.ends_with(['.', '!', '?']) || body.ends_with("..."));
            Paragraph {
                number: i + 1,
                start,
                end,
                line,
                heading,
            }
        })
        .collect()
}

/// Splits at `.`, `!` or `?` followed by whitespace and an uppercase letter or a quote, so that
/// "50.000" and "5,576" stay whole.
fn split_sentences(text: &str, paragraph: &Paragraph) -> Vec<Sentence> {
    let body = &text[paragraph.start..paragraph.end];
    let mut sentences = Vec::new();
    let mut start = 0;
    let chars: Vec<(usize, char)> = body.char_indices().collect();
    for (i, &(offset, c)) in chars.iter().enumerate() {
        if !matches!(c, '.' | '!' | '?') {
            continue;
        }
        let next = chars.get(i + 1).map(|&(_, n)| n);
        let after = chars.get(i + 2).map(|&(_, n)| n);
        let ends = next.is_some_and(char::is_whitespace)
            && after.is_some_and(|a| a.is_uppercase() || a == '"');
        if ends {
            let end = offset + c.len_utf8();
            sentences.push(Sentence {
                paragraph: paragraph.number,
                start: paragraph.start + start,
                end: paragraph.start + end,
            });
            start = end + 1;
        }
    }
    if start < body.len() {
        sentences.push(Sentence {
            paragraph: paragraph.number,
            start: paragraph.start + start,
            end: paragraph.end,
        });
    }
    sentences
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> ArticleMeta {
        ArticleMeta {
            title: "t".into(),
            title_pt: "t".into(),
            language: "pt-PT".into(),
            relays: "FT".into(),
            text: "a.txt".into(),
            summary: Vec::new(),
        }
    }

    const TEXT: &str = "Primeiro parágrafo. Tem 50.000 GPUs e custou 5,576 milhões.\n\nUm título\n\nA NVIDIA , exigindo\nmais.\n";

    #[test]
    fn paragraphs_count_headings_and_keep_offsets() {
        let article = Article::new(meta(), TEXT.to_string());
        assert_eq!(article.paragraphs.len(), 3);
        assert!(!article.paragraphs[0].heading);
        assert!(article.paragraphs[1].heading);
        assert_eq!(article.paragraph_text(&article.paragraphs[1]), "Um título");
        assert_eq!(article.paragraphs[2].line, 5);
    }

    #[test]
    fn sentences_do_not_split_numbers() {
        let article = Article::new(meta(), TEXT.to_string());
        let first: Vec<&str> = article
            .sentences
            .iter()
            .filter(|s| s.paragraph == 1)
            .map(|s| article.sentence_text(s))
            .collect();
        assert_eq!(
            first,
            [
                "Primeiro parágrafo.",
                "Tem 50.000 GPUs e custou 5,576 milhões."
            ]
        );
    }

    #[test]
    fn locate_ignores_whitespace_but_nothing_else() {
        let article = Article::new(meta(), TEXT.to_string());
        let found = article.locate("NVIDIA , exigindo mais.").expect("verbatim");
        assert_eq!(found.paragraph, 3);
        assert_eq!(found.quote, "NVIDIA , exigindo\nmais.");
        assert_eq!(&TEXT[found.start..found.end], found.quote);
        assert!(article.locate("NVIDIA, exigindo").is_none());
        assert!(article.locate("nvidia , exigindo").is_none());
        assert!(article.locate("   ").is_none());
    }

    #[test]
    fn quotes_spanning_two_paragraphs_are_rejected() {
        let article = Article::new(meta(), TEXT.to_string());
        assert!(article.locate("milhões. Um título").is_none());
    }
}
