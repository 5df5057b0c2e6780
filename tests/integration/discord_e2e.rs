//! End to end: the real `citebot run` binary against the Discord simulator on loopback.
//! Everything asserted here is what the bot actually sent over REST, as the simulator recorded it.

use crate::common;
use discord_sim as sim;

use std::time::Duration;

use citebot_testkit::bot::{start_registered, Bot};

use serde_json::{json, Value};
use sim::{Channel, ChannelKind, SimConfig, Simulator};

const WAIT: Duration = Duration::from_secs(10);

fn start_bot(sim: &Simulator, token: &str) -> Bot {
    Bot::start(&sim.api_base(), token, &common::responses_dir(), &[])
}

async fn running_bot() -> (Simulator, Bot) {
    let sim = Simulator::start(SimConfig {
        heartbeat_interval: Duration::from_millis(500),
        // Discord's rule: the first response to an interaction within 3 s, or it is unknown.
        interaction_deadline: Some(Duration::from_secs(3)),
        ..SimConfig::default()
    })
    .await;
    let bot = start_registered(&sim, &common::responses_dir(), &[]).await;
    (sim, bot)
}

/// A text channel and a public thread under it, in the simulator's guild; returns the thread.
fn add_public_thread(sim: &Simulator) -> u64 {
    let guild = sim.config().guild_id;
    let (parent, thread) = (810_000_000_000_000_100, 810_000_000_000_000_101);
    sim.add_channel(Channel {
        id: parent,
        kind: ChannelKind::Text,
        guild_id: Some(guild),
    });
    sim.add_channel(Channel {
        id: thread,
        kind: ChannelKind::PublicThread { parent },
        guild_id: Some(guild),
    });
    thread
}

/// Asks `/ask` from a client in `locale`; returns the callback's `data`.
async fn ask_in(sim: &Simulator, question: &str, locale: &str) -> Value {
    let (id, interaction) = sim
        .slash_command("ask")
        .option("question", json!(question))
        .locale(locale)
        .build();
    sim.dispatch_interaction(interaction)
        .await
        .expect("dispatch");
    sim.wait_callback(id, WAIT).await.expect("callback")["data"].clone()
}

/// Mentions the bot in `channel` (of `guild`, or a DM) and returns the bot's reply there, after
/// checking it is a reply to that message and pings nobody.
async fn replied_in(sim: &Simulator, channel: u64, guild: Option<u64>, text: &str) -> Value {
    let builder = sim.message_mentioning_bot(channel, text);
    let builder = match guild {
        Some(guild) => builder.in_guild(guild),
        None => builder.in_dm(),
    };
    reply_to(sim, channel, builder.build()).await
}

/// Sends `message` to `channel` and returns the bot's reply there, after checking it is a reply
/// to that message (kept even if the question is deleted) and pings nobody.
async fn reply_to(sim: &Simulator, channel: u64, (message_id, message): (u64, Value)) -> Value {
    sim.dispatch_message_create(message)
        .await
        .expect("dispatch");
    let reply = sim
        .wait_channel_message(channel, WAIT)
        .await
        .expect("a reply in the same channel");
    assert_eq!(
        reply["message_reference"]["message_id"].as_str(),
        Some(message_id.to_string().as_str()),
        "a reply to the question"
    );
    assert_eq!(
        reply["message_reference"]["fail_if_not_exists"], false,
        "a deleted question still gets its answer"
    );
    assert_no_pings(&reply);
    reply
}

fn embed(data: &Value) -> &Value {
    &data["embeds"][0]
}

