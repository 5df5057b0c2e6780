//! End to end: what citebot remembers and learns, through the real `citebot run` binary against
//! the Discord simulator: the question log, 👍/👎 votes, `/teach` and "Teach citebot", `/stats`,
//! and the log's survival of `kill -9` during a burst of writes.

use crate::common;
use discord_sim as sim;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use citebot_testkit::bot::{copy_dir, start_registered, Bot};
use common::reply::{ask, callback, custom_ids, is_ephemeral, WAIT};
use rusqlite::{Connection, OpenFlags};
use serde_json::{json, Value};
use sim::{SimConfig, Simulator};

/// View channel, send messages, read history: an ordinary member.
const MEMBER: u64 = (1 << 10) | (1 << 11) | (1 << 16);
/// The same member with Manage Server.
const MODERATOR: u64 = MEMBER | (1 << 5);
const MISSED: &str = "a casa branca morde quanto?";

/// A bot with its own copy of `responses/` (teaching writes to it) and its own log.
struct Running {
    sim: Simulator,
    bot: Bot,
    _dir: tempfile::TempDir,
    responses: PathBuf,
    db: PathBuf,
}

async fn running(extra_env: &[(&str, &str)]) -> Running {
    let sim = Simulator::start(SimConfig {
        heartbeat_interval: Duration::from_millis(500),
        interaction_deadline: Some(Duration::from_secs(3)),
        ..SimConfig::default()
    })
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let responses = dir.path().join("responses");
    copy_dir(&common::responses_dir(), &responses);
    let db = dir.path().join("log.db");
    let mut env = vec![
        ("CITEBOT_DB", db.to_str().expect("utf-8 path")),
        ("CITEBOT_COOLDOWN", "off"),
    ];
    env.extend_from_slice(extra_env);
    let bot = start_registered(&sim, &responses, &env).await;
    Running {
        sim,
        bot,
        _dir: dir,
        responses,
        db,
    }
}

/// Reads the bot's database while it runs (WAL: readers never wait for the writer).
fn read_db(path: &Path) -> Connection {
    Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).expect("open the log")
}

