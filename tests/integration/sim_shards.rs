//! Sharding in the loopback Discord simulator (crates/discord-sim), proven with bare serenity 0.12.5
//! clients (a minimal EventHandler defined here, not the project's bot):
//! - two clients ("processes") running shard 0 and shard 1 of 2 each IDENTIFY with their shard,
//!   get a READY listing only their guilds, and each answers only its guilds' interactions and
//!   messages (DMs go to shard 0), exactly once; RESUME and replay are per shard;
//! - `start_autosharded` follows `SimConfig::shards` from `GET /gateway/bot`;
//! - serenity's `start_shard_range(a..b, n)` boots shards `a..=b` (the end is inclusive);
//! - invalid shard (4010) and "sharding required" (4011) closes.
//!
//! serenity's shard queuer waits 5 s between two IDENTIFYs of the same client, so the tests
//! that run two shards in one client take a little over 5 s (the tests run in parallel).

use discord_sim as sim;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use serenity::all::{
    Context, CreateInteractionResponse, CreateInteractionResponseMessage, CreateMessage,
    EventHandler, GatewayIntents, Interaction, Message, Ready,
};
use sim::{guilds_on_shard, shard_for_guild, Channel, ChannelKind, Route, SimConfig, SimError};
use sim::{IdentifyInfo, Simulator};

const T: Duration = Duration::from_secs(10);
/// Long enough for serenity's 5 s pause between two shard boots in one client.
const T_SECOND_SHARD: Duration = Duration::from_secs(12);

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

/// What one client saw.
#[derive(Default)]
struct Seen {
    /// (shard id, shard total, guild ids) of every READY.
    readies: Mutex<Vec<(u32, u32, Vec<u64>)>>,
    /// (interaction id, shard id of the context) of every command interaction.
    interactions: Mutex<Vec<(u64, u32)>>,
    /// Ids of the messages it received (bots' own messages excluded).
    messages: Mutex<Vec<u64>>,
    errors: Mutex<Vec<String>>,
}

impl Seen {
    fn readies(&self) -> Vec<(u32, u32, Vec<u64>)> {
        self.readies.lock().expect("lock").clone()
    }

    fn interactions(&self) -> Vec<(u64, u32)> {
        self.interactions.lock().expect("lock").clone()
    }

    fn messages(&self) -> Vec<u64> {
        self.messages.lock().expect("lock").clone()
    }

    fn errors(&self) -> Vec<String> {
        self.errors.lock().expect("lock").clone()
    }
}

/// Answers every command with `"{name}/shard {id}: {question}"`.
struct Handler {
    name: &'static str,
    seen: Arc<Seen>,
}

#[serenity::async_trait]
impl EventHandler for Handler {
    async fn ready(&self, _ctx: Context, ready: Ready) {
        let (id, total) = ready.shard.map_or((0, 1), |s| (s.id.0, s.total));
        let mut guilds: Vec<u64> = ready.guilds.iter().map(|g| g.id.get()).collect();
        guilds.sort_unstable();
        self.seen
            .readies
            .lock()
            .expect("lock")
            .push((id, total, guilds));
    }

    async fn interaction_create(&self, ctx: Context, interaction: Interaction) {
        let Interaction::Command(cmd) = interaction else {
            self.seen
                .errors
                .lock()
                .expect("lock")
                .push("unexpected interaction kind".into());
            return;
        };
        self.seen
            .interactions
            .lock()
            .expect("lock")
            .push((cmd.id.get(), ctx.shard_id.0));
        let question = cmd
            .data
            .options
            .first()
            .and_then(|o| o.value.as_str())
            .unwrap_or("")
            .to_string();
        let msg = CreateInteractionResponseMessage::new().content(format!(
            "{}/shard {}: {question}",
            self.name, ctx.shard_id.0
        ));
        if let Err(e) = cmd
            .create_response(&ctx, CreateInteractionResponse::Message(msg))
            .await
        {
            self.seen
                .errors
                .lock()
                .expect("lock")
                .push(format!("create_response: {e:?}"));
        }
    }

    async fn message(&self, ctx: Context, msg: Message) {
        if msg.author.bot {
            return;
        }
        self.seen.messages.lock().expect("lock").push(msg.id.get());
        let reply = CreateMessage::new()
            .content(format!("{}/shard {} heard you", self.name, ctx.shard_id.0))
            .reference_message(&msg);
        if let Err(e) = msg.channel_id.send_message(&ctx, reply).await {
            self.seen
                .errors
                .lock()
                .expect("lock")
                .push(format!("send_message: {e:?}"));
        }
    }
}

