//! Proves the loopback Discord simulator (crates/discord-sim) works with a real serenity 0.12.5 client:
//! a minimal EventHandler defined here (not the project's bot) connects through a proxied
//! `Http`, receives READY, answers interactions and mentions, registers commands, survives
//! op 7 / close / op 9 with RESUME, re-identifies after missed heartbeat ACKs, and a client with a
//! wrong token fails with an authentication error.

use discord_sim as sim;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use serenity::all::{
    Command, CommandOptionType, Context, CreateAutocompleteResponse, CreateCommand,
    CreateCommandOption, CreateInteractionResponse, CreateInteractionResponseFollowup,
    CreateInteractionResponseMessage, CreateMessage, EditInteractionResponse, EventHandler,
    GatewayIntents, Interaction, Message, Ready,
};
use sim::{Channel, ChannelKind, Fault, Route, SimConfig, Simulator};

const T: Duration = Duration::from_secs(10);
const GUILD: u64 = 800_000_000_000_000_001;
const TEXT: u64 = 810_000_000_000_000_200;
const THREAD: u64 = 810_000_000_000_000_201;

fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

fn intents() -> GatewayIntents {
    GatewayIntents::GUILDS
        | GatewayIntents::GUILD_MESSAGES
        | GatewayIntents::DIRECT_MESSAGES
        | GatewayIntents::MESSAGE_CONTENT
}

#[derive(Default)]
struct Seen {
    ready: AtomicUsize,
    commands: AtomicUsize,
    autocompletes: AtomicUsize,
    messages: AtomicUsize,
    errors: Mutex<Vec<String>>,
}

impl Seen {
    fn error(&self, e: String) {
        self.errors.lock().expect("errors lock").push(e);
    }

    fn errors(&self) -> Vec<String> {
        self.errors.lock().expect("errors lock").clone()
    }
}

struct Handler {
    seen: Arc<Seen>,
    register_commands: bool,
}

fn option_str(cmd: &serenity::all::CommandInteraction, name: &str) -> String {
    cmd.data
        .options
        .iter()
        .find(|o| o.name == name)
        .and_then(|o| o.value.as_str())
        .unwrap_or("")
        .to_string()
}

#[serenity::async_trait]
impl EventHandler for Handler {
    async fn ready(&self, ctx: Context, _ready: Ready) {
        self.seen.ready.fetch_add(1, Ordering::SeqCst);
        if self.register_commands {
            let cmd = CreateCommand::new("why-r2-delayed")
                .description("Ask about the article")
                .description_localized("pt-BR", "Pergunte sobre o artigo")
                .add_option(
                    CreateCommandOption::new(
                        CommandOptionType::String,
                        "question",
                        "Your question",
                    )
                    .required(true)
                    .set_autocomplete(true),
                );
            if let Err(e) = Command::set_global_commands(&ctx.http, vec![cmd]).await {
                self.seen.error(format!("set_global_commands: {e:?}"));
            }
        }
    }

    async fn interaction_create(&self, ctx: Context, interaction: Interaction) {
        match interaction {
            Interaction::Command(cmd) => {
                self.seen.commands.fetch_add(1, Ordering::SeqCst);
                let q = option_str(&cmd, "question");
                let msg = CreateInteractionResponseMessage::new()
                    .content(format!("answer to: {q} [{}]", cmd.locale));
                if let Err(e) = cmd
                    .create_response(&ctx, CreateInteractionResponse::Message(msg))
                    .await
                {
                    self.seen.error(format!("create_response: {e:?}"));
                    return;
                }
                if q == "full round trip" {
                    match cmd.get_response(&ctx.http).await {
                        Ok(m) if m.content.starts_with("answer to:") => {}
                        Ok(m) => self
                            .seen
                            .error(format!("@original content: {:?}", m.content)),
                        Err(e) => self.seen.error(format!("get_response: {e:?}")),
                    }
                    let edit = EditInteractionResponse::new().content("edited answer");
                    match cmd.edit_response(&ctx.http, edit).await {
                        Ok(m) if m.content == "edited answer" => {}
                        Ok(m) => self.seen.error(format!("edit returned {:?}", m.content)),
                        Err(e) => self.seen.error(format!("edit_response: {e:?}")),
                    }
                    let f = CreateInteractionResponseFollowup::new().content("a followup");
                    if let Err(e) = cmd.create_followup(&ctx.http, f).await {
                        self.seen.error(format!("create_followup: {e:?}"));
                    }
                }
            }
            Interaction::Autocomplete(ac) => {
                self.seen.autocompletes.fetch_add(1, Ordering::SeqCst);
                let partial = ac
                    .data
                    .autocomplete()
                    .map(|o| o.value.to_string())
                    .unwrap_or_default();
                let resp = CreateAutocompleteResponse::new()
                    .add_string_choice(format!("{partial}?"), format!("{partial}?"));
                if let Err(e) = ac
                    .create_response(&ctx, CreateInteractionResponse::Autocomplete(resp))
                    .await
                {
                    self.seen.error(format!("autocomplete response: {e:?}"));
                }
            }
            other => self
                .seen
                .error(format!("unexpected interaction {:?}", other.kind())),
        }
    }

