//! `citebot report` and `citebot forget` over a database written through the store, as the bot
//! writes it: the terminal table, JSON, and the HTML page (parsed as XML, its charts inline SVG).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use citebot::store::{now, Entry, Outcome, QuestionRecord, Record, SqliteStore, Store, VoteRecord};

const DAY: i64 = 86_400;

fn citebot(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_citebot"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("CITEBOT_DB")
        .output()
        .expect("run citebot")
}

fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

struct Fixture {
    _dir: tempfile::TempDir,
    db: PathBuf,
}

impl Fixture {
    fn path(&self) -> &str {
        self.db.to_str().expect("utf-8 path")
    }
}

/// Two days of questions by three people, votes, and one question from long ago.
fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("fixture.db");
    let mut store = SqliteStore::open(&db).expect("create");
    let hasher = store.hasher();
    let today = now() - 60;
    let yesterday = today - DAY;
    let mut id = 0;
    let mut question = |at: i64, user: u64, text: &str, outcome: Outcome, card: Option<&str>| {
        id += 1;
        Record::Question(QuestionRecord {
            id,
            at,
            entry: Entry::Ask,
            guild_id: Some(1),
            channel_id: 2,
            user: hasher.hash(user),
            question: Some(text.to_string()),
            lang: "pt",
            outcome,
            card: card.map(str::to_string),
            confidence: 0.7,
            alternatives: vec!["h20-deal".to_string()],
            latency_ms: id as f64 * 1.5,
        })
    };
    let batch = vec![
        question(
            yesterday,
            1,
            "porque atrasou o R2?",
            Outcome::Answered,
            Some("why-r2-delayed"),
        ),
        question(yesterday, 2, "quem paga a fatia?", Outcome::Refused, None),
        question(today, 2, "Quem paga a fatia?", Outcome::Refused, None),
        question(today, 3, "o acordo dos chips?", Outcome::Suggested, None),
        question(
            today,
            3,
            "o que é o H20?",
            Outcome::Answered,
            Some("h20-deal"),
        ),
        question(today - 40 * DAY, 3, "old question", Outcome::Refused, None),
    ];
    let votes = vec![
        Record::Vote(VoteRecord {
            question_id: 1,
            user: hasher.hash(2),
            up: true,
            at: today,
        }),
        Record::Vote(VoteRecord {
            question_id: 5,
            user: hasher.hash(1),
            up: false,
            at: today,
        }),
    ];
    store.write(&batch).expect("questions");
    store.write(&votes).expect("votes");
    Fixture { _dir: dir, db }
}

#[test]
fn the_terminal_report_counts_each_day_and_groups_misses_by_closest_card() {
    let fixture = fixture();
    let out = stdout(&citebot(&[
        "report",
        "--db",
        fixture.path(),
        "--since",
        "7d",
    ]));
    assert!(
        out.contains("5 question(s)"),
        "the 40-day-old one is outside: {out}"
    );
    assert!(out.contains("answered 40%"), "{out}");
    let day_rows: Vec<&str> = out
        .lines()
        .filter(|l| l.len() > 10 && l.as_bytes()[4] == b'-' && l.as_bytes()[7] == b'-')
        .collect();
    assert_eq!(day_rows.len(), 2, "{out}");
    let numbers = |row: &str| -> Vec<u64> {
        row.split_whitespace()
            .skip(1)
            .map(|n| n.parse().expect("number"))
            .collect()
    };
    // total answered suggested refused cooldown chat silent
    assert_eq!(numbers(day_rows[0]), vec![2, 1, 0, 1, 0, 0, 0], "{out}");
    assert_eq!(numbers(day_rows[1]), vec![3, 1, 1, 1, 0, 0, 0], "{out}");
    // The two spellings of one refused question are one line, counted twice, under its card.
    assert!(out.contains("/h20-deal: 3 time(s)"), "{out}");
    assert!(
        out.lines()
            .any(|l| l.contains("2×") && l.to_lowercase().contains("quem paga a fatia?")),
        "{out}"
    );
    // Cards ranked by share of 👎: h20-deal (1 of 1) before why-r2-delayed (0 of 1).
    let h20 = out.find("/h20-deal ").expect("h20 votes");
    let r2 = out.find("/why-r2-delayed ").expect("r2 votes");
    assert!(h20 < r2, "{out}");
}

