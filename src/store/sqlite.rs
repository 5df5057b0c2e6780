//! The store in one SQLite file: WAL mode (readers never block the writer, and a killed process
//! leaves every committed batch intact), schema versions applied by `rusqlite_migration`.

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension};
use rusqlite_migration::{Migrations, M};

use super::report::{CardVotes, DayCounts, MissedGroup, Report, SlowAnswer};
use super::{AskedQuestion, Deleted, Outcome, Record, Store, StoreError, UserHash, UserHasher};

/// Every schema version, oldest first. Never edit a released step: add one.
const MIGRATIONS: &[M<'static>] = &[
    // 1: the question log, and the salt for hashing user ids (SQLite's own CSPRNG).
    M::up(
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
         INSERT INTO meta (key, value) VALUES ('salt', lower(hex(randomblob(32))));
         CREATE TABLE questions (
             id INTEGER PRIMARY KEY,
             at INTEGER NOT NULL,
             entry TEXT NOT NULL,
             guild_id INTEGER,
             channel_id INTEGER NOT NULL,
             user_hash TEXT NOT NULL,
             question TEXT,
             lang TEXT NOT NULL,
             outcome TEXT NOT NULL,
             card TEXT,
             confidence REAL NOT NULL,
             alternatives TEXT NOT NULL DEFAULT '[]',
             latency_ms REAL NOT NULL
         ) STRICT;
         CREATE INDEX questions_by_time ON questions (at);
         CREATE INDEX questions_by_user ON questions (user_hash);",
    ),
    // 2: votes on answers, and the audit of what moderators taught.
    M::up(
        "CREATE TABLE votes (
             question_id INTEGER NOT NULL,
             user_hash TEXT NOT NULL,
             up INTEGER NOT NULL CHECK (up IN (0, 1)),
             at INTEGER NOT NULL,
             PRIMARY KEY (question_id, user_hash)
         ) STRICT;
         CREATE INDEX votes_by_user ON votes (user_hash);
         CREATE TABLE teaches (
             id INTEGER PRIMARY KEY,
             at INTEGER NOT NULL,
             user_hash TEXT NOT NULL,
             card TEXT NOT NULL,
             question TEXT NOT NULL
         ) STRICT;
         CREATE INDEX teaches_by_user ON teaches (user_hash);",
    ),
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: usize = MIGRATIONS.len();

pub struct SqliteStore {
    connection: Connection,
    hasher: UserHasher,
}

impl SqliteStore {
    /// Opens (or creates) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        SqliteStore::open_at_version(path, SCHEMA_VERSION)
    }

    /// Opens the database with its schema at `version` (tests use it to start from an older one).
    pub fn open_at_version(path: &Path, version: usize) -> Result<SqliteStore, StoreError> {
        let shown = path.display().to_string();
        let open_error = |source| StoreError::Open {
            path: shown.clone(),
            source,
        };
        let mut connection = Connection::open(path).map_err(open_error)?;
        // WAL: `report` and the bot's reads never wait for the writer. NORMAL sync: a committed
        // batch survives the process being killed (only an OS crash may lose the last ones).
        connection
            .pragma_update(None, "journal_mode", "WAL")
            .map_err(open_error)?;
        connection
            .pragma_update(None, "synchronous", "NORMAL")
            .map_err(open_error)?;
        connection
            .busy_timeout(std::time::Duration::from_secs(5))
            .map_err(open_error)?;
        Migrations::from_slice(MIGRATIONS)
            .to_version(&mut connection, version)
            .map_err(|source| StoreError::Migrate {
                path: shown.clone(),
                source,
            })?;
        let salt: Option<String> = connection
            .query_row("SELECT value FROM meta WHERE key = 'salt'", [], |row| {
                row.get(0)
            })
            .optional()?;
        let salt = salt.filter(|s| s.len() >= 32).ok_or(StoreError::Salt)?;
        Ok(SqliteStore {
            connection,
            hasher: UserHasher::new(salt.into_bytes()),
        })
    }

    /// The schema version of the open database.
    pub fn schema_version(&self) -> Result<usize, StoreError> {
        let version: i64 = self
            .connection
            .pragma_query_value(None, "user_version", |row| row.get(0))?;
        Ok(version as usize)
    }

    /// The connection, for tests and `PRAGMA integrity_check`.
    pub fn connection(&self) -> &Connection {
        &self.connection
    }
}

