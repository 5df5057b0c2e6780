//! Reads a chat message before anything is scored: what is markup, and where the questions are.
//!
//! People do not write questions the way cards do. A message carries other users' mentions,
//! custom emoji, links and code; it opens with context ("ok so I read a thread yesterday and now
//! I'm confused —") and may ask two things. Scoring the whole message lets the preamble's words
//! count as topics the article lacks. The reader strips the markup and cuts the message into
//! clauses at sentence ends, dashes, line breaks and ellipses, marking the ones that end with a
//! question mark; the index then decides which clause is the question (see
//! [`crate::index::Index::ask`]). This module knows nothing of the cards.

/// One clause of a message, markup removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clause {
    pub text: String,
    /// Ended by a question mark (`?`, `¿`, fullwidth `？`).
    pub asks: bool,
}

/// Removes what is not the user's words: mentions of users, roles and channels, slash-command
/// mentions, custom emoji, timestamps, `:shortcodes:`, links, fenced code blocks, markdown
/// markers, `@name` handles typed as text, and zero-width and other format characters.
pub fn strip_markup(message: &str) -> String {
    let without_code = strip_code_fences(message);
    let mut out = String::with_capacity(without_code.len());
    let mut rest = without_code.as_str();
    while let Some(c) = rest.chars().next() {
        if c == '<' {
            if let Some(len) = discord_token_len(rest) {
                // A custom emoji ends what was said before it, as a unicode emoji does.
                let emoji = rest.starts_with("<:") || rest.starts_with("<a:");
                out.push(if emoji { '\n' } else { ' ' });
                rest = &rest[len..];
                continue;
            }
        }
        if c == ':' {
            if let Some(len) = shortcode_len(rest) {
                out.push(' ');
                rest = &rest[len..];
                continue;
            }
        }
        if starts_link(rest) {
            let len = rest
                .find(|c: char| c.is_whitespace() || c == '>')
                .unwrap_or(rest.len());
            out.push(' ');
            rest = &rest[len..];
            continue;
        }
        if let Some(after) = rest.strip_prefix("||") {
            // A spoiler is said apart from the words around it ("||plot twist|| a deepseek
            // voltou pra nvidia?"): its bounds end a clause, as a line break does.
            out.push('\n');
            rest = after;
            continue;
        }
        if c == '@' {
            // "@citebot" or "@someone" typed as text names a person, not a topic.
            let len = 1 + rest[1..]
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.'))
                .unwrap_or(rest.len() - 1);
            out.push(' ');
            rest = &rest[len..];
            continue;
        }
        rest = &rest[c.len_utf8()..];
        if is_format_char(c) {
            continue;
        }
        match c {
            // Markdown markers: bold, italics, strikethrough, spoilers, inline code, quotes.
            '*' | '~' | '|' | '`' => out.push(' '),
            _ => out.push(c),
        }
    }
    out
}

/// Zero-width and other invisible format characters, which split a word without showing.
pub fn is_format_char(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}' | '\u{200B}'..='\u{200F}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}' | '\u{180E}'
    ) || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Pictographs and symbols used as emoji (faces, hands, hearts, objects, dingbats).
fn is_emoji(c: char) -> bool {
    matches!(c, '\u{1F300}'..='\u{1FAFF}' | '\u{2600}'..='\u{27BF}' | '\u{1F000}'..='\u{1F2FF}')
}

/// Splits a message (markup already stripped) into clauses.
pub fn clauses(text: &str) -> Vec<Clause> {
    let mut clauses = Vec::new();
    let mut current = String::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    let mut flush = |current: &mut String, asks: bool| {
        let trimmed = current.trim();
        if trimmed.chars().any(char::is_alphanumeric) {
            clauses.push(Clause {
                text: trimmed.to_string(),
                asks,
            });
        }
        current.clear();
    };
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let prev = i.checked_sub(1).map(|p| chars[p]);
        match c {
            '?' | '？' => {
                // "???" and "?!" end one clause.
                while matches!(chars.get(i + 1), Some('?' | '!' | '？' | '.')) {
                    i += 1;
                }
                flush(&mut current, true);
            }
            // "tl;dr" is one word, not two clauses.
            ';' if prev.is_some_and(char::is_alphanumeric)
                && next.is_some_and(char::is_alphanumeric) =>
            {
                current.push(c)
            }
            '!' | ';' | '…' | '\n' | '—' | '–' => flush(&mut current, false),
            // Chat ends sentences with emoji ("...fiquei boiando 😅 o atraso foi culpa...").
            _ if is_emoji(c) => flush(&mut current, false),
            '.' => {
                // A decimal point ("5.576") or an abbreviation inside a word ("u.s.") is not
                // a sentence end; an ellipsis or a full stop followed by a space is.
                let inside_word = prev.is_some_and(char::is_alphanumeric)
                    && next.is_some_and(char::is_alphanumeric);
                if inside_word {
                    current.push(c);
                } else {
                    flush(&mut current, false);
                }
            }
            '-' if prev == Some(' ') && next == Some(' ') => flush(&mut current, false),
            _ => current.push(c),
        }
        i += 1;
    }
    flush(&mut current, false);
    clauses
}

/// Removes ``` fenced blocks (pasted code or logs are not the question); an unclosed fence
/// keeps its text.
fn strip_code_fences(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(open) = rest.find("```") {
        let after = &rest[open + 3..];
        match after.find("```") {
            Some(close) => {
                out.push_str(&rest[..open]);
                out.push(' ');
                rest = &after[close + 3..];
            }
            None => break,
        }
    }
    out.push_str(rest);
    out
}