    async fn message(&self, ctx: Context, msg: Message) {
        if msg.author.bot {
            return;
        }
        self.seen.messages.fetch_add(1, Ordering::SeqCst);
        let me = ctx.cache.current_user().id;
        if msg.mentions.iter().any(|u| u.id == me) {
            let reply = CreateMessage::new()
                .content(format!("you said: {}", msg.content))
                .reference_message(&msg);
            if let Err(e) = msg.channel_id.send_message(&ctx, reply).await {
                self.seen.error(format!("send_message: {e:?}"));
            }
        }
    }
}

/// Start a real serenity client against the simulator; returns its task and shared counters.
async fn start_bot(
    sim: &Simulator,
    token: &str,
    register_commands: bool,
) -> (tokio::task::JoinHandle<serenity::Result<()>>, Arc<Seen>) {
    let seen = Arc::new(Seen::default());
    let http = serenity::http::HttpBuilder::new(token)
        .proxy(sim.api_base())
        .ratelimiter_disabled(true)
        .build();
    let mut client = serenity::client::ClientBuilder::new_with_http(http, intents())
        .event_handler(Handler {
            seen: seen.clone(),
            register_commands,
        })
        .await
        .expect("serenity client builds");
    let task = tokio::spawn(async move { client.start().await });
    (task, seen)
}

fn fast_config() -> SimConfig {
    SimConfig {
        heartbeat_interval: Duration::from_millis(400),
        ..SimConfig::default()
    }
}

