//! citebot keeps answering through Discord's faults: gateway reconnects and invalid sessions,
//! REST errors and rate limits, a flood of questions, and broken edits of `responses/` while it
//! runs. Each test drives the real `citebot run` binary through the simulator.

use crate::common;
use discord_sim as sim;

use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};
use sim::{Fault, SimConfig, Simulator};

use citebot_testkit::bot::{copy_dir, start_registered, Bot};

const WAIT: Duration = Duration::from_secs(10);
/// serenity waits ~5 s before identifying again after a non-resumable session.
const SLOW_WAIT: Duration = Duration::from_secs(25);

async fn simulator() -> Simulator {
    Simulator::start(SimConfig {
        heartbeat_interval: Duration::from_millis(400),
        interaction_deadline: Some(Duration::from_secs(3)),
        ..SimConfig::default()
    })
    .await
}

async fn bot_on(sim: &Simulator, responses: &Path, env: &[(&str, &str)]) -> Bot {
    start_registered(sim, responses, env).await
}

/// Every reply, notices included, allows no mention at all.
fn assert_pings_nobody(payload: &Value) {
    let mentions = &payload["allowed_mentions"];
    assert_eq!(mentions["parse"], json!([]), "{payload}");
    for list in ["users", "roles"] {
        assert!(
            mentions[list].as_array().is_none_or(Vec::is_empty),
            "{payload}"
        );
    }
    assert_ne!(mentions["replied_user"], json!(true), "{payload}");
}

/// Sends `/h20-deal` and asserts it is answered exactly once.
async fn answered_once(sim: &Simulator, bot: &Bot, what: &str) {
    let (id, interaction) = sim.slash_command("h20-deal").build();
    sim.dispatch_interaction(interaction)
        .await
        .expect("dispatch");
    if let Err(err) = sim.wait_callback(id, WAIT).await {
        panic!("not answered after {what}: {err}\n{}", bot.output());
    }
    // A duplicate would arrive within milliseconds; give it a moment to show up.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        sim.callbacks(id).len(),
        1,
        "answered more than once after {what}"
    );
}

/// Mentions the bot in the default channel and waits for its reply there.
async fn mention_answered(sim: &Simulator, text: &str, what: &str) {
    let channel = sim.config().channel_id;
    let (_, message) = sim
        .message_mentioning_bot(channel, text)
        .in_guild(sim.config().guild_id)
        .build();
    sim.dispatch_message_create(message)
        .await
        .expect("dispatch");
    sim.wait_channel_message(channel, WAIT).await.expect(what);
}