/// Length of a Discord token at the start of `text`: `<@id>`, `<@!id>`, `<@&id>`, `<#id>`,
/// `</name:id>`, `<:name:id>`, `<a:name:id>`, `<t:secs>` / `<t:secs:R>`, `<https://...>`.
fn discord_token_len(text: &str) -> Option<usize> {
    let close = text[1..].find('>')? + 1;
    let inner = &text[1..close];
    if inner.is_empty() || inner.len() > 120 || inner.contains(char::is_whitespace) {
        return None;
    }
    let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    let ok = if let Some(id) = inner.strip_prefix("@&") {
        digits(id)
    } else if let Some(id) = inner.strip_prefix("@!") {
        digits(id)
    } else if let Some(id) = inner.strip_prefix('@') {
        digits(id)
    } else if let Some(id) = inner.strip_prefix('#') {
        digits(id)
    } else if let Some(rest) = inner.strip_prefix("t:") {
        digits(rest.split(':').next().unwrap_or(""))
    } else if inner.starts_with(':') || inner.starts_with("a:") || inner.starts_with('/') {
        inner.rsplit(':').next().is_some_and(digits)
    } else {
        starts_link(inner)
    };
    ok.then_some(close + 1)
}

/// Length of an emoji shortcode such as `:joy:` or `:thumbsup:` at the start of `text`.
fn shortcode_len(text: &str) -> Option<usize> {
    let end = text[1..].find(':')? + 1;
    let name = &text[1..end];
    let is_name = (2..=32).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '+' || c == '-')
        && name.chars().any(|c| c.is_ascii_alphabetic());
    is_name.then_some(end + 1)
}

fn starts_link(text: &str) -> bool {
    let lower = |prefix: &str| {
        text.len() >= prefix.len()
            && text.is_char_boundary(prefix.len())
            && text[..prefix.len()].eq_ignore_ascii_case(prefix)
    };
    lower("https://") || lower("http://") || lower("www.")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> String {
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn mentions_of_every_kind_are_removed() {
        let cleaned = strip_markup(
            "<@123456789012345678> <@!42> <@&987654321098765432> <#112233445566778899> why </ask:99> r2",
        );
        assert_eq!(words(&cleaned), "why r2");
    }

    #[test]
    fn custom_and_typed_emoji_are_removed_but_words_beside_them_stay() {
        let cleaned =
            strip_markup("<:pepega:123456789012345678>h20<a:catjam:223456789012345678> :joy: 15%");
        assert_eq!(words(&cleaned), "h20 15%");
    }

    #[test]
    fn links_handles_and_code_blocks_are_removed() {
        let cleaned = strip_markup(
            "@citebot see https://ft.com/content/abc?x=1 and <https://x.y/z>\n```rust\nfn main() {}\n``` why was r2 delayed",
        );
        assert_eq!(words(&cleaned), "see and why was r2 delayed");
    }

    #[test]
    fn markdown_markers_go_and_their_words_stay() {
        let cleaned = strip_markup("**qual** plataforma ||spoiler|| `h20` ~~old~~ > quoted");
        assert_eq!(words(&cleaned), "qual plataforma spoiler h20 old > quoted");
        let spoiled = clauses(&strip_markup(
            "||plot twist|| a deepseek voltou pra nvidia? 😂",
        ));
        let texts: Vec<&str> = spoiled.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(texts, ["plot twist", "a deepseek voltou pra nvidia"]);
        let tldr = clauses("asked me for a TL;DR. what's the thesis?");
        assert_eq!(tldr[0].text, "asked me for a TL;DR");
        let split = clauses("r2 atrasou; porquê?");
        assert_eq!(split.len(), 2);
        let hidden = clauses(&strip_markup("||o r2 atrasou?||"));
        assert_eq!(hidden.len(), 1);
        assert!(hidden[0].asks);
    }

    #[test]
    fn invisible_characters_do_not_split_words() {
        assert_eq!(
            strip_markup("atra\u{200B}sou del\u{00AD}ay"),
            "atrasou delay"
        );
    }

    #[test]
    fn a_lone_angle_bracket_or_colon_is_text() {
        assert_eq!(strip_markup("a < b: c > d"), "a < b: c > d");
        // A handle typed as text goes, even inside brackets that are no Discord token.
        assert_eq!(words(&strip_markup("<@abc>")), "< >");
    }

    #[test]
    fn clauses_end_at_sentence_marks_dashes_and_lines() {
        let found = clauses(
            "ok so I read a thread yesterday — now I'm confused. why was r2 delayed??? and when is it out?\nthanks!",
        );
        let texts: Vec<(&str, bool)> = found.iter().map(|c| (c.text.as_str(), c.asks)).collect();
        assert_eq!(
            texts,
            [
                ("ok so I read a thread yesterday", false),
                ("now I'm confused", false),
                ("why was r2 delayed", true),
                ("and when is it out", true),
                ("thanks", false),
            ]
        );
    }

    #[test]
    fn emoji_end_a_clause() {
        let found = clauses(&strip_markup(
            "meu chefe perguntou hj 😅 o atraso foi culpa dos chips? <:kekw:123456789012345678> valeu",
        ));
        let texts: Vec<&str> = found.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "meu chefe perguntou hj",
                "o atraso foi culpa dos chips",
                "valeu"
            ]
        );
    }

    #[test]
    fn numbers_and_abbreviations_keep_their_dots() {
        let found = clauses("custou 5.576 milhões nos u.s.a? ok");
        assert_eq!(found[0].text, "custou 5.576 milhões nos u.s.a");
        assert!(found[0].asks);
        assert_eq!(found.len(), 2);
    }

    #[test]
    fn a_message_without_words_has_no_clauses() {
        assert!(clauses("??? ... !!! 😂").is_empty());
    }
}