/// Snowflakes are below 2^63, so they fit SQLite's signed integers unchanged.
fn sql_id(id: u64) -> i64 {
    id as i64
}

impl Store for SqliteStore {
    fn hasher(&self) -> UserHasher {
        self.hasher.clone()
    }

    fn write(&mut self, batch: &[Record]) -> Result<(), StoreError> {
        let transaction = self.connection.transaction()?;
        {
            // A replayed interaction (after a RESUME) logs the same id twice: keep the first.
            let mut question = transaction.prepare_cached(
                "INSERT OR IGNORE INTO questions (id, at, entry, guild_id, channel_id, user_hash,
                     question, lang, outcome, card, confidence, alternatives, latency_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            )?;
            let mut vote = transaction.prepare_cached(
                "INSERT INTO votes (question_id, user_hash, up, at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (question_id, user_hash) DO UPDATE SET up = excluded.up, at = excluded.at",
            )?;
            let mut teach = transaction.prepare_cached(
                "INSERT INTO teaches (at, user_hash, card, question) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for record in batch {
                match record {
                    Record::Question(q) => {
                        let alternatives =
                            serde_json::to_string(&q.alternatives).unwrap_or_else(|_| "[]".into());
                        question.execute(params![
                            sql_id(q.id),
                            q.at,
                            q.entry.as_str(),
                            q.guild_id.map(sql_id),
                            sql_id(q.channel_id),
                            q.user.0,
                            q.question,
                            q.lang,
                            q.outcome.as_str(),
                            q.card,
                            f64::from(q.confidence),
                            alternatives,
                            q.latency_ms,
                        ])?;
                    }
                    Record::Vote(v) => {
                        vote.execute(params![sql_id(v.question_id), v.user.0, v.up, v.at])?;
                    }
                    Record::Teach(t) => {
                        teach.execute(params![t.at, t.user.0, t.card, t.question])?;
                    }
                }
            }
        }
        transaction.commit()?;
        Ok(())
    }

    fn delete_before(&mut self, cutoff: i64) -> Result<Deleted, StoreError> {
        let transaction = self.connection.transaction()?;
        let votes = transaction.execute(
            "DELETE FROM votes WHERE at < ?1
                OR question_id IN (SELECT id FROM questions WHERE at < ?1)",
            [cutoff],
        )?;
        let questions = transaction.execute("DELETE FROM questions WHERE at < ?1", [cutoff])?;
        let teaches = transaction.execute("DELETE FROM teaches WHERE at < ?1", [cutoff])?;
        transaction.commit()?;
        Ok(Deleted {
            questions,
            votes,
            teaches,
        })
    }

    fn forget(&mut self, user: &UserHash) -> Result<Deleted, StoreError> {
        let transaction = self.connection.transaction()?;
        let votes = transaction.execute(
            "DELETE FROM votes WHERE user_hash = ?1
                OR question_id IN (SELECT id FROM questions WHERE user_hash = ?1)",
            [&user.0],
        )?;
        let questions =
            transaction.execute("DELETE FROM questions WHERE user_hash = ?1", [&user.0])?;
        let teaches = transaction.execute("DELETE FROM teaches WHERE user_hash = ?1", [&user.0])?;
        transaction.commit()?;
        Ok(Deleted {
            questions,
            votes,
            teaches,
        })
    }