/// Polls `query` (one integer) until it equals `want`; returns the last value seen.
fn wait_count(db: &Path, query: &str, want: i64) -> i64 {
    let deadline = Instant::now() + WAIT;
    loop {
        let got: i64 = read_db(db)
            .query_row(query, [], |row| row.get(0))
            .unwrap_or(-1);
        if got == want || Instant::now() > deadline {
            return got;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Sends an interaction and returns its callback's data.
/// `/teach question:MISSED card:h20-deal` from a member with `permissions`.
fn teach_missed(sim: &Simulator, permissions: u64) -> (u64, Value) {
    sim.slash_command("teach")
        .option("question", json!(MISSED))
        .option("card", json!("h20-deal"))
        .permissions(permissions)
        .build()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_question_is_logged_with_a_hashed_user_and_a_vote_can_be_changed() {
    let run = running(&[]).await;
    let user = 555_000_000_000_000_001u64;
    let (id, data) = ask(&run.sim, "why was R2 delayed?", user).await;
    let ids = custom_ids(&data);
    assert_eq!(
        ids,
        vec![format!("cb1:vote:{id}:up"), format!("cb1:vote:{id}:down")],
        "{data}"
    );
    let rows = wait_count(&run.db, "SELECT count(*) FROM questions", 1);
    assert_eq!(rows, 1, "{}", run.bot.output());
    let (entry, hash, question, outcome, card): (String, String, String, String, String) =
        read_db(&run.db)
            .query_row(
                "SELECT entry, user_hash, question, outcome, card FROM questions WHERE id = ?1",
                [id as i64],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .expect("the question's row");
    assert_eq!(
        (
            entry.as_str(),
            question.as_str(),
            outcome.as_str(),
            card.as_str()
        ),
        ("ask", "why was R2 delayed?", "answered", "why-r2-delayed")
    );
    assert!(
        !hash.contains(&user.to_string()) && hash.len() == 32,
        "{hash}"
    );

    // 👍, then the same person changes their mind: one vote, now 👎.
    let message = run.sim.original_message(id).expect("the answer message");
    for custom_id in &ids {
        let data = callback(
            &run.sim,
            run.sim
                .component(custom_id, message.clone())
                .user(user)
                .build(),
        )
        .await;
        assert!(is_ephemeral(&data), "{data}");
        assert!(
            data["content"].as_str().unwrap_or("").contains("Thanks"),
            "{data}"
        );
    }
    assert_eq!(
        wait_count(&run.db, "SELECT count(*) FROM votes WHERE up = 0", 1),
        1,
        "the second click replaced the first"
    );
    assert_eq!(
        wait_count(&run.db, "SELECT count(*) FROM votes", 1),
        1,
        "one vote per person per answer"
    );
    // Another person's vote is their own.
    callback(
        &run.sim,
        run.sim.component(&ids[0], message).user(user + 1).build(),
    )
    .await;
    assert_eq!(wait_count(&run.db, "SELECT count(*) FROM votes", 2), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_or_forged_button_gets_a_notice_not_a_failure() {
    let run = running(&[]).await;
    let (id, _) = ask(&run.sim, "why was R2 delayed?", 7).await;
    let message = run.sim.original_message(id).expect("message");
    for forged in [
        "cb0:vote:1:up",
        "cb1:vote:1:sideways",
        "cb1:vote:99999999999999999999:up",
        "x",
    ] {
        let data = callback(&run.sim, run.sim.component(forged, message.clone()).build()).await;
        assert!(is_ephemeral(&data), "{data}");
        assert!(
            data["content"]
                .as_str()
                .unwrap_or("")
                .contains("no longer works"),
            "{forged}: {data}"
        );
    }
    assert_eq!(wait_count(&run.db, "SELECT count(*) FROM votes", 0), 0);
    let (_, after) = ask(&run.sim, "what is the H20 deal?", 7).await;
    assert!(!custom_ids(&after).is_empty(), "the bot still answers");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn teach_makes_a_refused_question_answered_on_the_next_ask() {
    let run = running(&[]).await;
    let (_, before) = ask(&run.sim, MISSED, 11).await;
    assert_eq!(
        before["embeds"][0]["title"], "Not in the article",
        "{before}"
    );
    wait_count(&run.db, "SELECT count(*) FROM questions", 1);

    // The refused question is offered to moderators, and the card by its name.
    let choices = callback(
        &run.sim,
        run.sim
            .autocomplete("teach", "question", "casa branca")
            .permissions(MODERATOR)
            .build(),
    )
    .await["choices"]
        .clone();
    assert!(
        choices
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| c["value"] == MISSED),
        "{choices}"
    );
    let cards = callback(
        &run.sim,
        run.sim
            .autocomplete("teach", "card", "h20")
            .option("question", json!(MISSED))
            .permissions(MODERATOR)
            .build(),
    )
    .await["choices"]
        .clone();
    assert!(
        cards
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| c["value"] == "h20-deal"),
        "{cards}"
    );

    let taught = callback(&run.sim, teach_missed(&run.sim, MODERATOR)).await;
    assert!(is_ephemeral(&taught), "{taught}");
    let text = taught["content"].as_str().unwrap_or("");
    assert!(
        text.contains("Taught") && text.contains("now answered"),
        "{taught}"
    );
    let learned = std::fs::read_to_string(run.responses.join("learned/h20-deal.toml"))
        .expect("the learned file");
    assert!(learned.contains(MISSED), "{learned}");

    let (_, after) = ask(&run.sim, MISSED, 12).await;
    let card = common::shipped_index();
    let title = &card.card("h20-deal").expect("card").description.en;
    assert_eq!(after["embeds"][0]["title"], json!(title), "{after}");
    assert_eq!(
        wait_count(
            &run.db,
            "SELECT count(*) FROM teaches WHERE card = 'h20-deal'",
            1
        ),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn teach_and_stats_are_refused_to_a_member_without_manage_server() {
    let run = running(&[]).await;
    ask(&run.sim, MISSED, 11).await;
    wait_count(&run.db, "SELECT count(*) FROM questions", 1);
    let refused = callback(&run.sim, teach_missed(&run.sim, MEMBER)).await;
    assert!(is_ephemeral(&refused));
    assert!(
        refused["content"]
            .as_str()
            .unwrap_or("")
            .contains("Manage Server"),
        "{refused}"
    );
    assert!(
        !run.responses.join("learned").exists(),
        "nothing was written"
    );
    let choices = callback(
        &run.sim,
        run.sim
            .autocomplete("teach", "question", "")
            .permissions(MEMBER)
            .build(),
    )
    .await;
    assert_eq!(choices["choices"], json!([]), "no log content for members");
    let stats = callback(
        &run.sim,
        run.sim.slash_command("stats").permissions(MEMBER).build(),
    )
    .await;
    assert!(
        stats["embeds"].as_array().is_none_or(Vec::is_empty),
        "{stats}"
    );
    assert!(stats["content"]
        .as_str()
        .unwrap_or("")
        .contains("Manage Server"));
    // From a DM there is no member at all.
    let dm = callback(&run.sim, run.sim.slash_command("stats").dm().build()).await;
    assert!(
        dm["content"]
            .as_str()
            .unwrap_or("")
            .contains("Manage Server"),
        "{dm}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn teach_citebot_on_a_message_offers_the_cards_and_teaches_the_one_picked() {
    let run = running(&[]).await;
    let (_, message) = run.sim.message(run.sim.config().channel_id, MISSED).build();
    let menu = callback(
        &run.sim,
        run.sim
            .slash_command("Teach citebot")
            .target_message(message)
            .permissions(MODERATOR)
            .build(),
    )
    .await;
    assert!(is_ephemeral(&menu), "{menu}");
    let select = &menu["components"][0]["components"][0];
    assert_eq!(select["type"], 3, "a string select: {menu}");
    let options = select["options"].as_array().expect("options");
    assert!(options.len() <= 25 && options.iter().any(|o| o["value"] == "h20-deal"));
    let custom_id = select["custom_id"].as_str().expect("custom id");
    // The ephemeral message that carries the menu, as the click reports it.
    let (_, carrier) = run
        .sim
        .message(run.sim.config().channel_id, "Teach: pick the card")
        .build();
    // Someone else cannot complete a moderator's pick.
    let other = callback(
        &run.sim,
        run.sim
            .component(custom_id, carrier.clone())
            .values(&["h20-deal"])
            .user(424_242)
            .permissions(MODERATOR)
            .build(),
    )
    .await;
    assert!(
        other["content"].as_str().unwrap_or("").contains("expired"),
        "{other}"
    );
    let taught = callback(
        &run.sim,
        run.sim
            .component(custom_id, carrier)
            .values(&["h20-deal"])
            .permissions(MODERATOR)
            .build(),
    )
    .await;
    assert!(
        taught["content"]
            .as_str()
            .unwrap_or("")
            .contains("now answered"),
        "{taught}"
    );
    let (_, after) = ask(&run.sim, MISSED, 12).await;
    assert_ne!(after["embeds"][0]["title"], "Not in the article", "{after}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ask_citebot_on_a_message_answers_it_publicly_and_shows_the_question() {
    let run = running(&[]).await;
    let (message_id, message) = run
        .sim
        .message(
            run.sim.config().channel_id,
            "so why did the R2 launch slip??",
        )
        .build();
    let (id, interaction) = run
        .sim
        .slash_command("Ask citebot")
        .target_message(message)
        .build();
    let data = callback(&run.sim, (id, interaction)).await;
    assert!(!is_ephemeral(&data), "{data}");
    let embed = &data["embeds"][0];
    assert!(
        embed["description"]
            .as_str()
            .unwrap_or("")
            .contains("R2 launch slip"),
        "{data}"
    );
    assert_eq!(data["allowed_mentions"]["parse"], json!([]), "{data}");
    assert!(message_id > 0);
    let entry: String = {
        wait_count(&run.db, "SELECT count(*) FROM questions", 1);
        read_db(&run.db)
            .query_row("SELECT entry FROM questions", [], |r| r.get(0))
            .expect("row")
    };
    assert_eq!(entry, "message_command");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_shows_the_weeks_figures_to_moderators() {
    let run = running(&[]).await;
    ask(&run.sim, "why was R2 delayed?", 1).await;
    ask(&run.sim, MISSED, 2).await;
    assert_eq!(wait_count(&run.db, "SELECT count(*) FROM questions", 2), 2);
    let stats = callback(
        &run.sim,
        run.sim
            .slash_command("stats")
            .permissions(MODERATOR)
            .build(),
    )
    .await;
    assert!(is_ephemeral(&stats), "{stats}");
    let fields = stats["embeds"][0]["fields"]
        .as_array()
        .expect("fields")
        .clone();
    let field = |name: &str| {
        fields
            .iter()
            .find(|f| f["name"] == name)
            .map(|f| f["value"].clone())
            .unwrap_or(Value::Null)
    };
    assert_eq!(field("Questions"), "2", "{stats}");
    assert_eq!(field("Answered"), "50%", "{stats}");
    assert_eq!(field("Refused"), "50%", "{stats}");
    assert!(
        field("Most missed (teach with /teach)")
            .as_str()
            .unwrap_or("")
            .contains("casa branca"),
        "{stats}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_log_off_there_are_no_buttons_no_moderator_commands_and_no_file() {
    let sim = Simulator::start(SimConfig::default()).await;
    let bot = start_registered(&sim, &common::responses_dir(), &[("CITEBOT_DB", "off")]).await;
    let names: Vec<Value> = sim
        .registered_commands(None)
        .iter()
        .map(|c| c["name"].clone())
        .collect();
    for absent in ["teach", "stats", "Teach citebot"] {
        assert!(!names.contains(&json!(absent)), "{names:?}");
    }
    let (_, data) = ask(&sim, "why was R2 delayed?", 1).await;
    assert!(custom_ids(&data).is_empty(), "{data}");
    assert!(
        bot.output().contains("question log off"),
        "{}",
        bot.output()
    );
    let files: Vec<_> = std::fs::read_dir(bot.dir())
        .expect("the bot's folder")
        .filter_map(Result::ok)
        .map(|e| e.file_name())
        .collect();
    assert!(
        files.iter().all(|f| !f.to_string_lossy().contains(".db")),
        "no database file: {files:?}"
    );
}

/// `kill -9` in the middle of a burst of questions: the file is intact and holds every question
/// answered up to a second before the kill.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_a_write_burst_loses_at_most_the_last_second_and_never_corrupts() {
    let run = running(&[]).await;
    let channel = run.sim.config().channel_id;
    let replies = |sim: &Simulator| {
        sim.requests()
            .iter()
            .filter(|r| {
                r.accepted() && matches!(r.route, sim::Route::ChannelMessages { channel_id } if channel_id == channel)
            })
            .count() as i64
    };
    let started = Instant::now();
    let mut a_second_before_the_kill = 0;
    let mut samples: Vec<(Instant, i64)> = Vec::new();
    let mut sent = 0u64;
    while started.elapsed() < Duration::from_secs(3) {
        for _ in 0..10 {
            sent += 1;
            run.sim
                .message_mentioning_bot(channel, &format!("why was R2 delayed? #{sent}"))
                .author(1_000 + sent % 50)
                .send()
                .await
                .expect("dispatch");
        }
        samples.push((Instant::now(), replies(&run.sim)));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let killed_at = Instant::now();
    let status = std::process::Command::new("kill")
        .args(["-9", &run.bot.pid().to_string()])
        .status()
        .expect("kill -9");
    assert!(status.success());
    let at_kill = replies(&run.sim);
    for (at, count) in &samples {
        if killed_at.duration_since(*at) >= Duration::from_secs(1) {
            a_second_before_the_kill = *count;
        }
    }
    std::thread::sleep(Duration::from_millis(200));
    let db = Connection::open(&run.db).expect("reopen after kill -9");
    let integrity: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity check");
    assert_eq!(integrity, "ok");
    let rows: i64 = db
        .query_row("SELECT count(*) FROM questions", [], |r| r.get(0))
        .expect("count");
    assert!(
        a_second_before_the_kill > 50,
        "the burst must be under way a second before the kill ({a_second_before_the_kill} replies)"
    );
    assert!(
        rows >= a_second_before_the_kill && rows <= at_kill,
        "{rows} rows; {a_second_before_the_kill} replies a second before the kill, {at_kill} at the kill ({sent} sent)"
    );
    eprintln!(
        "kill -9 burst: {sent} questions sent in 3 s, {at_kill} answered at the kill, {a_second_before_the_kill} a second before, {rows} rows after reopening"
    );
    // And the store opens as the bot would, schema and salt intact.
    drop(db);
    citebot::store::SqliteStore::open(&run.db).expect("the bot can reopen it");
}

/// A simulated day: every question of two blind chat sets, asked by 40 people, each answer voted
/// on as its asker would (👍 when it is the right card or a right refusal, 👎 otherwise). The
/// log then says exactly what the driver saw. `CITEBOT_SIM_DAY_DB=<path>` keeps the database
/// (for `citebot report --db <path>`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_simulated_day_is_logged_exactly_as_the_people_saw_it() {
    let keep = std::env::var_os("CITEBOT_SIM_DAY_DB").map(PathBuf::from);
    let db_env = keep.as_ref().map(|p| p.to_string_lossy().into_owned());
    let extra: Vec<(&str, &str)> = db_env
        .as_deref()
        .map(|db| vec![("CITEBOT_DB", db)])
        .unwrap_or_default();
    let run = running(&extra).await;
    let db = keep.unwrap_or_else(|| run.db.clone());
    let index = common::shipped_index();
    let questions: Vec<citebot_testkit::sets::Labelled> = ["devset3.tsv", "devset4.tsv"]
        .into_iter()
        .flat_map(citebot_testkit::sets::question_set)
        .collect();
    let (mut answered, mut suggested, mut refused, mut up, mut down) = (0, 0, 0, 0, 0);
    for (n, labelled) in questions.iter().enumerate() {
        let user = 700 + (n as u64 % 40);
        let (id, data) = ask(&run.sim, &labelled.question, user).await;
        let title = data["embeds"][0]["title"]
            .as_str()
            .unwrap_or("")
            .to_string();
        let card = index
            .cards()
            .iter()
            .find(|c| c.description.en == title)
            .map(|c| c.command.clone());
        match (&card, title.as_str()) {
            (Some(_), _) => answered += 1,
            (None, "Did you mean?") => suggested += 1,
            (None, "Not in the article") => refused += 1,
            (None, _) => answered += 1, // a passage of the article
        }
        // Half the people vote.
        if n % 2 == 1 && !labelled.chat {
            let right = match &card {
                Some(card) => labelled.expected.contains(card),
                None => labelled.is_refusal() && title == "Not in the article",
            };
            let ids = custom_ids(&data);
            let Some(message) = run.sim.original_message(id) else {
                continue;
            };
            if ids.len() == 2 {
                callback(
                    &run.sim,
                    run.sim
                        .component(&ids[usize::from(!right)], message)
                        .user(user)
                        .build(),
                )
                .await;
                if right {
                    up += 1;
                } else {
                    down += 1;
                }
            }
        }
    }
    let total = questions.len() as i64;
    assert_eq!(
        wait_count(&db, "SELECT count(*) FROM questions", total),
        total
    );
    assert_eq!(
        wait_count(&db, "SELECT count(*) FROM votes", up + down),
        up + down
    );
    let outcomes = |outcome: &str| {
        read_db(&db)
            .query_row(
                "SELECT count(*) FROM questions WHERE outcome = ?1",
                [outcome],
                |r| r.get::<_, i64>(0),
            )
            .expect("count")
    };
    let chat = outcomes("chat");
    assert_eq!(outcomes("answered"), answered - chat, "passages and cards");
    assert_eq!(outcomes("suggested"), suggested);
    assert_eq!(outcomes("refused"), refused);
    let report = std::process::Command::new(env!("CARGO_BIN_EXE_citebot"))
        .args(["report", "--db", db.to_str().expect("utf-8"), "--json"])
        .output()
        .expect("citebot report");
    let report: Value = serde_json::from_slice(&report.stdout).expect("JSON report");
    assert_eq!(report["questions"], total);
    assert_eq!(report["votes_up"], up);
    assert_eq!(report["votes_down"], down);
    let on_cards = report["cards"]
        .as_array()
        .expect("cards")
        .iter()
        .map(|c| c["up"].as_i64().unwrap_or(0) + c["down"].as_i64().unwrap_or(0))
        .sum::<i64>();
    assert!(
        on_cards <= up + down,
        "votes on cards: {on_cards} of {}",
        up + down
    );
    eprintln!(
        "simulated day: {total} questions, {answered} answered (chat {chat}), {suggested} suggested, {refused} refused; {up} 👍, {down} 👎"
    );
}
