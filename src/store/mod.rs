//! What citebot remembers of what it was asked: one row per question, the votes on answers, and
//! every question a moderator taught. The bot writes through [`log::QuestionLog`] (off the hot
//! path); `citebot report`, `/stats` and `/teach` read through [`Store`].
//!
//! The [`Store`] trait is the whole interface, so a server database can sit behind it later;
//! [`sqlite::SqliteStore`] is the one implementation (a single file, WAL mode).
//!
//! People are known only by a salted hash of their Discord id ([`UserHasher`]); the salt is made
//! once per database, so the same person hashes differently in two deployments.

pub mod log;
pub mod report;
pub mod sqlite;

use std::time::Duration;

use serde::Serialize;
use sha2::{Digest, Sha256};
use thiserror::Error;

pub use log::QuestionLog;
pub use report::Report;
pub use sqlite::SqliteStore;

/// The longest question text kept, in characters.
pub const MAX_STORED_QUESTION_CHARS: usize = 500;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("{path}: {source}")]
    Open {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("{path}: cannot bring the schema up to date: {source}")]
    Migrate {
        path: String,
        #[source]
        source: rusqlite_migration::Error,
    },
    #[error("database: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("database: the salt is missing or malformed (was the meta table edited?)")]
    Salt,
}

/// Where a question came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Entry {
    /// A fact card's own slash command (logged without text).
    Slash,
    /// `/ask`.
    Ask,
    /// A message that mentions the bot, or any direct message.
    Mention,
    /// The "Ask citebot" message command.
    MessageCommand,
    /// A message in a watched channel, or a new post in a watched forum.
    Watched,
    /// A suggestion button under a refusal or a "did you mean".
    Button,
}

impl Entry {
    pub fn as_str(self) -> &'static str {
        match self {
            Entry::Slash => "slash",
            Entry::Ask => "ask",
            Entry::Mention => "mention",
            Entry::MessageCommand => "message_command",
            Entry::Watched => "watched_channel",
            Entry::Button => "button",
        }
    }
}

/// What became of a question.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Answered,
    /// "Did you mean": a card was offered, not asserted.
    Suggested,
    Refused,
    /// Not answered: the person asked too often.
    Cooldown,
    /// Thanks, greetings, questions about the bot: a friendly line, no card.
    Chat,
    /// A watched channel's message citebot was not sure of: it said nothing.
    Silent,
}

impl Outcome {
    pub const ALL: [Outcome; 6] = [
        Outcome::Answered,
        Outcome::Suggested,
        Outcome::Refused,
        Outcome::Cooldown,
        Outcome::Chat,
        Outcome::Silent,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Answered => "answered",
            Outcome::Suggested => "suggested",
            Outcome::Refused => "refused",
            Outcome::Cooldown => "cooldown",
            Outcome::Chat => "chat",
            Outcome::Silent => "silent",
        }
    }

    pub fn parse(text: &str) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|o| o.as_str() == text)
    }

    /// The outcome of an answer the index gave.
    pub fn of(answer: &crate::Answer) -> Outcome {
        if answer.is_answered() {
            Outcome::Answered
        } else if answer.is_suggested() {
            Outcome::Suggested
        } else if answer.is_chit_chat() {
            Outcome::Chat
        } else {
            Outcome::Refused
        }
    }
}

/// A person, as the store knows them: a hex digest of the database's salt and their id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UserHash(pub String);

/// Hashes user ids with one database's salt.
#[derive(Clone)]
pub struct UserHasher {
    salt: Vec<u8>,
}

impl std::fmt::Debug for UserHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UserHasher([salt])")
    }
}

impl UserHasher {
    pub fn new(salt: Vec<u8>) -> UserHasher {
        UserHasher { salt }
    }

    /// SHA-256 of the salt and the id, as 32 hex digits (128 bits: no collisions among a
    /// community's members, and nothing to reverse without the salt).
    pub fn hash(&self, user_id: u64) -> UserHash {
        let mut digest = Sha256::new();
        digest.update(&self.salt);
        digest.update(user_id.to_le_bytes());
        let bytes = digest.finalize();
        UserHash(bytes[..16].iter().map(|b| format!("{b:02x}")).collect())
    }
}

/// One question, as logged. `id` is chosen by the bot (the interaction's or message's snowflake)
/// so that the answer's vote buttons can name it before the row is written.
#[derive(Debug, Clone, PartialEq)]
pub struct QuestionRecord {
    pub id: u64,
    /// Unix seconds.
    pub at: i64,
    pub entry: Entry,
    pub guild_id: Option<u64>,
    pub channel_id: u64,
    pub user: UserHash,
    /// `None` for fact commands; otherwise at most [`MAX_STORED_QUESTION_CHARS`] characters.
    pub question: Option<String>,
    pub lang: &'static str,
    pub outcome: Outcome,
    pub card: Option<String>,
    pub confidence: f32,
    pub alternatives: Vec<String>,
    pub latency_ms: f64,
}