#[test]
fn the_json_report_has_the_same_figures() {
    let fixture = fixture();
    let out = stdout(&citebot(&["report", "--db", fixture.path(), "--json"]));
    let report: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(report["questions"], 5);
    assert_eq!(report["days"].as_array().map(Vec::len), Some(2));
    assert!((report["rates"]["refused"].as_f64().expect("rate") - 0.4).abs() < 1e-9);
    assert_eq!(report["cards"][0]["card"], "h20-deal");
    assert_eq!(report["cards"][0]["down"], 1);
    assert_eq!(report["slowest"][0]["latency_ms"], 7.5);
    assert_eq!(report["missed"][0]["closest"], "h20-deal");
    assert_eq!(
        (report["votes_up"].as_u64(), report["votes_down"].as_u64()),
        (Some(1), Some(1))
    );
}

#[test]
fn the_html_report_is_one_well_formed_page_with_inline_svg_charts() {
    let fixture = fixture();
    let dir = tempfile::tempdir().expect("tempdir");
    let page = dir.path().join("report.html");
    let out = stdout(&citebot(&[
        "report",
        "--db",
        fixture.path(),
        "--html",
        page.to_str().expect("utf-8"),
    ]));
    assert!(out.contains("5 question(s)"), "{out}");
    let html = std::fs::read_to_string(&page).expect("page written");
    let options = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..roxmltree::ParsingOptions::default()
    };
    let document = roxmltree::Document::parse_with_options(&html, options)
        .unwrap_or_else(|err| panic!("the page is not well formed: {err}"));
    let svgs: Vec<_> = document
        .descendants()
        .filter(|n| n.tag_name().name() == "svg")
        .collect();
    assert_eq!(svgs.len(), 2, "questions per day, votes per card");
    // Bars: 2 days × their non-zero outcomes (2 + 3), then 👍 and 👎 for two cards (1 + 1).
    let bars = |svg: &roxmltree::Node| {
        svg.descendants()
            .filter(|n| n.tag_name().name() == "rect")
            .filter(|n| n.attribute("fill").is_some_and(|f| f != "#FFFFFF"))
            .count()
    };
    assert!(bars(&svgs[0]) >= 5, "{html}");
    assert!(bars(&svgs[1]) >= 2, "{html}");
    let text: String = svgs[0]
        .descendants()
        .filter_map(|n| n.text())
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        text.contains("answered") && text.contains("refused"),
        "legend: {text}"
    );
    // Nothing to fetch from a network.
    for node in document.descendants() {
        for attribute in ["src", "href"] {
            assert!(node.attribute(attribute).is_none(), "{node:?}");
        }
        assert_ne!(node.tag_name().name(), "script");
    }
}

#[test]
fn forget_deletes_one_persons_rows_by_their_discord_id() {
    let fixture = fixture();
    let out = stdout(&citebot(&["forget", "--db", fixture.path(), "--user", "3"]));
    assert!(out.contains("3 question(s)"), "{out}");
    let report = stdout(&citebot(&["report", "--db", fixture.path(), "--json"]));
    let report: serde_json::Value = serde_json::from_str(&report).expect("JSON");
    assert_eq!(report["questions"], 3);
    // User 1's vote was on user 3's question: it went with it.
    let (up, down) = report["cards"]
        .as_array()
        .expect("cards")
        .iter()
        .fold((0, 0), |(u, d), c| {
            (
                u + c["up"].as_u64().unwrap_or(0),
                d + c["down"].as_u64().unwrap_or(0),
            )
        });
    assert_eq!((up, down), (1, 0));
}

#[test]
fn report_refuses_a_missing_database_or_a_log_that_is_off() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("nope.db");
    let out = citebot(&["report", "--db", missing.to_str().expect("utf-8")]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no question log at"), "{err}");
    assert!(
        !Path::new(&missing).exists(),
        "report never creates a database"
    );
    let off = citebot(&["report", "--db", "off"]);
    assert!(String::from_utf8_lossy(&off.stderr).contains("off"));
    let bad = citebot(&["report", "--since", "soon"]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--since"));
}