async fn ask(sim: &Simulator, question: &str, user: u64) -> Value {
    let (id, interaction) = sim
        .slash_command("ask")
        .option("question", json!(question))
        .user(user)
        .build();
    sim.dispatch_interaction(interaction)
        .await
        .expect("dispatch");
    sim.wait_callback(id, WAIT).await.expect("callback")["data"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnect_close_4000_and_resumable_invalid_session_resume_and_keep_answering() {
    let sim = simulator().await;
    let bot = bot_on(&sim, &common::responses_dir(), &[]).await;
    answered_once(&sim, &bot, "start").await;

    sim.send_reconnect().expect("op 7");
    sim.wait_resume_count(1, WAIT)
        .await
        .expect("resumed after op 7");
    answered_once(&sim, &bot, "op 7 RECONNECT").await;

    // The connection drops with an interaction in flight: Discord replays it on RESUME.
    sim.hold_handshakes(true);
    sim.close_gateway(4000, "unknown error")
        .expect("close 4000");
    let (id, interaction) = sim.slash_command("why-r2-delayed").build();
    sim.dispatch_interaction(interaction)
        .await
        .expect("dispatch while away");
    sim.hold_handshakes(false);
    sim.wait_resume_count(2, WAIT)
        .await
        .expect("resumed after close 4000");
    sim.wait_callback(id, WAIT)
        .await
        .expect("the in-flight interaction is answered");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sim.callbacks(id).len(), 1);
    answered_once(&sim, &bot, "close 4000").await;

    sim.invalidate_session(true).expect("op 9 true");
    sim.wait_resume_count(3, WAIT)
        .await
        .expect("resumed after op 9 d:true");
    answered_once(&sim, &bot, "op 9 d:true").await;
    assert_eq!(sim.identifies().len(), 1, "resumes, never a new IDENTIFY");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_resumable_invalid_session_identifies_again() {
    let sim = simulator().await;
    let bot = bot_on(&sim, &common::responses_dir(), &[]).await;
    sim.invalidate_session(false).expect("op 9 false");
    if let Err(err) = sim.wait_identify_count(2, SLOW_WAIT).await {
        panic!("no new IDENTIFY: {err}\n{}", bot.output());
    }
    answered_once(&sim, &bot, "op 9 d:false").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unacknowledged_heartbeats_make_it_reconnect() {
    let sim = simulator().await;
    let bot = bot_on(&sim, &common::responses_dir(), &[]).await;
    let connections = sim.connection_count();
    sim.set_heartbeat_ack(false);
    let deadline = std::time::Instant::now() + SLOW_WAIT;
    while sim.connection_count() == connections && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    sim.set_heartbeat_ack(true);
    assert!(
        sim.connection_count() > connections,
        "no reconnect\n{}",
        bot.output()
    );
    let resumed_or_identified = tokio::time::timeout(SLOW_WAIT, async {
        loop {
            if !sim.resumes().is_empty() || sim.identifies().len() > 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    assert!(resumed_or_identified.is_ok(), "{}", bot.output());
    answered_once(&sim, &bot, "missed heartbeat ACKs").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_4004_and_4014_end_the_process_with_a_clear_message() {
    for (code, needle) in [(4004u16, "4004"), (4014, "4014")] {
        let sim = simulator().await;
        let mut bot = bot_on(&sim, &common::responses_dir(), &[]).await;
        sim.close_gateway(code, "fatal").expect("close");
        let status = bot.wait_exit(SLOW_WAIT);
        let output = bot.output();
        let status =
            status.unwrap_or_else(|| panic!("still running after close {code}:\n{output}"));
        assert!(!status.success(), "exit 0 after close {code}");
        assert!(
            output.contains(needle),
            "no clear message for {code}:\n{output}"
        );
        assert_eq!(sim.identifies().len(), 1, "retried after close {code}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_errors_are_logged_and_the_next_interaction_works() {
    let sim = simulator().await;
    let bot = bot_on(
        &sim,
        &common::responses_dir(),
        &[("CITEBOT_COOLDOWN", "off")],
    )
    .await;

    // 500 on the callback: logged with route and status, not retried, no crash.
    sim.fail_next("POST", "interactions/*/*/callback", 1, Fault::Status(500));
    let (id, interaction) = sim.slash_command("h20-deal").build();
    sim.dispatch_interaction(interaction)
        .await
        .expect("dispatch");
    assert!(bot.wait_log("status=500", WAIT), "{}", bot.output());
    assert!(
        bot.output().contains("route=\"interaction callback\""),
        "{}",
        bot.output()
    );
    // Longer than both 429 back-offs (2 x 500 ms): a retry of the 500 would have come by now.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let tries = sim
        .requests()
        .iter()
        .filter(|r| r.interaction_id == Some(id))
        .count();
    assert_eq!(tries, 1, "a 500 is not retried");
    answered_once(&sim, &bot, "a 500").await;

    // 429 on a callback: retried inside the 3-second window, answered once.
    sim.fail_next(
        "POST",
        "interactions/*/*/callback",
        1,
        Fault::RateLimited {
            retry_after: 0.2,
            global: false,
        },
    );
    answered_once(&sim, &bot, "a 429 on the callback").await;

    // 429 on a channel message: retried, delivered once.
    sim.fail_next(
        "POST",
        "channels/*/messages",
        1,
        Fault::RateLimited {
            retry_after: 0.2,
            global: false,
        },
    );
    mention_answered(&sim, "h20 deal?", "delivered after the 429").await;
    assert!(bot.output().contains("status=429"), "{}", bot.output());

    // A callback that never answers: given up within the 3-second window, not retried.
    sim.fail_next("POST", "interactions/*/*/callback", 1, Fault::Hang);
    let (hung, interaction) = sim.slash_command("h20-deal").build();
    sim.dispatch_interaction(interaction)
        .await
        .expect("dispatch");
    assert!(
        bot.wait_log("no answer from Discord in time", WAIT),
        "{}",
        bot.output()
    );
    sim.release_hung();
    let tries = sim
        .requests()
        .iter()
        .filter(|r| r.interaction_id == Some(hung))
        .count();
    assert_eq!(tries, 1, "a timed-out callback is not retried");
    answered_once(&sim, &bot, "a hung callback").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn free_questions_are_rate_limited_per_user_but_fact_commands_are_not() {
    let sim = simulator().await;
    let bot = bot_on(
        &sim,
        &common::responses_dir(),
        &[("CITEBOT_COOLDOWN", "2/30s")],
    )
    .await;
    let (alice, bob) = (900_000_000_000_000_011, 900_000_000_000_000_012);
    for _ in 0..2 {
        let data = ask(&sim, "why was r2 delayed?", alice).await;
        assert!(data["embeds"][0]["description"].is_string(), "{data}");
    }
    let limited = ask(&sim, "why was r2 delayed?", alice).await;
    assert_eq!(
        limited["flags"].as_u64().unwrap_or(0) & 64,
        64,
        "ephemeral notice: {limited}"
    );
    assert!(
        limited["content"]
            .as_str()
            .unwrap_or("")
            .contains("Slow down"),
        "{limited}"
    );
    assert_pings_nobody(&limited);
    let other = ask(&sim, "why was r2 delayed?", bob).await;
    assert!(
        other["embeds"][0]["description"].is_string(),
        "per user: {other}"
    );
    for _ in 0..4 {
        answered_once(&sim, &bot, "the cooldown").await;
    }

    // Mentions: one short notice per window, then silence.
    let channel = sim.config().channel_id;
    let guild = sim.config().guild_id;
    for _ in 0..4 {
        let (_, message) = sim
            .message_mentioning_bot(channel, "r2?")
            .in_guild(guild)
            .author(bob)
            .build();
        sim.dispatch_message_create(message)
            .await
            .expect("dispatch");
    }
    let replies = sim
        .wait_channel_messages(channel, 2, WAIT)
        .await
        .expect("two replies");
    // The bot handles the mentions concurrently: the answer and the notice may arrive in
    // either order, but there is exactly one of each.
    let answers = replies
        .iter()
        .filter(|r| r["embeds"][0].is_object())
        .count();
    let notices = replies
        .iter()
        .filter(|r| r["content"].as_str().unwrap_or("").contains("Slow down"))
        .count();
    assert_eq!((answers, notices), (1, 1), "{replies:?}");
    for reply in &replies {
        assert_pings_nobody(reply);
    }
    assert!(
        sim.wait_channel_messages(channel, 3, Duration::from_millis(800))
            .await
            .is_err(),
        "a notice per message"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hot_reload_keeps_the_last_good_index_and_registers_new_cards() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let responses = scratch.path().join("responses");
    copy_dir(&common::responses_dir(), &responses);
    let sim = simulator().await;
    let bot = bot_on(&sim, &responses, &[("CITEBOT_COOLDOWN", "off")]).await;
    let overwrites = || {
        sim.requests()
            .iter()
            .filter(|r| r.method == "PUT" && r.path.contains("/commands"))
            .count()
    };
    assert_eq!(overwrites(), 1);

    // Break a card: still answers from the old index, and says where the problem is.
    let card = responses.join("facts/h20-deal.toml");
    let original = std::fs::read_to_string(&card).expect("card");
    std::fs::write(&card, original.replace("[answer]", "[answer\n")).expect("break");
    assert!(bot.wait_log("h20-deal.toml:", WAIT), "{}", bot.output());
    assert!(
        bot.output().contains("still serving the previous index"),
        "{}",
        bot.output()
    );
    let data = ask(&sim, "h20 deal", 1).await;
    assert!(
        data["embeds"][0]["title"]
            .as_str()
            .unwrap_or("")
            .contains("US deal"),
        "{data}"
    );

    // Fix it with a new paraphrase: the new paraphrase is answered; commands are unchanged.
    let paraphrase = "qual o esquema zorblax dos chips";
    assert!(!ask(&sim, paraphrase, 1).await["embeds"][0]["title"]
        .as_str()
        .unwrap_or("")
        .contains("US deal"));
    let fixed = original.replacen("pt = [\n", &format!("pt = [\n  \"{paraphrase}\",\n"), 1);
    assert_ne!(fixed, original, "the paraphrase was inserted");
    std::fs::write(&card, fixed).expect("fix");
    assert!(bot.wait_log("responses reloaded", WAIT), "{}", bot.output());
    let data = ask(&sim, paraphrase, 1).await;
    assert!(
        data["embeds"][0]["title"]
            .as_str()
            .unwrap_or("")
            .contains("US deal"),
        "{data}"
    );
    assert_eq!(overwrites(), 1, "same commands: no re-registration");

    // Add a card: its command is registered.
    let new_card = std::fs::read_to_string(responses.join("facts/gpu-shortage.toml"))
        .expect("card")
        .replace("command = \"gpu-shortage\"", "command = \"gpu-crunch\"")
        .replace(
            "command_pt = \"escassez-gpus\"",
            "command_pt = \"falta-de-gpus\"",
        );
    let new_card = new_card
        .lines()
        .filter(|l| !l.starts_with("aliases"))
        .collect::<Vec<_>>()
        .join("\n");
    // Its questions must not repeat another card's: make them distinct.
    let new_card = new_card.replace("\",", " (crunch)\",");
    std::fs::write(responses.join("facts/gpu-crunch.toml"), new_card).expect("add");
    let registered = tokio::time::timeout(WAIT, async {
        loop {
            if sim
                .registered_commands(None)
                .iter()
                .any(|c| c["name"] == "gpu-crunch")
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    assert!(
        registered.is_ok(),
        "new command not registered\n{}",
        bot.output()
    );
    answered_once(&sim, &bot, "reloads").await;

    // SIGHUP forces a reload even without a change: the reload itself is awaited, not the line
    // saying a signal came.
    let reloads = |output: &str| output.matches("responses reloaded").count();
    let before = reloads(&bot.output());
    bot.signal("HUP");
    let deadline = std::time::Instant::now() + WAIT;
    while reloads(&bot.output()) == before && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(reloads(&bot.output()), before + 1, "{}", bot.output());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_never_appears_in_the_output_even_at_trace_and_sigterm_exits_0() {
    let sim = simulator().await;
    let mut bot = bot_on(&sim, &common::responses_dir(), &[("RUST_LOG", "trace")]).await;
    answered_once(&sim, &bot, "start").await;
    mention_answered(&sim, "r2?", "reply").await;
    bot.signal("TERM");
    let status = bot.wait_exit(WAIT).expect("exits on SIGTERM");
    assert!(status.success(), "SIGTERM exits 0\n{}", bot.output());
    let output = bot.output();
    assert!(
        output.len() > 10_000,
        "trace output was captured ({} bytes)",
        output.len()
    );
    let secret = sim.token().split('.').next_back().expect("token parts");
    assert!(!output.contains(sim.token()), "token in the output");
    assert!(
        !output.contains(&format!(".{secret}")),
        "token part in the output"
    );

    // A rejected token at trace level: not in the output either.
    let wrong = "wrong-token.NzAwMDAwMDAwMDAwMDAwMDAw.another-secret";
    let mut rejected = Bot::start(
        &sim.api_base(),
        wrong,
        &common::responses_dir(),
        &[("RUST_LOG", "trace")],
    );
    rejected.wait_exit(WAIT).expect("exits");
    let output = rejected.output();
    assert!(output.contains(".env.example"), "{output}");
    assert!(
        !output.contains("another-secret"),
        "rejected token in the output:\n{output}"
    );
}

/// 10,000 interactions with 64 in flight; every one answered once; memory stays flat.
/// Run with `cargo test --release --test integration resilience::soak -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn soak() {
    let sim = simulator().await;
    let bot = bot_on(
        &sim,
        &common::responses_dir(),
        &[("CITEBOT_COOLDOWN", "off"), ("RUST_LOG", "warn")],
    )
    .await;
    let questions: Vec<String> = citebot_testkit::sets::question_set("devset.tsv")
        .into_iter()
        .map(|q| q.question)
        .collect();
    let commands: Vec<String> = common::shipped_index()
        .cards()
        .iter()
        .map(|c| c.command.clone())
        .collect();
    let rss = |pid: u32| -> u64 {
        std::fs::read_to_string(format!("/proc/{pid}/status"))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("VmRSS:"))
                    .map(str::to_string)
            })
            .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse().ok()))
            .unwrap_or(0)
    };
    let total = 10_000usize;
    let mut rss_at_1000 = 0;
    let started = std::time::Instant::now();
    let mut in_flight = tokio::task::JoinSet::new();
    for i in 0..total {
        if in_flight.len() >= 64 {
            let answered: Result<u64, String> =
                in_flight.join_next().await.expect("task").expect("join");
            answered.expect("answered");
        }
        if i == 1000 {
            rss_at_1000 = rss(bot.pid());
        }
        let sim = sim.clone();
        let (question, command) = (
            questions[i % questions.len()].clone(),
            commands[i % commands.len()].clone(),
        );
        in_flight.spawn(async move {
            let (id, json) = match i % 4 {
                0 => sim
                    .slash_command("ask")
                    .option("question", json!(question))
                    .build(),
                1 => sim.autocomplete("ask", "question", &question).build(),
                _ => sim.slash_command(&command).build(),
            };
            sim.dispatch_interaction(json)
                .await
                .map_err(|e| e.to_string())?;
            sim.wait_callback(id, Duration::from_secs(30))
                .await
                .map_err(|e| e.to_string())?;
            Ok::<u64, String>(id)
        });
    }
    while let Some(result) = in_flight.join_next().await {
        result.expect("join").expect("answered");
    }
    let elapsed = started.elapsed();
    let rss_end = rss(bot.pid());
    println!(
        "soak: {total} interactions in {:.1} s ({:.0}/s); RSS at 1,000: {} kB, at 10,000: {} kB, growth {} kB",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64(),
        rss_at_1000,
        rss_end,
        rss_end as i64 - rss_at_1000 as i64
    );
    assert!(
        rss_end < rss_at_1000 + 5 * 1024,
        "memory grew by more than 5 MB"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_of_broken_edit_keeps_the_previous_index_serving() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let responses = scratch.path().join("responses");
    copy_dir(&common::responses_dir(), &responses);
    let sim = simulator().await;
    let bot = bot_on(&sim, &responses, &[("CITEBOT_COOLDOWN", "off")]).await;
    let card = responses.join("facts/avoid-h20.toml");
    let original = std::fs::read_to_string(&card).expect("card");
    let edits = [
        (
            "a quote that is not verbatim",
            original.replace("NVIDIA , exigindo", "NVIDIA, exigindo"),
            "not verbatim",
        ),
        (
            // A command equals its file name, so a duplicate comes from a pt-BR name or alias.
            "a duplicate command",
            original.replace("command_pt = \"evitar-h20\"", "command_pt = \"acordo-h20\""),
            "already used",
        ),
        (
            "bad TOML",
            original.replace("[answer]", "[answer\n"),
            "invalid card",
        ),
    ];
    for (what, broken, logged) in edits {
        assert_ne!(broken, original, "{what}: the edit applies");
        std::fs::write(&card, broken).expect("break");
        assert!(
            bot.wait_log(logged, WAIT),
            "{what} not reported:\n{}",
            bot.output()
        );
        assert!(
            bot.output().contains("avoid-h20.toml:"),
            "{what}: no path:line"
        );
        let data = ask(&sim, "why must chinese companies justify h20 orders", 1).await;
        let title = data["embeds"][0]["title"]
            .as_str()
            .unwrap_or("")
            .to_string();
        let expected = common::shipped_index()
            .card("avoid-h20")
            .expect("card")
            .description
            .en
            .clone();
        assert_eq!(title, expected, "{what}: the previous index still answers");
        std::fs::write(&card, &original).expect("restore");
        assert!(bot.wait_log("responses reloaded", WAIT), "{}", bot.output());
    }
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_while_discord_is_unreachable_exits_0_within_5_s_and_the_log_says_why() {
    let base = format!("http://127.0.0.1:{}", closed_port());
    let mut bot = Bot::start(
        &base,
        "MTIz.fake.token",
        &common::responses_dir(),
        &[("CITEBOT_SHARDS", "0-0/1")],
    );
    assert!(
        bot.wait_log("Discord is unreachable", Duration::from_secs(20)),
        "no plain word that Discord is unreachable\n{}",
        bot.output()
    );
    bot.signal("TERM");
    let started = std::time::Instant::now();
    let status = bot
        .wait_exit(Duration::from_secs(5))
        .unwrap_or_else(|| panic!("still running 5 s after SIGTERM\n{}", bot.output()));
    assert!(status.success(), "exit {status:?}\n{}", bot.output());
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_while_reconnecting_exits_0_within_5_s() {
    let sim = simulator().await;
    let mut bot = bot_on(&sim, &common::responses_dir(), &[]).await;
    // The gateway closes and the server goes away: the bot is in its reconnect back-off,
    // where stopping the shards alone does not stop the process.
    sim.shutdown();
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    bot.signal("TERM");
    let status = bot
        .wait_exit(Duration::from_secs(5))
        .unwrap_or_else(|| panic!("still running 5 s after SIGTERM\n{}", bot.output()));
    assert!(status.success(), "exit {status:?}\n{}", bot.output());
}