impl QuestionRecord {
    /// Shortens a question to what the store keeps.
    pub fn stored_text(question: &str) -> String {
        question
            .chars()
            .take(MAX_STORED_QUESTION_CHARS)
            .collect::<String>()
    }
}

/// 👍 (`up`) or 👎 on an answer; a second vote by the same person replaces the first.
#[derive(Debug, Clone, PartialEq)]
pub struct VoteRecord {
    pub question_id: u64,
    pub user: UserHash,
    pub up: bool,
    pub at: i64,
}

/// A question a moderator attached to a card.
#[derive(Debug, Clone, PartialEq)]
pub struct TeachRecord {
    pub at: i64,
    pub user: UserHash,
    pub card: String,
    pub question: String,
}

/// Anything the bot writes.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    Question(QuestionRecord),
    Vote(VoteRecord),
    Teach(TeachRecord),
}

/// A question from the log, with how often it was asked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AskedQuestion {
    pub question: String,
    pub times: u64,
    /// The card it was suggested, or the closest one when refused.
    pub closest: Option<String>,
    pub outcome: Outcome,
}

/// Counts removed by a deletion.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Deleted {
    pub questions: usize,
    pub votes: usize,
    pub teaches: usize,
}

/// The store's whole interface: what the writer, `citebot report`, `forget` and the bot's
/// moderator commands need, and nothing of SQLite.
pub trait Store: Send {
    /// The hasher for this database's salt.
    fn hasher(&self) -> UserHasher;
    /// Writes a batch atomically: all of it, or (on error) none of it.
    fn write(&mut self, batch: &[Record]) -> Result<(), StoreError>;
    /// Deletes everything recorded before `cutoff` (Unix seconds).
    fn delete_before(&mut self, cutoff: i64) -> Result<Deleted, StoreError>;
    /// Deletes everything recorded of one person: their questions (and the votes on them),
    /// their votes, their teaches.
    fn forget(&mut self, user: &UserHash) -> Result<Deleted, StoreError>;
    /// The most frequent refused and suggested questions since `since`, most asked first, in
    /// one server (`guild`) or in all of them (`None`, the operator's view).
    fn missed_questions(
        &self,
        guild: Option<u64>,
        since: i64,
        limit: usize,
    ) -> Result<Vec<AskedQuestion>, StoreError>;
    /// Everything `citebot report` (all servers) and `/stats` (one server) show, for
    /// `since..=until`.
    fn report(&self, guild: Option<u64>, since: i64, until: i64) -> Result<Report, StoreError>;
}

/// Parses a period such as `30d`, `12h`, `90m`, `2w` or `45s`.
pub fn parse_period(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a period such as 30d, 12h, 90m or 2w"))?;
    let seconds = match unit.trim() {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" | "" => 86_400,
        "w" => 7 * 86_400,
        other => {
            return Err(format!(
                "unknown unit {other:?} in {text:?} (use s, m, h, d or w)"
            ))
        }
    };
    if number == 0 {
        return Err(format!("{text:?}: a period must be longer than zero"));
    }
    number
        .checked_mul(seconds)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("{text:?} is too long"))
}

/// The current time in Unix seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_id_hashes_alike_under_one_salt_and_differently_under_another() {
        let one = UserHasher::new(b"salt one".to_vec());
        let other = UserHasher::new(b"salt two".to_vec());
        assert_eq!(one.hash(42), one.hash(42));
        assert_ne!(one.hash(42), one.hash(43));
        assert_ne!(one.hash(42), other.hash(42));
        let hash = one.hash(80_351_110_224_678_912).0;
        assert_eq!(hash.len(), 32);
        assert!(hash.chars().all(|c| c.is_ascii_hexdigit()));
        assert!(!hash.contains("80351110224678912"));
    }

    #[test]
    fn periods_parse_with_units_and_refuse_nonsense() {
        assert_eq!(parse_period("30d"), Ok(Duration::from_secs(30 * 86_400)));
        assert_eq!(parse_period("12h"), Ok(Duration::from_secs(12 * 3_600)));
        assert_eq!(parse_period("2w"), Ok(Duration::from_secs(14 * 86_400)));
        assert_eq!(parse_period("7"), Ok(Duration::from_secs(7 * 86_400)));
        for bad in ["", "d", "0d", "-3d", "3y", "99999999999999999999d"] {
            assert!(parse_period(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn questions_are_stored_at_most_500_characters() {
        let long = "é".repeat(900);
        assert_eq!(
            QuestionRecord::stored_text(&long).chars().count(),
            MAX_STORED_QUESTION_CHARS
        );
        assert_eq!(QuestionRecord::stored_text("why?"), "why?");
    }
}