    fn missed_questions(
        &self,
        guild: Option<u64>,
        since: i64,
        limit: usize,
    ) -> Result<Vec<AskedQuestion>, StoreError> {
        let mut statement = self.connection.prepare_cached(
            "SELECT min(question), outcome, json_extract(alternatives, '$[0]'), count(*) AS times
             FROM questions
             WHERE at >= ?1 AND outcome IN ('refused', 'suggested') AND question IS NOT NULL
               AND (?3 IS NULL OR guild_id = ?3)
             GROUP BY lower(trim(question)), outcome
             ORDER BY times DESC, max(at) DESC
             LIMIT ?2",
        )?;
        let rows = statement.query_map(params![since, limit as i64, guild.map(sql_id)], |row| {
            let outcome: String = row.get(1)?;
            Ok(AskedQuestion {
                question: row.get(0)?,
                outcome: Outcome::parse(&outcome).unwrap_or(Outcome::Refused),
                closest: row.get(2)?,
                times: row.get::<_, i64>(3)? as u64,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn report(&self, guild: Option<u64>, since: i64, until: i64) -> Result<Report, StoreError> {
        let guild = guild.map(sql_id);
        let mut days: Vec<DayCounts> = Vec::new();
        {
            let mut statement = self.connection.prepare_cached(
                "SELECT date(at, 'unixepoch') AS day, outcome, count(*) FROM questions
                 WHERE at BETWEEN ?1 AND ?2 AND (?3 IS NULL OR guild_id = ?3)
                 GROUP BY day, outcome ORDER BY day",
            )?;
            let rows = statement.query_map(params![since, until, guild], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, i64>(2)? as u64,
                ))
            })?;
            for row in rows {
                let (day, outcome, count) = row?;
                if days.last().is_none_or(|last| last.day != day) {
                    days.push(DayCounts::new(day));
                }
                if let (Some(last), Some(outcome)) = (days.last_mut(), Outcome::parse(&outcome)) {
                    last.add(outcome, count);
                }
            }
        }
        let missed =
            MissedGroup::group(self.missed_questions(guild.map(|g| g as u64), since, 200)?);
        let mut cards = Vec::new();
        {
            let mut statement = self.connection.prepare_cached(
                "SELECT q.card, sum(v.up), sum(1 - v.up) FROM votes v
                 JOIN questions q ON q.id = v.question_id
                 WHERE q.at BETWEEN ?1 AND ?2 AND q.card IS NOT NULL
                   AND (?3 IS NULL OR q.guild_id = ?3)
                 GROUP BY q.card",
            )?;
            let rows = statement.query_map(params![since, until, guild], |row| {
                Ok(CardVotes::new(
                    row.get(0)?,
                    row.get::<_, i64>(1)? as u64,
                    row.get::<_, i64>(2)? as u64,
                ))
            })?;
            for row in rows {
                cards.push(row?);
            }
        }
        let mut slowest = Vec::new();
        {
            let mut statement = self.connection.prepare_cached(
                "SELECT at, entry, outcome, card, latency_ms, question FROM questions
                 WHERE at BETWEEN ?1 AND ?2 AND (?3 IS NULL OR guild_id = ?3)
                 ORDER BY latency_ms DESC LIMIT 5",
            )?;
            let rows = statement.query_map(params![since, until, guild], |row| {
                Ok(SlowAnswer {
                    at: row.get(0)?,
                    entry: row.get(1)?,
                    outcome: row.get(2)?,
                    card: row.get(3)?,
                    latency_ms: row.get(4)?,
                    question: row.get(5)?,
                })
            })?;
            for row in rows {
                slowest.push(row?);
            }
        }
        let votes: (i64, i64) = self.connection.query_row(
            "SELECT coalesce(sum(v.up), 0), coalesce(sum(1 - v.up), 0) FROM votes v
             JOIN questions q ON q.id = v.question_id
             WHERE q.at BETWEEN ?1 AND ?2 AND (?3 IS NULL OR q.guild_id = ?3)",
            params![since, until, guild],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )?;
        Ok(Report::new(
            since,
            until,
            days,
            missed,
            (votes.0 as u64, votes.1 as u64),
            cards,
            slowest,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Entry, QuestionRecord, TeachRecord, VoteRecord};
    use super::*;

    fn question(store: &SqliteStore, id: u64, user: u64, at: i64, outcome: Outcome) -> Record {
        Record::Question(QuestionRecord {
            id,
            at,
            entry: Entry::Ask,
            guild_id: Some(7),
            channel_id: 8,
            user: store.hasher().hash(user),
            question: Some(format!("question {id}")),
            lang: "en",
            outcome,
            card: (outcome == Outcome::Answered).then(|| "h20-deal".to_string()),
            confidence: 0.8,
            alternatives: vec!["why-r2-delayed".into()],
            latency_ms: id as f64,
        })
    }

    fn vote(store: &SqliteStore, question_id: u64, user: u64, up: bool, at: i64) -> Record {
        Record::Vote(VoteRecord {
            question_id,
            user: store.hasher().hash(user),
            up,
            at,
        })
    }

    fn count(store: &SqliteStore, table: &str) -> i64 {
        store
            .connection()
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |row| {
                row.get(0)
            })
            .expect("count")
    }

    #[test]
    fn a_new_database_gets_the_latest_schema_and_a_random_salt() {
        let dir = tempfile::tempdir().expect("tempdir");
        let one = SqliteStore::open(&dir.path().join("one.db")).expect("open");
        let two = SqliteStore::open(&dir.path().join("two.db")).expect("open");
        assert_eq!(one.schema_version().expect("version"), SCHEMA_VERSION);
        assert_ne!(one.hasher().hash(1), two.hasher().hash(1), "salts differ");
        let mode: String = one
            .connection()
            .query_row("PRAGMA journal_mode", [], |row| row.get(0))
            .expect("journal mode");
        assert_eq!(mode, "wal");
    }

    #[test]
    fn reopening_keeps_the_salt_and_the_rows() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("citebot.db");
        let mut store = SqliteStore::open(&path).expect("open");
        let hash = store.hasher().hash(99);
        let record = question(&store, 1, 99, 1_000, Outcome::Answered);
        store.write(&[record]).expect("write");
        drop(store);
        let store = SqliteStore::open(&path).expect("reopen");
        assert_eq!(store.hasher().hash(99), hash);
        assert_eq!(count(&store, "questions"), 1);
    }

    #[test]
    fn a_version_1_database_is_migrated_and_keeps_its_questions() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("old.db");
        let old = SqliteStore::open_at_version(&path, 1).expect("open v1");
        assert_eq!(old.schema_version().expect("version"), 1);
        // A row as a version-1 build wrote it.
        old.connection()
            .execute(
                "INSERT INTO questions (id, at, entry, channel_id, user_hash, question, lang,
                     outcome, card, confidence, latency_ms)
                 VALUES (5, 1000, 'ask', 8, 'abc', 'why?', 'en', 'answered', 'h20-deal', 0.9, 3.0)",
                [],
            )
            .expect("write v1");
        let votes_table: i64 = old
            .connection()
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name = 'votes'",
                [],
                |row| row.get(0),
            )
            .expect("schema");
        assert_eq!(votes_table, 0, "version 1 has no votes");
        drop(old);
        let mut store = SqliteStore::open(&path).expect("migrate");
        assert_eq!(store.schema_version().expect("version"), SCHEMA_VERSION);
        assert_eq!(count(&store, "questions"), 1);
        let up = vote(&store, 5, 2, true, 1_001);
        store.write(&[up]).expect("vote after migration");
        assert_eq!(count(&store, "votes"), 1);
    }

    #[test]
    fn a_second_vote_by_the_same_person_replaces_the_first() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = SqliteStore::open(&dir.path().join("v.db")).expect("open");
        let asked = question(&store, 1, 1, 1_000, Outcome::Answered);
        let up = vote(&store, 1, 2, true, 1_001);
        let down = vote(&store, 1, 2, false, 1_002);
        let other = vote(&store, 1, 3, true, 1_003);
        store.write(&[asked, up, down, other]).expect("write");
        let report = store.report(None, 0, 2_000).expect("report");
        assert_eq!(report.cards.len(), 1);
        assert_eq!((report.cards[0].up, report.cards[0].down), (1, 1));
    }

    #[test]
    fn retention_deletes_old_rows_and_their_votes_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = SqliteStore::open(&dir.path().join("r.db")).expect("open");
        let batch = vec![
            question(&store, 1, 1, 100, Outcome::Refused),
            question(&store, 2, 1, 5_000, Outcome::Answered),
            vote(&store, 1, 2, false, 5_000),
            vote(&store, 2, 2, true, 5_001),
            Record::Teach(TeachRecord {
                at: 100,
                user: store.hasher().hash(9),
                card: "h20-deal".into(),
                question: "old teach".into(),
            }),
        ];
        store.write(&batch).expect("write");
        let deleted = store.delete_before(1_000).expect("delete");
        assert_eq!(
            deleted,
            Deleted {
                questions: 1,
                votes: 1,
                teaches: 1
            }
        );
        assert_eq!(count(&store, "questions"), 1);
        assert_eq!(count(&store, "votes"), 1);
    }

    #[test]
    fn forget_deletes_one_persons_questions_votes_and_teaches() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = SqliteStore::open(&dir.path().join("f.db")).expect("open");
        let batch = vec![
            question(&store, 1, 111, 100, Outcome::Answered),
            question(&store, 2, 222, 100, Outcome::Answered),
            vote(&store, 1, 333, true, 101), // someone else's vote on 111's question
            vote(&store, 2, 111, false, 102), // 111's vote on 222's question
            Record::Teach(TeachRecord {
                at: 103,
                user: store.hasher().hash(111),
                card: "h20-deal".into(),
                question: "taught".into(),
            }),
        ];
        store.write(&batch).expect("write");
        let user = store.hasher().hash(111);
        let deleted = store.forget(&user).expect("forget");
        assert_eq!(
            deleted,
            Deleted {
                questions: 1,
                votes: 2,
                teaches: 1
            }
        );
        let left: Vec<i64> = store
            .connection()
            .prepare("SELECT id FROM questions")
            .and_then(|mut s| s.query_map([], |row| row.get(0))?.collect())
            .expect("ids");
        assert_eq!(left, vec![2]);
        assert_eq!(count(&store, "votes"), 0);
    }

    #[test]
    fn one_servers_view_never_shows_another_servers_questions() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = SqliteStore::open(&dir.path().join("g.db")).expect("open");
        let mut batch = Vec::new();
        for (id, guild) in [(1, Some(7)), (2, Some(9)), (3, None)] {
            let Record::Question(mut q) = question(&store, id, 1, 100, Outcome::Refused) else {
                unreachable!("question() makes a question")
            };
            q.guild_id = guild;
            batch.push(Record::Question(q));
        }
        store.write(&batch).expect("write");
        let seen = |guild| {
            let missed = store.missed_questions(guild, 0, 10).expect("missed");
            let mut texts: Vec<String> = missed.into_iter().map(|q| q.question).collect();
            texts.sort();
            texts
        };
        assert_eq!(seen(Some(7)), ["question 1"]);
        assert_eq!(seen(Some(9)), ["question 2"]);
        assert_eq!(
            seen(None).len(),
            3,
            "the operator sees every server and DMs"
        );
        assert_eq!(store.report(Some(7), 0, 200).expect("report").questions, 1);
        assert_eq!(store.report(None, 0, 200).expect("report").questions, 3);
    }

    #[test]
    fn a_replayed_question_is_logged_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = SqliteStore::open(&dir.path().join("d.db")).expect("open");
        let record = question(&store, 1, 1, 100, Outcome::Answered);
        store.write(&[record.clone(), record]).expect("write twice");
        assert_eq!(count(&store, "questions"), 1);
    }

    #[test]
    fn missed_questions_group_repeats_and_name_the_closest_card() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = SqliteStore::open(&dir.path().join("m.db")).expect("open");
        let mut batch = Vec::new();
        for (id, text) in [(1, "Who pays?"), (2, "who pays? "), (3, "Other thing")] {
            let Record::Question(mut q) = question(&store, id, 1, 100, Outcome::Refused) else {
                unreachable!()
            };
            q.question = Some(text.into());
            batch.push(Record::Question(q));
        }
        batch.push(question(&store, 4, 1, 100, Outcome::Answered));
        store.write(&batch).expect("write");
        let missed = store.missed_questions(None, 0, 10).expect("missed");
        assert_eq!(missed.len(), 2, "{missed:?}");
        assert_eq!(missed[0].times, 2);
        assert!(missed[0].question.eq_ignore_ascii_case("who pays?"));
        assert_eq!(missed[0].closest.as_deref(), Some("why-r2-delayed"));
    }
}
