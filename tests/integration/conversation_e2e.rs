//! End to end: citebot in the conversation, through the real `citebot run` binary against the
//! Discord simulator: watched channels and forum posts, one-click suggestions and "Post
//! publicly", follow-ups in threads, the 3-second window read from the interaction's id,
//! registration only when the commands differ, clickable command mentions, user install.

use crate::common;
use discord_sim as sim;

use std::time::{Duration, Instant};

use citebot_testkit::bot::{start_registered, Bot};
use common::reply::{callback, custom_ids, is_ephemeral, title, WAIT};
use serde_json::{json, Value};
use sim::{Channel, ChannelKind, SimConfig, Simulator};

/// How long "nothing was sent" is watched for.
const QUIET: Duration = Duration::from_millis(700);
const WATCHED: u64 = 820_000_000_000_000_001;
const FORUM: u64 = 820_000_000_000_000_002;
const ELSEWHERE: u64 = 820_000_000_000_000_003;
/// The bot's managed role in the simulator's guild.
const GUILD_ROLE: u64 = 840_000_000_000_000_001;

fn sim_config() -> SimConfig {
    SimConfig {
        heartbeat_interval: Duration::from_millis(500),
        interaction_deadline: Some(Duration::from_secs(3)),
        ..SimConfig::default()
    }
}

async fn start(sim: &Simulator, env: &[(&str, &str)]) -> Bot {
    let mut all = vec![("CITEBOT_COOLDOWN", "off")];
    all.extend_from_slice(env);
    start_registered(sim, &common::responses_dir(), &all).await
}

/// A bot watching one text channel and one forum.
async fn watching() -> (Simulator, Bot) {
    let sim = Simulator::start(sim_config()).await;
    let guild = sim.config().guild_id;
    for id in [WATCHED, FORUM, ELSEWHERE] {
        sim.add_channel(Channel {
            id,
            kind: ChannelKind::Text,
            guild_id: Some(guild),
        });
    }
    let channels = format!("{WATCHED},{FORUM}");
    let bot = start(&sim, &[("CITEBOT_ASK_CHANNELS", &channels)]).await;
    (sim, bot)
}

/// Every accepted message the bot posted to `channel`.
fn posted(sim: &Simulator, channel: u64) -> Vec<Value> {
    sim.requests()
        .iter()
        .filter(|r| {
            r.accepted()
                && r.method == "POST"
                && matches!(r.route, sim::Route::ChannelMessages { channel_id } if channel_id == channel)
        })
        .map(|r| r.body.clone())
        .collect()
}