fn add_channels(sim: &Simulator) {
    sim.add_channel(Channel {
        id: TEXT,
        kind: ChannelKind::Text,
        guild_id: Some(GUILD),
    });
    sim.add_channel(Channel {
        id: THREAD,
        kind: ChannelKind::PublicThread { parent: TEXT },
        guild_id: Some(GUILD),
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serenity_client_end_to_end() {
    init_tracing();
    let sim = Simulator::start(fast_config()).await;
    add_channels(&sim);
    let (task, seen) = start_bot(&sim, sim.token(), true).await;

    // READY, with what the client identified with.
    let ident = sim.wait_ready(T).await.expect("client identifies");
    assert_eq!(ident.intents, intents().bits());
    assert_eq!(ident.shard, Some([0, 1]));
    assert_eq!(ident.properties["browser"], "serenity");
    let gw = sim
        .wait_request(T, |r| r.route == Route::Gateway)
        .await
        .expect("GET /gateway");
    assert_eq!(gw.path, "/api/v10/gateway");
    assert_eq!(gw.response["url"], json!(sim.gateway_url()));

    // Bulk overwrite of global commands, recorded with the commands JSON.
    let put = sim.wait_bulk_overwrite(T).await.expect("bulk overwrite");
    assert_eq!(put.route, Route::GlobalCommands);
    assert_eq!(
        put.path,
        format!(
            "/api/v10/applications/{}/commands",
            sim.config().application_id
        )
    );
    assert_eq!(put.body[0]["name"], "why-r2-delayed");
    assert_eq!(put.body[0]["options"][0]["name"], "question");
    assert_eq!(put.body[0]["options"][0]["autocomplete"], true);
    assert_eq!(
        put.body[0]["description_localizations"]["pt-BR"],
        "Pergunte sobre o artigo"
    );
    let registered = sim.registered_commands(None);
    assert_eq!(registered.len(), 1);
    assert!(registered[0]["id"].as_str().is_some_and(|s| !s.is_empty()));

    // A slash command in a thread, answered with CreateInteractionResponse::Message.
    let (id, payload) = sim
        .slash_command("why-r2-delayed")
        .option("question", json!("porque o R2 atrasou?"))
        .locale("pt-BR")
        .guild(GUILD)
        .channel(THREAD)
        .build();
    assert_eq!(
        payload["data"]["id"], registered[0]["id"],
        "builder uses registered command id"
    );
    sim.dispatch_interaction(payload)
        .await
        .expect("dispatch slash command");
    let cb = sim
        .wait_callback(id, T)
        .await
        .expect("interaction callback");
    assert_eq!(cb["type"], 4);
    assert_eq!(
        cb["data"]["content"],
        "answer to: porque o R2 atrasou? [pt-BR]"
    );
    assert_eq!(sim.callbacks(id).len(), 1);

    // Full round trip: GET/PATCH @original and a followup all return objects serenity parses.
    let id2 = sim
        .slash_command("why-r2-delayed")
        .option("question", json!("full round trip"))
        .send()
        .await
        .expect("dispatch");
    let edit = sim
        .wait_original_edit(id2, T)
        .await
        .expect("@original edit");
    assert_eq!(edit["content"], "edited answer");
    let follow = sim.wait_followup(id2, T).await.expect("followup");
    assert_eq!(follow["content"], "a followup");
    assert_eq!(
        sim.original_message(id2).expect("original exists")["content"],
        "edited answer"
    );

    // Autocomplete: focused option value is a string; answer is type 8 with choices.
    let (ac_id, ac) = sim
        .autocomplete("why-r2-delayed", "question", "porque o r2")
        .build();
    sim.dispatch_interaction(ac)
        .await
        .expect("dispatch autocomplete");
    let cb = sim
        .wait_callback(ac_id, T)
        .await
        .expect("autocomplete callback");
    assert_eq!(cb["type"], 8);
    assert_eq!(cb["data"]["choices"][0]["name"], "porque o r2?");

    // A mention: the handler replies with a message reference.
    let (msg_id, msg) = sim
        .message_mentioning_bot(TEXT, "what happened?")
        .in_guild(GUILD)
        .author(4242)
        .build();
    sim.dispatch_message_create(msg)
        .await
        .expect("dispatch message");
    let body = sim
        .wait_channel_message(TEXT, T)
        .await
        .expect("reply posted");
    assert_eq!(
        body["message_reference"]["message_id"],
        json!(msg_id.to_string())
    );
    assert_eq!(
        body["content"],
        json!(format!(
            "you said: <@{}> what happened?",
            sim.config().bot_user_id
        ))
    );

    // A DM slash command (user instead of member) and a plain DM message.
    let dm_id = sim
        .slash_command("why-r2-delayed")
        .option("question", json!("in a DM"))
        .dm()
        .send()
        .await
        .expect("dispatch DM command");
    let cb = sim
        .wait_callback(dm_id, T)
        .await
        .expect("DM command answered");
    assert_eq!(cb["data"]["content"], "answer to: in a DM [en-US]");
    sim.message(sim.config().dm_channel_id, "plain DM, no mention")
        .send()
        .await
        .expect("dispatch DM message");

    // Heartbeats flow with the short interval.
    sim.wait_heartbeats(2, T).await.expect("heartbeats");

    // op 7 RECONNECT -> serenity RESUMEs on a new connection; the next interaction is answered
    // exactly once.
    let connections = sim.connection_count();
    sim.send_reconnect().expect("send op 7");
    let resume = sim
        .wait_resume_count(1, T)
        .await
        .expect("RESUME after op 7");
    assert_eq!(sim.identifies().len(), 1, "resumed, not re-identified");
    assert!(sim.connection_count() > connections);
    assert_eq!(resume.replayed, 0);
    let id3 = sim
        .slash_command("why-r2-delayed")
        .option("question", json!("after resume"))
        .send()
        .await
        .expect("dispatch after resume");
    let cb = sim
        .wait_callback(id3, T)
        .await
        .expect("answered after resume");
    assert_eq!(cb["data"]["content"], "answer to: after resume [en-US]");

    // Close 4000 and dispatch while the client is away: replayed on RESUME, answered once.
    // Handshakes are held so the client cannot resume before the dispatch.
    sim.hold_handshakes(true);
    sim.close_gateway(4000, "simulated failure").expect("close");
    let id4 = sim
        .slash_command("why-r2-delayed")
        .option("question", json!("replayed"))
        .send()
        .await
        .expect("dispatch during reconnect");
    sim.hold_handshakes(false);
    let resume = sim
        .wait_resume_count(2, T)
        .await
        .expect("RESUME after close");
    sim.wait_callback(id4, T)
        .await
        .expect("replayed interaction answered");
    assert_eq!(
        resume.replayed,
        1,
        "the interaction sent while disconnected was replayed: {resume:?}; resumes: {:?}; \
         closes: {:?}; frames: {:?}",
        sim.resumes(),
        sim.server_closes(),
        sim.gateway_received()
            .iter()
            .map(|f| (f.connection_id % 1000, f.op, f.since_start.as_millis()))
            .collect::<Vec<_>>()
    );

    // op 9 with d=true -> RESUME again.
    sim.invalidate_session(true).expect("op 9");
    sim.wait_resume_count(3, T)
        .await
        .expect("RESUME after op 9 true");
    let id5 = sim
        .slash_command("why-r2-delayed")
        .option("question", json!("after op 9"))
        .send()
        .await
        .expect("dispatch");
    sim.wait_callback(id5, T)
        .await
        .expect("answered after op 9");

    // Let any duplicate delivery surface, then check "exactly once" everywhere.
    tokio::time::sleep(Duration::from_millis(300)).await;
    for i in [id, id2, id3, id4, id5, ac_id, dm_id] {
        assert_eq!(
            sim.callbacks(i).len(),
            1,
            "interaction {i} answered exactly once"
        );
    }
    assert_eq!(seen.commands.load(Ordering::SeqCst), 6);
    assert_eq!(seen.autocompletes.load(Ordering::SeqCst), 1);
    assert_eq!(seen.ready.load(Ordering::SeqCst), 1);
    assert_eq!(seen.messages.load(Ordering::SeqCst), 2);
    assert!(
        seen.errors().is_empty(),
        "handler errors: {:?}",
        seen.errors()
    );
    assert!(
        sim.unknown_routes().is_empty(),
        "unknown routes: {:?}",
        sim.unknown_routes()
    );
    assert!(
        sim.internal_errors().is_empty(),
        "{:?}",
        sim.internal_errors()
    );
    assert!(
        sim.requests().iter().all(|r| r.accepted()),
        "every request accepted: {:?}",
        sim.requests()
            .iter()
            .filter(|r| !r.accepted())
            .collect::<Vec<_>>()
    );
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_token_fails_with_authentication_error() {
    init_tracing();
    let sim = Simulator::start(fast_config()).await;
    let (task, _seen) = start_bot(&sim, "not-the-token", false).await;
    let result = tokio::time::timeout(T, task)
        .await
        .expect("client.start() returns instead of hanging")
        .expect("client task did not panic");
    match result {
        Err(serenity::Error::Gateway(serenity::gateway::GatewayError::InvalidAuthentication)) => {}
        other => panic!("expected an authentication error, got {other:?}"),
    }
    assert_eq!(sim.auth_failures(), 1);
    assert_eq!(sim.server_closes()[0].code, 4004);
    assert!(sim.identifies().is_empty());

    // REST with a wrong token is 401, with the right one 200.
    let err = sim
        .http_with_token("not-the-token")
        .get_current_user()
        .await
        .expect_err("401");
    assert!(format!("{err:?}").contains("401"), "{err:?}");
    let me = sim.http().get_current_user().await.expect("GET /users/@me");
    assert_eq!(me.id.get(), sim.config().bot_user_id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_faults_validation_and_unknown_routes() {
    init_tracing();
    let sim = Simulator::start(fast_config()).await;
    add_channels(&sim);
    let http = sim.http();
    let channel = serenity::all::ChannelId::new(TEXT);

    sim.add_channel(Channel {
        id: THREAD + 1,
        kind: ChannelKind::PrivateThread { parent: TEXT },
        guild_id: Some(GUILD),
    });

    // GET /channels/{id} from the registry.
    let ch = http
        .get_channel(serenity::all::ChannelId::new(THREAD))
        .await
        .expect("thread");
    let gc = ch.guild().expect("guild channel");
    assert_eq!(gc.kind, serenity::all::ChannelType::PublicThread);
    assert_eq!(gc.parent_id, Some(channel));
    let private = http
        .get_channel(serenity::all::ChannelId::new(THREAD + 1))
        .await
        .expect("private thread");
    assert_eq!(
        private.guild().expect("guild channel").kind,
        serenity::all::ChannelType::PrivateThread
    );
    let dm = http
        .get_channel(serenity::all::ChannelId::new(sim.config().dm_channel_id))
        .await
        .expect("DM channel");
    assert_eq!(
        dm.private().expect("private channel").recipient.id.get(),
        sim.config().user_id
    );
    let unknown_ch = http.get_channel(serenity::all::ChannelId::new(5)).await;
    assert!(
        format!("{unknown_ch:?}").contains("10003"),
        "{unknown_ch:?}"
    );

    // 500 once, then normal.
    sim.fail_next("POST", "/channels/*/messages", 1, Fault::Status(500));
    let r = channel.say(&http, "first").await;
    assert!(format!("{r:?}").contains("500"), "{r:?}");
    let m = channel
        .say(&http, "second")
        .await
        .expect("second send works");
    assert_eq!(m.content, "second");

    // 429 with retry_after JSON and headers.
    sim.fail_next(
        "*",
        "/api/v10/channels/**",
        1,
        Fault::RateLimited {
            retry_after: 1.5,
            global: false,
        },
    );
    let r = channel.say(&http, "limited").await;
    match r {
        Err(serenity::Error::Http(serenity::http::HttpError::UnsuccessfulRequest(e))) => {
            assert_eq!(e.status_code.as_u16(), 429);
        }
        other => panic!("expected 429, got {other:?}"),
    }
    let limited = sim
        .requests()
        .into_iter()
        .find(|r| r.status == Some(429))
        .expect("429 recorded");
    assert_eq!(limited.response["retry_after"], 1.5);
    assert_eq!(limited.body["content"], "limited");

    // Hang: never answers until released.
    sim.fail_next("POST", "/channels/*/messages", 1, Fault::Hang);
    let hung = tokio::time::timeout(Duration::from_millis(300), channel.say(&http, "hang")).await;
    assert!(hung.is_err(), "request should hang");
    sim.release_hung();

    // Discord-style validation: empty message, too long content, unknown reply target.
    let r = channel.say(&http, "").await;
    assert!(format!("{r:?}").contains("50006"), "{r:?}");
    let long = "x".repeat(2001);
    let r = http
        .send_message(channel, vec![], &json!({"content": long}))
        .await;
    assert!(format!("{r:?}").contains("50035"), "{r:?}");
    let r = http
        .send_message(
            channel,
            vec![],
            &json!({"content": "hi", "message_reference": {"message_id": "123", "channel_id": TEXT.to_string()}}),
        )
        .await;
    assert!(format!("{r:?}").contains("50035"), "{r:?}");
    let err = sim
        .wait_channel_message(999, Duration::from_millis(100))
        .await;
    assert!(matches!(err, Err(sim::SimError::Timeout { .. })));

    // Invalid command names are rejected like Discord does.
    let bad = vec![CreateCommand::new("Bad Name").description("x")];
    let r = Command::set_global_commands(&http, bad).await;
    assert!(format!("{r:?}").contains("50035"), "{r:?}");

    // Unknown route: 404 JSON, recorded.
    let r = http.get_guild(serenity::all::GuildId::new(GUILD)).await;
    assert!(r.is_err());
    let unknown = sim.unknown_routes();
    assert_eq!(unknown.len(), 1);
    assert_eq!(unknown[0].path, format!("/api/v10/guilds/{GUILD}"));
    assert_eq!(unknown[0].status, Some(404));
    assert_eq!(unknown[0].response["message"], "404: Not Found");

    // Simulator rejects dispatches serenity would drop, with a clear error (no client needed
    // for validation: it runs before looking for a session).
    let bad: Value = json!({"id": "1", "type": 2, "token": "t"});
    let err = sim
        .dispatch_interaction(bad)
        .await
        .expect_err("invalid interaction");
    assert!(err.to_string().contains("would not deserialize"), "{err}");
    assert!(
        sim.internal_errors().is_empty(),
        "{:?}",
        sim.internal_errors()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missed_heartbeat_acks_make_serenity_reidentify() {
    init_tracing();
    let sim = Simulator::start(SimConfig {
        heartbeat_interval: Duration::from_millis(250),
        ..SimConfig::default()
    })
    .await;
    let (task, seen) = start_bot(&sim, sim.token(), false).await;
    let first = sim.wait_ready(T).await.expect("ready");
    sim.wait_heartbeats(1, T).await.expect("heartbeat");
    sim.set_heartbeat_ack(false);
    // serenity's restart path waits ~5 s for its own shard runner before re-identifying.
    let second = sim
        .wait_identify_count(2, Duration::from_secs(15))
        .await
        .expect("re-identify after zombie connection");
    assert_ne!(first.session_id, second.session_id);
    assert_ne!(first.connection_id, second.connection_id);
    sim.set_heartbeat_ack(true);
    let id = sim
        .slash_command("why-r2-delayed")
        .option("question", json!("new session"))
        .send()
        .await
        .expect("dispatch on new session");
    sim.wait_callback(id, T)
        .await
        .expect("answered on new session");
    assert_eq!(seen.ready.load(Ordering::SeqCst), 2);
    assert!(seen.errors().is_empty(), "{:?}", seen.errors());
    task.abort();
}