type ClientTask = tokio::task::JoinHandle<serenity::Result<()>>;

/// Build a bare serenity client against the simulator and run `start` on it in a task.
async fn start_client<F>(sim: &Simulator, name: &'static str, start: F) -> (ClientTask, Arc<Seen>)
where
    F: FnOnce(
            serenity::Client,
        )
            -> std::pin::Pin<Box<dyn std::future::Future<Output = serenity::Result<()>> + Send>>
        + Send
        + 'static,
{
    let seen = Arc::new(Seen::default());
    let http = serenity::http::HttpBuilder::new(sim.token())
        .proxy(sim.api_base())
        .ratelimiter_disabled(true)
        .build();
    let client = serenity::client::ClientBuilder::new_with_http(http, intents())
        .event_handler(Handler {
            name,
            seen: seen.clone(),
        })
        .await
        .expect("serenity client builds");
    (tokio::spawn(start(client)), seen)
}

/// A simulator whose READY lists two guilds per shard of 2, with one text channel per guild.
/// Returns the simulator, `[shard 0 guilds, shard 1 guilds]` and `[channel of guilds[0][0],
/// channel of guilds[1][0]]`.
async fn two_shard_sim(shards: u32) -> (Simulator, [Vec<u64>; 2], [u64; 2]) {
    let g0 = guilds_on_shard(0, 2, 2);
    let g1 = guilds_on_shard(1, 2, 2);
    let sim = Simulator::start(SimConfig {
        heartbeat_interval: Duration::from_millis(400),
        guilds: vec![g0[0], g1[0], g0[1], g1[1]],
        shards,
        ..SimConfig::default()
    })
    .await;
    let channels = [810_000_000_000_000_300, 810_000_000_000_000_301];
    for (ch, g) in channels.iter().zip([g0[0], g1[0]]) {
        sim.add_channel(Channel {
            id: *ch,
            kind: ChannelKind::Text,
            guild_id: Some(g),
        });
    }
    (sim, [g0, g1], channels)
}

async fn ask(sim: &Simulator, guild: u64, channel: u64, question: &str) -> u64 {
    sim.slash_command("ask")
        .option("question", json!(question))
        .guild(guild)
        .channel(channel)
        .send()
        .await
        .unwrap_or_else(|e| panic!("dispatch {question:?}: {e}"))
}

async fn answer(sim: &Simulator, id: u64) -> String {
    let cb = sim
        .wait_callback(id, T)
        .await
        .unwrap_or_else(|e| panic!("interaction {id} answered: {e}"));
    assert_eq!(cb["type"], 4);
    cb["data"]["content"]
        .as_str()
        .expect("content is a string")
        .to_string()
}

fn ids(v: &[(u64, u32)]) -> Vec<u64> {
    let mut ids: Vec<u64> = v.iter().map(|(id, _)| *id).collect();
    ids.sort_unstable();
    ids
}

fn sorted(mut v: Vec<u64>) -> Vec<u64> {
    v.sort_unstable();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_processes_each_answer_only_their_shard() {
    init_tracing();
    let (sim, [g0, g1], [c0, c1]) = two_shard_sim(1).await;
    assert_eq!(shard_for_guild(g0[0], 2), 0);
    assert_eq!(shard_for_guild(g0[1], 2), 0);
    assert_eq!(shard_for_guild(g1[0], 2), 1);
    assert_eq!(shard_for_guild(g1[1], 2), 1);

    // Process A runs shard 0 of 2. serenity's range end is inclusive: 0..0 is "shard 0 only".
    let (task_a, seen_a) = start_client(&sim, "A", |mut c| {
        Box::pin(async move { c.start_shard_range(0..0, 2).await })
    })
    .await;
    let ident_a = sim
        .wait_ready_shard(0, T)
        .await
        .expect("shard 0 identifies");
    assert_eq!(ident_a.shard, Some([0, 2]));

    // Shard 1 has no session yet: an event of its guild fails clearly instead of hanging.
    let (_, orphan) = sim
        .slash_command("ask")
        .option("question", json!("nobody home"))
        .guild(g1[0])
        .channel(c1)
        .build();
    match sim.dispatch_interaction(orphan).await {
        Err(SimError::NoShardSession {
            shard: 1,
            total: 2,
            guild_id,
            identified,
        }) => {
            assert_eq!(guild_id, Some(g1[0]));
            assert_eq!(identified, vec![[0, 2]]);
        }
        other => panic!("expected NoShardSession for shard 1, got {other:?}"),
    }
    assert_eq!(sim.route_of(Some(g0[0])).expect("route"), [0, 2]);

    // Process B runs shard 1 of 2.
    let (task_b, seen_b) = start_client(&sim, "B", |mut c| {
        Box::pin(async move { c.start_shard_range(1..1, 2).await })
    })
    .await;
    let ident_b = sim
        .wait_ready_shard(1, T)
        .await
        .expect("shard 1 identifies");
    assert_eq!(ident_b.shard, Some([1, 2]));
    assert_ne!(ident_a.session_id, ident_b.session_id);
    assert_ne!(ident_a.connection_id, ident_b.connection_id);
    assert_eq!(sim.identifies().len(), 2);
    assert_eq!(sim.route_of(Some(g1[1])).expect("route"), [1, 2]);
    assert_eq!(sim.route_of(None).expect("DM route"), [0, 2]);

    // Each READY listed only that shard's guilds and carried the shard.
    let sessions = sim.sessions();
    assert_eq!(sessions.len(), 2);
    assert_eq!(sessions[0].shard, Some([0, 2]));
    assert_eq!(sessions[0].guilds, vec![g0[0], g0[1]]);
    assert_eq!(sessions[1].shard, Some([1, 2]));
    assert_eq!(sessions[1].guilds, vec![g1[0], g1[1]]);
    assert!(sessions.iter().all(|s| s.routed && s.valid));
    assert_ne!(
        sessions[0].resume_gateway_url,
        sessions[1].resume_gateway_url
    );
    assert_eq!(
        sessions[1].resume_gateway_url,
        format!("{}/shard-1-2", sim.gateway_url())
    );
    // The handlers run after READY is parsed; wait for both.
    for _ in 0..50 {
        if !seen_a.readies().is_empty() && !seen_b.readies().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(seen_a.readies(), vec![(0, 2, sorted(g0.clone()))]);
    assert_eq!(seen_b.readies(), vec![(1, 2, sorted(g1.clone()))]);

    // Interactions: each guild's goes to its shard's process only.
    let ix_a = ask(&sim, g0[0], c0, "for shard zero").await;
    let ix_b = ask(&sim, g1[0], c1, "for shard one").await;
    assert_eq!(answer(&sim, ix_a).await, "A/shard 0: for shard zero");
    assert_eq!(answer(&sim, ix_b).await, "B/shard 1: for shard one");
    // The second guild of each shard, with only `.guild()` (default channel): the builder's
    // payload is accepted by serenity and routed by its guild.
    let ix_a2 = sim
        .slash_command("ask")
        .option("question", json!("second guild of shard zero"))
        .guild(g0[1])
        .send()
        .await
        .expect("dispatch to g0[1]");
    let ix_b2 = sim
        .slash_command("ask")
        .option("question", json!("second guild of shard one"))
        .guild(g1[1])
        .send()
        .await
        .expect("dispatch to g1[1]");
    assert_eq!(
        answer(&sim, ix_a2).await,
        "A/shard 0: second guild of shard zero"
    );
    assert_eq!(
        answer(&sim, ix_b2).await,
        "B/shard 1: second guild of shard one"
    );
    // A DM goes to shard 0.
    let ix_dm = sim
        .slash_command("ask")
        .option("question", json!("in a DM"))
        .dm()
        .send()
        .await
        .expect("dispatch DM");
    assert_eq!(answer(&sim, ix_dm).await, "A/shard 0: in a DM");

    // Messages follow the same rule.
    let m1 = sim
        .message_mentioning_bot(c1, "hello shard one")
        .author(4242)
        .send()
        .await
        .expect("dispatch message in g1");
    let reply = sim.wait_channel_message(c1, T).await.expect("reply in c1");
    assert_eq!(reply["content"], "B/shard 1 heard you");
    assert_eq!(reply["message_reference"]["message_id"], m1.to_string());
    let m0 = sim
        .message(c0, "hello shard zero")
        .in_guild(g0[0])
        .author(4242)
        .send()
        .await
        .expect("dispatch message in g0");
    let reply = sim.wait_channel_message(c0, T).await.expect("reply in c0");
    assert_eq!(reply["content"], "A/shard 0 heard you");

    // Fault hooks per shard: op 7 on shard 1 only -> B resumes its own session; A untouched.
    let seq_a = sim.sessions()[0].seq;
    sim.send_reconnect_shard(1).expect("op 7 to shard 1");
    let resume = sim.wait_resume_count(1, T).await.expect("shard 1 resumes");
    assert_eq!(resume.shard, Some([1, 2]));
    assert_eq!(resume.session_id, ident_b.session_id);
    assert_eq!(resume.replayed, 0);
    let ix_b3 = ask(&sim, g1[0], c1, "after resume").await;
    assert_eq!(answer(&sim, ix_b3).await, "B/shard 1: after resume");

    // Shard 1 away: its events wait in its session log while shard 0 keeps working, then are
    // replayed on RESUME of the right session.
    sim.hold_handshakes(true);
    sim.close_gateway_shard(1, 4000, "simulated failure")
        .expect("close shard 1");
    let ix_b4 = ask(&sim, g1[0], c1, "while away").await;
    let ix_a3 = ask(&sim, g0[0], c0, "meanwhile").await;
    assert_eq!(answer(&sim, ix_a3).await, "A/shard 0: meanwhile");
    sim.hold_handshakes(false);
    let resume = sim.wait_resume_count(2, T).await.expect("shard 1 resumes");
    assert_eq!(resume.session_id, ident_b.session_id);
    assert_eq!(resume.replayed, 1, "the interaction sent while away");
    assert_eq!(answer(&sim, ix_b4).await, "B/shard 1: while away");
    assert_eq!(
        sim.resumes().len(),
        2,
        "shard 0 never resumed: {:?}",
        sim.resumes()
    );
    let sessions = sim.sessions();
    assert_eq!(
        sessions[0].connection_id,
        Some(ident_a.connection_id),
        "shard 0 kept its connection"
    );
    assert!(sessions[0].seq > seq_a);

    // Exactly once, by the right process.
    tokio::time::sleep(Duration::from_millis(300)).await;
    for id in [ix_a, ix_b, ix_a2, ix_b2, ix_dm, ix_b3, ix_b4, ix_a3] {
        assert_eq!(sim.callbacks(id).len(), 1, "interaction {id} answered once");
    }
    assert_eq!(
        ids(&seen_a.interactions()),
        sorted(vec![ix_a, ix_a2, ix_dm, ix_a3])
    );
    assert!(seen_a.interactions().iter().all(|(_, s)| *s == 0));
    assert_eq!(
        ids(&seen_b.interactions()),
        sorted(vec![ix_b, ix_b2, ix_b3, ix_b4])
    );
    assert!(seen_b.interactions().iter().all(|(_, s)| *s == 1));
    assert_eq!(seen_a.messages(), vec![m0]);
    assert_eq!(seen_b.messages(), vec![m1]);
    assert_eq!(sim.identifies().len(), 2, "nobody re-identified");
    assert!(seen_a.errors().is_empty(), "A: {:?}", seen_a.errors());
    assert!(seen_b.errors().is_empty(), "B: {:?}", seen_b.errors());
    assert!(
        sim.unknown_routes().is_empty(),
        "{:?}",
        sim.unknown_routes()
    );
    assert!(
        sim.internal_errors().is_empty(),
        "{:?}",
        sim.internal_errors()
    );
    assert!(
        sim.requests().iter().all(|r| r.accepted()),
        "{:?}",
        sim.requests()
            .iter()
            .filter(|r| !r.accepted())
            .collect::<Vec<_>>()
    );
    task_a.abort();
    task_b.abort();
}

fn assert_one_client_runs_both_shards(identifies: &[IdentifyInfo]) {
    assert_eq!(identifies.len(), 2);
    assert_eq!(identifies[0].shard, Some([0, 2]));
    assert_eq!(identifies[1].shard, Some([1, 2]));
    assert_ne!(identifies[0].session_id, identifies[1].session_id);
    assert_ne!(identifies[0].connection_id, identifies[1].connection_id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn autosharded_client_runs_the_recommended_shards() {
    init_tracing();
    let (sim, [g0, g1], [c0, c1]) = two_shard_sim(2).await;
    let (task, seen) = start_client(&sim, "auto", |mut c| {
        Box::pin(async move { c.start_autosharded().await })
    })
    .await;
    let shards = sim
        .wait_shards_ready(2, T_SECOND_SHARD)
        .await
        .expect("both shards identify");
    assert_one_client_runs_both_shards(&shards);
    let gw = sim
        .wait_request(T, |r| r.route == Route::GatewayBot)
        .await
        .expect("GET /gateway/bot");
    assert_eq!(gw.response["shards"], 2);

    let ix0 = ask(&sim, g0[0], c0, "zero").await;
    let ix1 = ask(&sim, g1[0], c1, "one").await;
    assert_eq!(answer(&sim, ix0).await, "auto/shard 0: zero");
    assert_eq!(answer(&sim, ix1).await, "auto/shard 1: one");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(sim.callbacks(ix0).len(), 1);
    assert_eq!(sim.callbacks(ix1).len(), 1);
    let mut by_shard = seen.interactions();
    by_shard.sort_by_key(|(_, s)| *s);
    assert_eq!(by_shard, vec![(ix0, 0), (ix1, 1)]);
    let mut readies = seen.readies();
    readies.sort();
    assert_eq!(
        readies,
        vec![(0, 2, sorted(g0.clone())), (1, 2, sorted(g1.clone()))]
    );
    assert!(seen.errors().is_empty(), "{:?}", seen.errors());
    assert!(
        sim.internal_errors().is_empty(),
        "{:?}",
        sim.internal_errors()
    );
    task.abort();
}

/// serenity 0.12.5 passes `range.end` as the *last* shard to boot: `start_shard_range(0..1, 2)`
/// runs shards 0 and 1 (so "0..1 and 1..2" in two processes would boot shard 1 twice and the
/// invalid shard 2).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn serenity_shard_range_end_is_inclusive() {
    init_tracing();
    let (sim, [_, g1], [_, c1]) = two_shard_sim(1).await;
    let (task, seen) = start_client(&sim, "range", |mut c| {
        Box::pin(async move { c.start_shard_range(0..1, 2).await })
    })
    .await;
    let shards = sim
        .wait_shards_ready(2, T_SECOND_SHARD)
        .await
        .expect("0..1 boots shards 0 and 1");
    assert_one_client_runs_both_shards(&shards);
    let ix = ask(&sim, g1[0], c1, "one").await;
    assert_eq!(answer(&sim, ix).await, "range/shard 1: one");
    assert_eq!(seen.interactions(), vec![(ix, 1)]);
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn invalid_shard_and_sharding_required_close_codes() {
    init_tracing();
    // A short heartbeat interval: serenity's runners of the aborted clients are otherwise only
    // torn down at their next heartbeat tick (41 s by default), which delays the test's end.
    let fast = Duration::from_millis(400);
    // Shard id >= total: 4010.
    let sim = Simulator::start(SimConfig {
        heartbeat_interval: fast,
        ..SimConfig::default()
    })
    .await;
    let (task, _) = start_client(&sim, "bad-shard", |mut c| {
        Box::pin(async move { c.start_shard(2, 2).await })
    })
    .await;
    let close = sim
        .wait_server_close(4010, T)
        .await
        .expect("4010 for shard [2, 2]");
    assert_eq!(close.reason, "Invalid shard.");
    task.abort();
    assert!(sim.identifies().is_empty());
    let sent = sim.gateway_received();
    let identify = sent.iter().find(|f| f.op == 2).expect("IDENTIFY recorded");
    assert_eq!(identify.d["shard"], json!([2, 2]));

    // Fewer shards than required: 4011 (only with `require_sharding`).
    let sim = Simulator::start(SimConfig {
        heartbeat_interval: fast,
        shards: 2,
        require_sharding: true,
        ..SimConfig::default()
    })
    .await;
    let (task, _) = start_client(&sim, "unsharded", |mut c| {
        Box::pin(async move { c.start().await })
    })
    .await;
    let close = sim
        .wait_server_close(4011, T)
        .await
        .expect("4011 for shard [0, 1]");
    assert_eq!(close.reason, "Sharding required.");
    task.abort();
    assert!(sim.identifies().is_empty());
    match sim.slash_command("ask").send().await {
        Err(SimError::NoSession) => {}
        other => panic!("expected NoSession, got {other:?}"),
    }
}