fn card_title(command: &str) -> String {
    common::shipped_index()
        .card(command)
        .expect("card")
        .description
        .en
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watched_channel_gets_answers_only_when_citebot_is_sure_and_others_get_nothing() {
    let (sim, bot) = watching().await;
    let identify = sim.wait_ready(WAIT).await.expect("ready");
    assert!(
        identify
            .gateway_intents()
            .contains(serenity::all::GatewayIntents::MESSAGE_CONTENT),
        "watching needs the content of every message"
    );
    // Chatter, small talk, a low-confidence near-miss, another bot: silence.
    for text in [
        "anyone up for lunch?",
        "thanks all!",
        "who wins from the chip sales arrangement",
    ] {
        sim.message(WATCHED, text).send().await.expect("dispatch");
    }
    sim.message(WATCHED, "why was R2 delayed?")
        .author(4242)
        .author_is_bot(true)
        .send()
        .await
        .expect("dispatch");
    // A question citebot is sure of: answered in place, as a reply.
    let asked = sim
        .message(WATCHED, "so why did DeepSeek's R2 get delayed?")
        .send()
        .await
        .expect("dispatch");
    let reply = sim
        .wait_channel_message(WATCHED, WAIT)
        .await
        .expect("an answer");
    assert_eq!(title(&reply), card_title("why-r2-delayed"), "{reply}");
    assert_eq!(reply["message_reference"]["message_id"], asked.to_string());
    assert_eq!(reply["allowed_mentions"]["parse"], json!([]));
    // The same question where nobody asked for citebot: nothing.
    sim.message(ELSEWHERE, "so why did DeepSeek's R2 get delayed?")
        .send()
        .await
        .expect("dispatch");
    tokio::time::sleep(QUIET).await;
    assert_eq!(
        posted(&sim, WATCHED).len(),
        1,
        "{:?}\n{}",
        posted(&sim, WATCHED),
        bot.output()
    );
    assert!(posted(&sim, ELSEWHERE).is_empty());
    // The log keeps the answered question's text, and not the chatter's.
    let db = bot.dir().join("citebot.db");
    let deadline = Instant::now() + WAIT;
    let rows: Vec<(String, Option<String>)> = loop {
        let connection =
            rusqlite::Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
                .expect("the bot's log");
        let rows: Vec<(String, Option<String>)> = connection
            .prepare("SELECT outcome, question FROM questions WHERE entry = 'watched_channel'")
            .and_then(|mut s| s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect())
            .expect("rows");
        if rows.len() >= 4 || Instant::now() > deadline {
            break rows;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(rows.len(), 4, "{rows:?}");
    let mut outcomes: Vec<(&str, bool)> = rows
        .iter()
        .map(|(outcome, question)| (outcome.as_str(), question.is_some()))
        .collect();
    outcomes.sort();
    assert_eq!(
        outcomes,
        [
            ("answered", true),
            ("silent", false),
            ("silent", false),
            ("silent", false)
        ],
        "{rows:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_post_in_a_watched_forum_is_answered_inside_the_post() {
    let (sim, _bot) = watching().await;
    let post = 820_000_000_000_000_777;
    // Discord sends GUILD_CREATE for every server after READY, then the post's THREAD_CREATE
    // and its first message back to back.
    sim.create_guild_with_bot_role(GUILD_ROLE)
        .await
        .expect("GUILD_CREATE");
    sim.create_thread(post, FORUM, "Why was R2 delayed?")
        .await
        .expect("THREAD_CREATE");
    // The post's first message has the post's id; its text alone names nothing.
    sim.message(post, "Saw this in the news, anyone know?")
        .id(post)
        .send()
        .await
        .expect("dispatch");
    let reply = sim
        .wait_channel_message(post, WAIT)
        .await
        .expect("answered in the post");
    assert_eq!(title(&reply), card_title("why-r2-delayed"), "{reply}");
    // Later messages of the post are conversation, not new posts.
    sim.message(post, "what about the weather today?")
        .send()
        .await
        .expect("dispatch");
    tokio::time::sleep(QUIET).await;
    assert_eq!(posted(&sim, post).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_message_content_intent_exits_with_the_portal_toggle_named() {
    let sim = Simulator::start(SimConfig {
        allowed_privileged_intents: 0,
        ..sim_config()
    })
    .await;
    let mut bot = Bot::start(
        &sim.api_base(),
        sim.token(),
        &common::responses_dir(),
        &[("CITEBOT_ASK_CHANNELS", "123")],
    );
    let status = bot.wait_exit(WAIT).expect("exits");
    assert!(!status.success());
    let output = bot.output();
    assert!(
        output.contains("4014") && output.contains("Message Content Intent"),
        "{output}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suggestion_is_one_click_away_and_public_only_for_its_asker() {
    let sim = Simulator::start(sim_config()).await;
    let _bot = start(&sim, &[]).await;
    let asker = 5_100;
    let question = "who wins from the chip sales arrangement";
    let (id, interaction) = sim
        .slash_command("ask")
        .option("question", json!(question))
        .user(asker)
        .build();
    let data = callback(&sim, (id, interaction)).await;
    assert_eq!(title(&data), "Did you mean?", "{data}");
    let suggestions: Vec<String> = custom_ids(&data)
        .into_iter()
        .filter(|c| c.starts_with("cb1:card:"))
        .collect();
    assert!((1..=3).contains(&suggestions.len()), "{data}");
    let original = sim.original_message(id).expect("the refusal message");
    let command = suggestions[0]
        .split(':')
        .nth(2)
        .expect("command")
        .to_string();

    // Someone else's click: the card, for them only.
    let other = callback(
        &sim,
        sim.component(&suggestions[0], original.clone())
            .user(asker + 1)
            .build(),
    )
    .await;
    assert!(is_ephemeral(&other), "{other}");
    assert_eq!(title(&other), card_title(&command));
    // The asker's click under a public answer: the card, for everyone, with the question.
    let public = callback(
        &sim,
        sim.component(&suggestions[0], original).user(asker).build(),
    )
    .await;
    assert!(!is_ephemeral(&public), "{public}");
    assert_eq!(title(&public), card_title(&command));
    assert!(
        public["embeds"][0]["description"]
            .as_str()
            .unwrap_or("")
            .contains(question),
        "{public}"
    );
    // A card removed since the button was made: a notice.
    let stale = callback(
        &sim,
        sim.component(
            &format!("cb1:card:no-such-card:{asker}"),
            sim.original_message(id).expect("message"),
        )
        .user(asker)
        .build(),
    )
    .await;
    assert!(is_ephemeral(&stale));
    assert!(stale["content"]
        .as_str()
        .unwrap_or("")
        .contains("no longer works"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_answer_can_be_posted_publicly() {
    let sim = Simulator::start(sim_config()).await;
    let _bot = start(&sim, &[]).await;
    let (id, interaction) = sim
        .slash_command("ask")
        .option("question", json!("why was R2 delayed?"))
        .option("private", json!(true))
        .build();
    let private = callback(&sim, (id, interaction)).await;
    assert!(is_ephemeral(&private));
    assert!(
        custom_ids(&private).contains(&"cb1:post".to_string()),
        "{private}"
    );
    let message = sim.original_message(id).expect("the private answer");
    let posted = callback(&sim, sim.component("cb1:post", message).build()).await;
    assert!(!is_ephemeral(&posted), "{posted}");
    assert_eq!(
        posted["embeds"][0], private["embeds"][0],
        "the same answer, now public"
    );
    assert_eq!(posted["allowed_mentions"]["parse"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follow_up_in_a_thread_is_read_with_the_threads_last_question() {
    let sim = Simulator::start(sim_config()).await;
    let _bot = start(&sim, &[]).await;
    let guild = sim.config().guild_id;
    let (parent, thread, other) = (
        830_000_000_000_000_001,
        830_000_000_000_000_002,
        830_000_000_000_000_003,
    );
    for id in [parent, other] {
        sim.add_channel(Channel {
            id,
            kind: ChannelKind::Text,
            guild_id: Some(guild),
        });
    }
    sim.create_guild_with_bot_role(GUILD_ROLE)
        .await
        .expect("GUILD_CREATE");
    sim.create_thread(thread, parent, "h20 talk")
        .await
        .expect("THREAD_CREATE");
    let ask = |channel: u64, text: &'static str| {
        let sim = sim.clone();
        async move {
            let before = posted(&sim, channel).len();
            sim.message_mentioning_bot(channel, text)
                .send()
                .await
                .expect("dispatch");
            let deadline = Instant::now() + WAIT;
            loop {
                let now = posted(&sim, channel);
                if now.len() > before {
                    return now[before].clone();
                }
                assert!(Instant::now() < deadline, "no answer to {text:?}");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    let first = ask(thread, "what is the H20 deal?").await;
    assert_eq!(title(&first), card_title("h20-deal"));
    let follow_up = ask(thread, "how much?").await;
    assert_eq!(title(&follow_up), card_title("h20-deal"), "{follow_up}");
    // Never another channel's context.
    let alone = ask(other, "how much?").await;
    assert_ne!(title(&alone), card_title("h20-deal"), "{alone}");
}

/// A snowflake created `ago` before now.
fn snowflake_from(ago: Duration) -> u64 {
    let ms = (std::time::SystemTime::now() - ago)
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as u64;
    ((ms - 1_420_070_400_000) << 22) | 77
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interaction_already_past_its_window_is_skipped_with_a_log_line() {
    let sim = Simulator::start(sim_config()).await;
    let bot = start(&sim, &[]).await;
    let (old, interaction) = sim
        .slash_command("ask")
        .option("question", json!("why was R2 delayed?"))
        .id(snowflake_from(Duration::from_secs(5)))
        .build();
    sim.dispatch_interaction(interaction)
        .await
        .expect("dispatch");
    assert!(
        bot.wait_log("past its 3-second window", WAIT),
        "{}",
        bot.output()
    );
    assert!(sim.callbacks(old).is_empty());
    // One made a second ago still has time, and is answered.
    let (recent, interaction) = sim
        .slash_command("ask")
        .option("question", json!("why was R2 delayed?"))
        .id(snowflake_from(Duration::from_secs(1)))
        .build();
    sim.dispatch_interaction(interaction)
        .await
        .expect("dispatch");
    sim.wait_callback(recent, WAIT).await.expect("answered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_are_overwritten_only_when_they_differ_and_facts_links_them() {
    let sim = Simulator::start(sim_config()).await;
    let first = start(&sim, &[]).await;
    drop(first);
    let overwrites = |sim: &Simulator| {
        sim.requests()
            .iter()
            .filter(|r| r.method == "PUT" && matches!(r.route, sim::Route::GlobalCommands))
            .count()
    };
    assert_eq!(overwrites(&sim), 1);
    // A second start finds Discord's commands equal to its own: it fetches, and overwrites nothing.
    let second = Bot::start(
        &sim.api_base(),
        sim.token(),
        &common::responses_dir(),
        &[("CITEBOT_COOLDOWN", "off")],
    );
    assert!(
        second.wait_log("commands already registered as they are", WAIT),
        "{}",
        second.output()
    );
    assert_eq!(overwrites(&sim), 1, "no second overwrite");
    // /facts links each command by the id Discord gave it.
    let registered = sim.registered_commands(None);
    let id_of = |name: &str| {
        registered
            .iter()
            .find(|c| c["name"] == name)
            .and_then(|c| c["id"].as_str())
            .expect("registered")
            .to_string()
    };
    let facts = callback(&sim, sim.slash_command("facts").build()).await;
    let text = facts["embeds"][0]["description"].as_str().unwrap_or("");
    let mention = format!("</h20-deal:{}>", id_of("h20-deal"));
    assert!(text.contains(&mention), "{text}");
    assert!(text.contains(&format!("</ask:{}>", id_of("ask"))), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everyones_commands_install_for_users_too_and_moderators_stay_in_servers() {
    let sim = Simulator::start(sim_config()).await;
    let _bot = start(&sim, &[]).await;
    for command in sim.registered_commands(None) {
        let name = command["name"].as_str().unwrap_or("");
        let moderator = ["teach", "stats", "Teach citebot"].contains(&name);
        let (installs, contexts) = if moderator {
            (json!([0]), json!([0]))
        } else {
            (json!([0, 1]), json!([0, 1, 2]))
        };
        assert_eq!(command["integration_types"], installs, "{name}");
        assert_eq!(command["contexts"], contexts, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn portuguese_clients_read_brazilian_portuguese() {
    let sim = Simulator::start(sim_config()).await;
    let _bot = start(&sim, &[]).await;
    // Words of European Portuguese that a Brazilian reader would not write.
    let european = [
        "factos",
        "registo",
        " tu ",
        " teu ",
        " tua ",
        "Escreve ",
        "Pergunta-me",
        "Tenta ",
        "Faz ",
        "Usa ",
        "Gerir ",
        "quiseres",
        "Queria dizer",
        "procures",
        "a certeza",
    ];
    let mut shown = serde_json::to_string(&sim.registered_commands(None)).expect("json");
    for command in ["facts", "source"] {
        let data = callback(&sim, sim.slash_command(command).locale("pt-BR").build()).await;
        shown.push_str(&data.to_string());
    }
    let data = callback(
        &sim,
        sim.slash_command("ask")
            // A "did you mean" (the reply follows the client's language).
            .option(
                "question",
                json!("who wins from the chip sales arrangement"),
            )
            .locale("pt-BR")
            .build(),
    )
    .await;
    assert_eq!(data["embeds"][0]["title"], "Você quis dizer?", "{data}");
    shown.push_str(&data.to_string());
    for word in european {
        assert!(!shown.contains(word), "{word:?} in {shown}");
    }
}

/// Mentions citebot's managed role (Discord's picker often inserts the role instead of the
/// bot) with a question; returns the reply, after checking another role's mention got none.
async fn role_mentioned(sim: &Simulator, bot: &Bot) -> Value {
    let (role, other_role) = (GUILD_ROLE, 840_000_000_000_000_002u64);
    sim.create_guild_with_bot_role(role)
        .await
        .expect("GUILD_CREATE");
    let channel = sim.config().channel_id;
    let role_mention = |role: u64| {
        let (id, mut message) = sim
            .message(channel, &format!("<@&{role}> why was R2 delayed?"))
            .build();
        message["mention_roles"] = json!([role.to_string()]);
        (id, message)
    };
    let (_, message) = role_mention(other_role);
    sim.dispatch_message_create(message)
        .await
        .expect("dispatch");
    let (asked, message) = role_mention(role);
    sim.dispatch_message_create(message)
        .await
        .expect("dispatch");
    let reply = sim
        .wait_channel_message(channel, WAIT)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", bot.output()));
    assert_eq!(reply["message_reference"]["message_id"], asked.to_string());
    tokio::time::sleep(QUIET).await;
    assert_eq!(posted(sim, channel).len(), 1, "only the bot's role counts");
    reply
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mention_of_the_bots_managed_role_is_a_mention_of_the_bot() {
    // With the Message Content intent (here: because a channel is watched) the question is read.
    let sim = Simulator::start(sim_config()).await;
    let bot = start(&sim, &[("CITEBOT_ASK_CHANNELS", "123")]).await;
    let reply = role_mentioned(&sim, &bot).await;
    assert_eq!(title(&reply), card_title("why-r2-delayed"), "{reply}");
    // Without it Discord blanks a role mention's text (it does so for any message that does not
    // mention the bot itself): citebot still answers, with how to ask.
    let sim = Simulator::start(sim_config()).await;
    let bot = start(&sim, &[]).await;
    let reply = role_mentioned(&sim, &bot).await;
    assert_eq!(title(&reply), "Ask me about the article", "{reply}");
}

/// What a person sees: `cargo test --test integration conversation_e2e::transcript -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "prints a transcript for the README and closing notes"]
async fn transcript() {
    fn show(who: &str, body: &Value) {
        let embed = &body["embeds"][0];
        println!("{who}: [{}]", embed["title"].as_str().unwrap_or(""));
        for line in embed["description"].as_str().unwrap_or("").lines().take(3) {
            println!("    {line}");
        }
        for field in embed["fields"].as_array().into_iter().flatten().take(2) {
            let value = field["value"].as_str().unwrap_or("");
            println!(
                "    {} {}",
                field["name"].as_str().unwrap_or(""),
                value.lines().next().unwrap_or("")
            );
        }
        let buttons: Vec<String> = body["components"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
            .map(|b| {
                format!(
                    "[{}{}]",
                    b["emoji"]["name"].as_str().unwrap_or(""),
                    b["label"].as_str().unwrap_or("")
                )
            })
            .collect();
        if !buttons.is_empty() {
            println!("    {}", buttons.join(" "));
        }
        if is_ephemeral(body) {
            println!("    (only the clicker sees this)");
        }
    }
    let (sim, _bot) = watching().await;
    println!("--- #watched (CITEBOT_ASK_CHANNELS)");
    println!("ana: anyone up for lunch?");
    sim.message(WATCHED, "anyone up for lunch?")
        .send()
        .await
        .expect("send");
    println!("ana: so why did DeepSeek's R2 get delayed?");
    sim.message(WATCHED, "so why did DeepSeek's R2 get delayed?")
        .send()
        .await
        .expect("send");
    let reply = sim
        .wait_channel_message(WATCHED, WAIT)
        .await
        .expect("reply");
    show("citebot (reply to ana)", &reply);
    println!("--- /ask, then a suggestion clicked");
    let (id, interaction) = sim
        .slash_command("ask")
        .option(
            "question",
            json!("who wins from the chip sales arrangement"),
        )
        .build();
    println!("ana: /ask who wins from the chip sales arrangement");
    let data = callback(&sim, (id, interaction)).await;
    show("citebot", &data);
    let first = custom_ids(&data)
        .into_iter()
        .find(|c| c.starts_with("cb1:card:"))
        .expect("a suggestion");
    println!("ana clicks {first}");
    let clicked = callback(
        &sim,
        sim.component(&first, sim.original_message(id).expect("message"))
            .build(),
    )
    .await;
    show("citebot", &clicked);
    println!("--- a thread");
    let thread = 830_000_000_000_000_009;
    sim.create_guild_with_bot_role(GUILD_ROLE)
        .await
        .expect("guild");
    sim.create_thread(thread, WATCHED, "h20 talk")
        .await
        .expect("thread");
    for text in ["what is the H20 deal?", "how much?"] {
        println!("ana: @citebot {text}");
        let before = posted(&sim, thread).len();
        sim.message_mentioning_bot(thread, text)
            .send()
            .await
            .expect("send");
        let deadline = Instant::now() + WAIT;
        while posted(&sim, thread).len() == before && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        show("citebot", &posted(&sim, thread)[before]);
    }
}