fn quotes(embed: &Value) -> Vec<String> {
    embed["fields"]
        .as_array()
        .map(|fields| {
            fields
                .iter()
                .map(|f| f["value"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn assert_no_pings(data: &Value) {
    let mentions = &data["allowed_mentions"];
    assert_eq!(mentions["parse"], json!([]), "{data}");
    assert!(
        mentions["users"].as_array().is_none_or(Vec::is_empty),
        "{data}"
    );
    assert!(
        mentions["roles"].as_array().is_none_or(Vec::is_empty),
        "{data}"
    );
    assert_eq!(mentions["replied_user"], json!(false), "{data}");
}

fn assert_within_limits(embed: &Value) {
    let len = |v: &Value| v.as_str().map_or(0, |s| s.chars().count());
    assert!(len(&embed["title"]) <= 256);
    assert!(len(&embed["description"]) <= 4096);
    let fields = embed["fields"].as_array().cloned().unwrap_or_default();
    assert!(fields.len() <= 25);
    let mut total =
        len(&embed["title"]) + len(&embed["description"]) + len(&embed["footer"]["text"]);
    for field in &fields {
        assert!(len(&field["name"]) <= 256 && len(&field["value"]) <= 1024);
        total += len(&field["name"]) + len(&field["value"]);
    }
    assert!(total <= 6000, "embed has {total} characters");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_registered_at_start_match_the_fact_cards() {
    let (sim, _bot) = running_bot().await;
    let identify = sim.wait_ready(WAIT).await.expect("ready");
    let intents = identify.gateway_intents();
    assert!(intents.contains(serenity::all::GatewayIntents::GUILD_MESSAGES));
    assert!(
        !intents.contains(serenity::all::GatewayIntents::MESSAGE_CONTENT),
        "no privileged intent"
    );

    let registered = sim.registered_commands(None);
    let index = common::shipped_index();
    // A command per card, /ask, /facts, /source, "Ask citebot"; with the question log on (the
    // default), /teach, /stats and "Teach citebot" for moderators.
    assert_eq!(registered.len(), index.cards().len() + 7, "{registered:?}");
    for name in ["teach", "stats", "Teach citebot"] {
        let command = registered
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("{name} not registered"));
        assert_eq!(
            command["default_member_permissions"], "32",
            "{name}: Manage Server"
        );
        assert_eq!(command["contexts"], json!([0]), "{name}: servers only");
    }
    for card in index.cards() {
        let command = registered
            .iter()
            .find(|c| c["name"] == card.command)
            .unwrap_or_else(|| panic!("/{} not registered", card.command));
        assert_eq!(command["description"], card.description.en);
        assert_eq!(command["name_localizations"]["pt-BR"], card.command_pt);
        assert_eq!(
            command["description_localizations"]["pt-BR"],
            card.description.pt
        );
        assert_eq!(command["options"][0]["name"], "private");
        assert_eq!(command["options"][0]["type"], 5);
    }
    let ask = registered
        .iter()
        .find(|c| c["name"] == "ask")
        .expect("/ask");
    assert_eq!(ask["options"][0]["autocomplete"], true);
    for name in ["facts", "source"] {
        assert!(registered.iter().any(|c| c["name"] == name), "/{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fact_command_answers_with_its_cards_quotes() {
    let (sim, _bot) = running_bot().await;
    let index = common::shipped_index();
    for card in index.cards() {
        let (id, interaction) = sim.slash_command(&card.command).locale("en-US").build();
        sim.dispatch_interaction(interaction)
            .await
            .expect("dispatch");
        let callback = sim.wait_callback(id, WAIT).await.expect("callback");
        assert_eq!(callback["type"], 4, "a message response");
        let data = &callback["data"];
        assert_no_pings(data);
        let embed = embed(data);
        assert_within_limits(embed);
        assert_eq!(embed["title"], card.description.en);
        assert_eq!(embed["description"], card.answer.en);
        let shown = quotes(embed);
        assert_eq!(shown.len(), card.citations.len());
        for (citation, field) in card
            .citations
            .iter()
            .zip(&embed["fields"].as_array().expect("fields")[..])
        {
            let flat = citation
                .quote
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            // An English reader gets the card's gloss under the quote, marked as a translation.
            let expected = match &citation.gloss {
                Some(gloss) => format!("> {flat}\n*Translation (not a quote):* {gloss}"),
                None => format!("> {flat}"),
            };
            assert_eq!(field["value"], expected);
            assert_eq!(field["name"], format!("§{}", citation.paragraph));
        }
        assert!(embed["footer"]["text"]
            .as_str()
            .expect("footer")
            .contains("Financial Times"));
        assert_eq!(
            data["flags"].as_u64().unwrap_or(0) & 64,
            0,
            "public by default"
        );
    }
    // The private option makes the answer ephemeral.
    let (id, interaction) = sim
        .slash_command("h20-deal")
        .option("private", json!(true))
        .build();
    sim.dispatch_interaction(interaction)
        .await
        .expect("dispatch");
    let callback = sim.wait_callback(id, WAIT).await.expect("callback");
    assert_eq!(
        callback["data"]["flags"].as_u64().unwrap_or(0) & 64,
        64,
        "ephemeral"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ask_answers_in_the_users_locale_and_refuses_what_the_article_does_not_say() {
    let (sim, _bot) = running_bot().await;
    let index = common::shipped_index();
    let card = index.card("why-r2-delayed").expect("card");

    // A public answer shows the question above it, so the channel sees what was asked.
    let data = ask_in(&sim, "why was R2 delayed?", "en-US").await;
    assert_eq!(
        embed(&data)["description"],
        format!("» why was R2 delayed?\n{}", card.answer.en)
    );
    assert_no_pings(&data);

    let data = ask_in(&sim, "porque o r2 atrasou", "pt-BR").await;
    assert_eq!(
        embed(&data)["description"],
        format!("» porque o r2 atrasou\n{}", card.answer.pt)
    );

    assert!(embed(&data)["footer"]["text"]
        .as_str()
        .expect("footer")
        .starts_with("Fonte"));

    // The question is the user's text: escaped, shortened, and pinging nobody.
    let long = format!(
        "**why** was R2 delayed @everyone <@&123456789012345678>? {}",
        "x ".repeat(300)
    );
    let asked = ask_in(&sim, &long, "en-US").await;
    let shown = embed(&asked)["description"]
        .as_str()
        .expect("text")
        .to_string();
    let first_line = shown.lines().next().expect("the question");
    assert!(
        first_line.starts_with("» \\*\\*why\\*\\* was R2 delayed @\u{200b}everyone"),
        "{first_line}"
    );
    assert!(first_line.chars().count() < 300, "{first_line}");
    assert_no_pings(&asked);

    let data = ask_in(&sim, "how many parameters does R2 have?", "en-US").await;
    let refusal = embed(&data);
    assert_eq!(refusal["title"], "Not in the article");
    assert!(refusal["description"]
        .as_str()
        .expect("text")
        .contains("The article doesn't cover that."));
    assert!(
        refusal["fields"].as_array().is_none_or(Vec::is_empty),
        "a refusal quotes nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn autocomplete_offers_at_most_25_ranked_questions() {
    let (sim, _bot) = running_bot().await;
    for typed in ["porque o r2", "h20", "", "x"] {
        let (id, interaction) = sim.autocomplete("ask", "question", typed).build();
        sim.dispatch_interaction(interaction)
            .await
            .expect("dispatch");
        let callback = sim.wait_callback(id, WAIT).await.expect("callback");
        assert_eq!(callback["type"], 8, "autocomplete result");
        let choices = callback["data"]["choices"].as_array().expect("choices");
        assert!(choices.len() <= 25, "{} choices", choices.len());
        for choice in choices {
            let name = choice["name"].as_str().expect("name");
            assert!((1..=100).contains(&name.chars().count()));
        }
        if typed == "porque o r2" {
            let first = choices.first().expect("suggestions")["name"]
                .as_str()
                .expect("name")
                .to_lowercase();
            assert!(first.contains("r2"), "{first}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mention_in_a_thread_is_answered_in_that_thread_as_a_reply() {
    let (sim, _bot) = running_bot().await;
    let guild = sim.config().guild_id;
    let thread = add_public_thread(&sim);
    let reply = replied_in(&sim, thread, Some(guild), "quando sai o R2?").await;
    let index = common::shipped_index();
    assert_eq!(
        embed(&reply)["description"],
        index.card("r2-release-date").expect("card").answer.pt
    );

    // A mention with no question gets the short help; other bots are ignored.
    let (_, message) = sim
        .message_mentioning_bot(thread, "")
        .in_guild(guild)
        .build();
    sim.dispatch_message_create(message)
        .await
        .expect("dispatch");
    let replies = sim
        .wait_channel_messages(thread, 2, WAIT)
        .await
        .expect("help reply");
    assert_eq!(embed(&replies[1])["title"], "Ask me about the article");
    let (_, message) = sim
        .message_mentioning_bot(thread, "why was r2 delayed")
        .in_guild(guild)
        .author_is_bot(true)
        .build();
    sim.dispatch_message_create(message)
        .await
        .expect("dispatch");
    assert!(
        sim.wait_channel_messages(thread, 3, Duration::from_millis(800))
            .await
            .is_err(),
        "answered a bot"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mention_in_a_direct_message_is_answered_there() {
    let (sim, _bot) = running_bot().await;
    let dm = sim.config().dm_channel_id;
    let reply = replied_in(&sim, dm, None, "h20 deal 15%?").await;
    let index = common::shipped_index();
    let card = index.card("h20-deal").expect("card");
    assert_eq!(embed(&reply)["description"], card.answer.en);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_direct_message_is_a_question_but_a_plain_channel_message_is_not() {
    let (sim, _bot) = running_bot().await;
    let dm = sim.config().dm_channel_id;
    // A DM needs no mention.
    reply_to(
        &sim,
        dm,
        sim.message(dm, "quando sai o r2?").in_dm().build(),
    )
    .await;
    let channel = sim.config().channel_id;
    let (_, message) = sim
        .message(channel, "quando sai o r2?")
        .in_guild(sim.config().guild_id)
        .build();
    sim.dispatch_message_create(message)
        .await
        .expect("dispatch");
    assert!(
        sim.wait_channel_message(channel, Duration::from_millis(800))
            .await
            .is_err(),
        "a channel message without a mention is not for citebot"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everyone_and_role_mentions_in_a_question_ping_nobody() {
    let (sim, _bot) = running_bot().await;
    let channel = sim.config().channel_id;
    let text = "@everyone <@&123456789012345678> @here why was r2 delayed?";
    let (_, message) = sim
        .message_mentioning_bot(channel, text)
        .in_guild(sim.config().guild_id)
        .build();
    sim.dispatch_message_create(message)
        .await
        .expect("dispatch");
    let reply = sim
        .wait_channel_message(channel, WAIT)
        .await
        .expect("reply");
    assert_no_pings(&reply);
    assert!(!reply.to_string().contains("@everyone"), "{reply}");

    let (id, interaction) = sim
        .slash_command("ask")
        .option("question", json!(text))
        .build();
    sim.dispatch_interaction(interaction)
        .await
        .expect("dispatch");
    let data = sim.wait_callback(id, WAIT).await.expect("callback")["data"].clone();
    assert_no_pings(&data);
    assert!(!data.to_string().contains("@everyone"), "{data}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_6000_character_question_is_answered_within_limits() {
    let (sim, _bot) = running_bot().await;
    let question = format!("why was r2 delayed {}", "ç@*_`> ".repeat(1000))
        .chars()
        .take(6000)
        .collect::<String>();
    let (id, interaction) = sim
        .slash_command("ask")
        .option("question", json!(question))
        .build();
    sim.dispatch_interaction(interaction)
        .await
        .expect("dispatch");
    let data = sim.wait_callback(id, WAIT).await.expect("callback")["data"].clone();
    assert_within_limits(embed(&data));
    let channel = sim.config().channel_id;
    let (_, message) = sim
        .message_mentioning_bot(channel, &question)
        .in_guild(sim.config().guild_id)
        .build();
    sim.dispatch_message_create(message)
        .await
        .expect("dispatch");
    let reply = sim
        .wait_channel_message(channel, WAIT)
        .await
        .expect("reply");
    assert_within_limits(embed(&reply));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_or_rejected_token_exits_with_a_clear_error() {
    let sim = Simulator::start(SimConfig::default()).await;
    let mut missing = start_bot(&sim, "");
    let status = missing.wait_exit(WAIT).expect("exits");
    assert!(!status.success());
    assert!(
        missing.output().contains(".env.example"),
        "{}",
        missing.output()
    );

    let wrong = "wrong-token.NzAwMDAwMDAwMDAwMDAwMDAw.not-the-secret";
    let mut rejected = start_bot(&sim, wrong);
    let status = rejected
        .wait_exit(Duration::from_secs(20))
        .expect("exits without a retry loop");
    assert!(!status.success());
    let log = rejected.output();
    assert!(
        log.contains("4004") && log.contains(".env.example"),
        "{log}"
    );
    assert!(
        !log.contains(wrong),
        "the token leaked into the log:\n{log}"
    );
}

/// Prints what the simulator recorded for `/why-r2-delayed` and a thread mention, for the README
/// and release notes: `cargo test --test integration discord_e2e::transcript -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn transcript() {
    let (sim, _bot) = running_bot().await;
    let (id, interaction) = sim.slash_command("why-r2-delayed").locale("en-US").build();
    println!(
        "INTERACTION_CREATE /why-r2-delayed:\n{}",
        serde_json::to_string_pretty(&interaction["data"]).unwrap_or_default()
    );
    sim.dispatch_interaction(interaction)
        .await
        .expect("dispatch");
    let callback = sim.wait_callback(id, WAIT).await.expect("callback");
    println!(
        "POST /interactions/{id}/<token>/callback:\n{}",
        serde_json::to_string_pretty(&callback).unwrap_or_default()
    );

    let guild = sim.config().guild_id;
    let thread = add_public_thread(&sim);
    let (_, message) = sim
        .message_mentioning_bot(thread, "pq o r2 atrasou?")
        .in_guild(guild)
        .build();
    println!("MESSAGE_CREATE in thread {thread}: {}", message["content"]);
    sim.dispatch_message_create(message)
        .await
        .expect("dispatch");
    let reply = sim.wait_channel_message(thread, WAIT).await.expect("reply");
    println!(
        "POST /channels/{thread}/messages:\n{}",
        serde_json::to_string_pretty(&reply).unwrap_or_default()
    );
}
