//! The axum app: REST under `/api/v10/...` and the gateway websocket at `/gateway`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, Request, State as AxState};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::any;
use axum::Router;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use super::payloads::{self, id_field};
use super::validate::{self, FieldError};
use super::{
    CloseInfo, ConnCmd, ConnState, Fault, GatewayFrame, IdentifyInfo, Inner, Recorded, ResumeInfo,
    Route, Session, State,
};

pub(crate) fn router(inner: Arc<Inner>) -> Router {
    Router::new()
        .route("/gateway", any(ws_handler))
        // Per-shard `resume_gateway_url`s (`/gateway/shard-{id}-{total}`) land here too.
        .route("/gateway/{*rest}", any(ws_handler))
        .fallback(rest_handler)
        .with_state(inner)
}

// =============================================================================================
// Gateway
// =============================================================================================

async fn ws_handler(
    AxState(inner): AxState<Arc<Inner>>,
    Query(query): Query<HashMap<String, String>>,
    ws: WebSocketUpgrade,
) -> Response {
    ws.max_message_size(16 << 20)
        .on_upgrade(move |socket| connection(inner, socket, query))
}

enum Next {
    Continue,
    Close(u16, String),
}

struct Conn {
    id: u64,
    identified: bool,
    inner: Arc<Inner>,
    tx: mpsc::UnboundedSender<ConnCmd>,
}

async fn send_text(socket: &mut WebSocket, text: String) -> bool {
    socket.send(Message::Text(text.into())).await.is_ok()
}

async fn close_socket(
    inner: &Inner,
    conn_id: u64,
    socket: &mut WebSocket,
    code: u16,
    reason: &str,
) {
    inner.lock().server_closes.push(CloseInfo {
        connection_id: conn_id,
        code,
        reason: reason.to_string(),
    });
    inner.bump();
    let _ = socket
        .send(Message::Close(Some(CloseFrame {
            code,
            reason: reason.to_string().into(),
        })))
        .await;
    // Drive the close handshake (the client answers with its own close frame).
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        while let Some(Ok(m)) = socket.recv().await {
            if matches!(m, Message::Close(_)) {
                break;
            }
        }
    })
    .await;
}

async fn connection(inner: Arc<Inner>, mut socket: WebSocket, query: HashMap<String, String>) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let id = inner.next_id();
    {
        let mut st = inner.lock();
        st.connections_total += 1;
        st.conns.insert(
            id,
            ConnState {
                tx: tx.clone(),
                session: None,
            },
        );
    }
    inner.bump();
    tracing::debug!("discord simulator: gateway connection {id} opened ({query:?})");

    let mut conn = Conn {
        id,
        identified: false,
        inner: inner.clone(),
        tx,
    };

    let version_ok = query.get("v").is_none_or(|v| v == "10");
    if !version_ok {
        close_socket(&inner, id, &mut socket, 4012, "Invalid API version").await;
    } else {
        let hello = json!({
            "op": 10,
            "s": null,
            "t": null,
            "d": {
                "heartbeat_interval": inner.cfg.heartbeat_interval.as_millis() as u64,
                "_trace": ["[\"discord-simulator\",{\"micros\":0}]"],
            },
        })
        .to_string();
        if let Err(e) = validate::check_frame(&hello) {
            inner.internal_error(format!("HELLO frame invalid: {e}"));
        }
        if send_text(&mut socket, hello).await {
            loop {
                tokio::select! {
                    cmd = rx.recv() => match cmd {
                        Some(ConnCmd::Text(t)) => {
                            if !send_text(&mut socket, t).await {
                                break;
                            }
                        }
                        Some(ConnCmd::Close(code, reason)) => {
                            close_socket(&inner, id, &mut socket, code, &reason).await;
                            break;
                        }
                        Some(ConnCmd::Handshake(op, d)) => match conn.handshake(op, &d) {
                            Next::Continue => inner.bump(),
                            Next::Close(code, reason) => {
                                close_socket(&inner, id, &mut socket, code, &reason).await;
                                break;
                            }
                        },
                        Some(ConnCmd::Drop) | None => break,
                    },
                    msg = socket.recv() => match msg {
                        None | Some(Err(_)) => break,
                        Some(Ok(Message::Text(t))) => match conn.handle(t.as_str()) {
                            Next::Continue => {}
                            Next::Close(code, reason) => {
                                close_socket(&inner, id, &mut socket, code, &reason).await;
                                break;
                            }
                        },
                        Some(Ok(Message::Binary(_))) => {
                            close_socket(&inner, id, &mut socket, 4002, "Error while decoding payload.").await;
                            break;
                        }
                        Some(Ok(Message::Close(_))) => {
                            // Flush tungstenite's queued close reply: serenity waits for it.
                            let _ = tokio::time::timeout(Duration::from_secs(1), socket.recv()).await;
                            break;
                        }
                        Some(Ok(_)) => {}
                    },
                }
            }
        }
    }

    {
        let mut st = inner.lock();
        if let Some(c) = st.conns.remove(&id) {
            if let Some(sid) = c.session {
                if let Some(s) = st.sessions.get_mut(&sid) {
                    if s.conn == Some(id) {
                        s.conn = None;
                    }
                }
            }
        }
    }
    inner.bump();
    tracing::debug!("discord simulator: gateway connection {id} closed");
}

fn redact(mut d: Value) -> Value {
    if let Some(t) = d.get_mut("token") {
        *t = json!("<redacted>");
    }
    d
}

impl Conn {
    fn token_ok(&self, d: &Value) -> bool {
        let expected = &self.inner.cfg.token;
        match d.get("token").and_then(Value::as_str) {
            // serenity sends the HTTP token, which it prefixes with "Bot ".
            Some(t) => t == expected || t.strip_prefix("Bot ") == Some(expected.as_str()),
            None => false,
        }
    }

    fn handle(&mut self, text: &str) -> Next {
        let Ok(v) = serde_json::from_str::<Value>(text) else {
            return Next::Close(4002, "Error while decoding payload.".into());
        };
        let Some(op) = v.get("op").and_then(Value::as_u64) else {
            return Next::Close(4002, "Error while decoding payload.".into());
        };
        let d = v.get("d").cloned().unwrap_or(Value::Null);
        {
            let mut st = self.inner.lock();
            st.gateway_received.push(GatewayFrame {
                connection_id: self.id,
                op,
                d: if op == 2 || op == 6 {
                    redact(d.clone())
                } else {
                    d.clone()
                },
                since_start: self.inner.started.elapsed(),
            });
        }
        let next = match op {
            1 => self.heartbeat(),
            2 | 6 => {
                let mut st = self.inner.lock();
                if st.hold_handshakes {
                    st.held_handshakes.push((self.id, op, d));
                    Next::Continue
                } else {
                    drop(st);
                    self.handshake(op, &d)
                }
            }
            3 | 4 | 8 | 31 if self.identified => Next::Continue,
            3 | 4 | 8 | 31 => Next::Close(4003, "Not authenticated.".into()),
            _ => Next::Close(4001, "Unknown opcode.".into()),
        };
        self.inner.bump();
        next
    }

    fn handshake(&mut self, op: u64, d: &Value) -> Next {
        if op == 2 {
            self.identify(d)
        } else {
            self.resume(d)
        }
    }

    fn heartbeat(&mut self) -> Next {
        let mut guard = self.inner.lock();
        let st: &mut State = &mut guard;
        st.heartbeats += 1;
        let sid = st.conns.get(&self.id).and_then(|c| c.session.clone());
        let session = sid.and_then(|sid| st.sessions.get_mut(&sid));
        let shard_id = session.as_ref().map_or(0, |s| s.shard_key()[0]);
        if let Some(s) = session {
            s.heartbeats += 1;
        }
        if !st.no_heartbeat_ack && !st.no_heartbeat_ack_shards.contains(&shard_id) {
            let _ = self.tx.send(ConnCmd::Text(
                r#"{"op":11,"d":null,"s":null,"t":null}"#.into(),
            ));
        }
        Next::Continue
    }

    fn identify(&mut self, d: &Value) -> Next {
        if self.identified {
            return Next::Close(4005, "Already authenticated.".into());
        }
        if !self.token_ok(d) {
            self.inner.lock().auth_failures += 1;
            return Next::Close(4004, "Authentication failed.".into());
        }
        let Some(intents) = d.get("intents").and_then(Value::as_u64) else {
            return Next::Close(4013, "Invalid intent(s).".into());
        };
        if intents >> 26 != 0 {
            return Next::Close(4013, "Invalid intent(s).".into());
        }
        let privileged = intents & super::PRIVILEGED_INTENTS;
        if privileged & !self.inner.cfg.allowed_privileged_intents != 0 {
            return Next::Close(4014, "Disallowed intent(s).".into());
        }
        let shard = match d.get("shard") {
            None | Some(Value::Null) => None,
            Some(s) => match serde_json::from_value::<[u32; 2]>(s.clone()) {
                Ok(s) if s[1] >= 1 && s[0] < s[1] => Some(s),
                _ => return Next::Close(4010, "Invalid shard.".into()),
            },
        };
        let key = shard.unwrap_or([0, 1]);
        if self.inner.cfg.require_sharding && key[1] < self.inner.cfg.shards {
            return Next::Close(4011, "Sharding required.".into());
        }

        let inner = self.inner.clone();
        let session_id = format!(
            "sim{:x}{:x}",
            inner.next_id(),
            inner.started.elapsed().as_nanos()
        );
        // Unsharded sessions resume on the gateway URL itself (as before sharding support);
        // each shard of a sharded bot gets its own URL (served by the same handler).
        let resume_url = if key[1] > 1 {
            format!("{}/shard-{}-{}", inner.gateway_url(), key[0], key[1])
        } else {
            inner.gateway_url()
        };
        let guilds: Vec<u64> = inner
            .cfg
            .guilds
            .iter()
            .copied()
            .filter(|g| super::shard_for_guild(*g, key[1]) == key[0])
            .collect();
        let ready = payloads::ready(&inner.cfg, &session_id, &resume_url, shard, &guilds);
        if let Err(e) = validate::check_dispatch("READY", &ready) {
            inner.internal_error(format!("READY payload invalid: {e}"));
            return Next::Close(4000, "Unknown error.".into());
        }
        let mut st = inner.lock();
        st.sessions.insert(
            session_id.clone(),
            Session {
                id: session_id.clone(),
                seq: 0,
                log: Vec::new(),
                conn: Some(self.id),
                intents,
                valid: true,
                shard,
                guilds,
                resume_url,
                heartbeats: 0,
                created: inner.started.elapsed(),
            },
        );
        if let Some(c) = st.conns.get_mut(&self.id) {
            c.session = Some(session_id.clone());
        }
        st.current_session = Some(session_id.clone());
        st.shard_sessions.insert(key, session_id.clone());
        if let Err(e) = inner.dispatch_to_session(&mut st, &session_id, "READY", ready) {
            drop(st);
            inner.internal_error(format!("could not send READY: {e}"));
            return Next::Close(4000, "Unknown error.".into());
        }
        st.identifies.push(IdentifyInfo {
            intents,
            shard,
            properties: d.get("properties").cloned().unwrap_or(Value::Null),
            compress: d.get("compress").and_then(Value::as_bool),
            large_threshold: d.get("large_threshold").and_then(Value::as_u64),
            presence: d.get("presence").cloned(),
            session_id,
            connection_id: self.id,
            since_start: inner.started.elapsed(),
        });
        self.identified = true;
        Next::Continue
    }

    fn resume(&mut self, d: &Value) -> Next {
        if self.identified {
            return Next::Close(4005, "Already authenticated.".into());
        }
        if !self.token_ok(d) {
            self.inner.lock().auth_failures += 1;
            return Next::Close(4004, "Authentication failed.".into());
        }
        let sid = d
            .get("session_id")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let client_seq = d.get("seq").and_then(Value::as_u64).unwrap_or(0);
        let inner = self.inner.clone();
        let mut guard = inner.lock();
        let st: &mut State = &mut guard;
        let valid = st.sessions.get(&sid).is_some_and(|s| s.valid);
        if !valid {
            let _ = self.tx.send(ConnCmd::Text(
                r#"{"op":9,"d":false,"s":null,"t":null}"#.into(),
            ));
            return Next::Continue;
        }
        let Some(session) = st.sessions.get_mut(&sid) else {
            return Next::Continue;
        };
        if client_seq > session.seq {
            return Next::Close(4007, "Invalid seq.".into());
        }
        let old = session.conn.replace(self.id);
        let replay: Vec<String> = session
            .log
            .iter()
            .filter(|(s, _)| *s > client_seq)
            .map(|(_, f)| f.clone())
            .collect();
        let replayed = replay.len();
        for f in replay {
            let _ = self.tx.send(ConnCmd::Text(f));
        }
        if let Some(old) = old.filter(|o| *o != self.id) {
            if let Some(c) = st.conns.get_mut(&old) {
                c.session = None;
                let _ = c.tx.send(ConnCmd::Drop);
            }
        }
        if let Some(c) = st.conns.get_mut(&self.id) {
            c.session = Some(sid.clone());
        }
        st.current_session = Some(sid.clone());
        let shard = st.sessions.get(&sid).and_then(|s| s.shard);
        st.shard_sessions
            .insert(shard.unwrap_or([0, 1]), sid.clone());
        if let Err(e) = inner.dispatch_to_session(st, &sid, "RESUMED", json!({"_trace": []})) {
            drop(guard);
            inner.internal_error(format!("could not send RESUMED: {e}"));
            return Next::Close(4000, "Unknown error.".into());
        }
        st.resumes.push(ResumeInfo {
            session_id: sid,
            seq: client_seq,
            replayed,
            connection_id: self.id,
            since_start: inner.started.elapsed(),
            shard,
        });
        self.identified = true;
        Next::Continue
    }
}

// =============================================================================================
// REST
// =============================================================================================

struct Reply {
    status: u16,
    body: Value,
    headers: Vec<(&'static str, String)>,
}

impl Reply {
    fn json(status: u16, body: Value) -> Self {
        Self {
            status,
            body,
            headers: Vec::new(),
        }
    }

    fn ok(body: Value) -> Self {
        Self::json(200, body)
    }

    fn no_content() -> Self {
        Self::json(204, Value::Null)
    }

    fn error(status: u16, code: u64, message: &str) -> Self {
        Self::json(status, json!({"message": message, "code": code}))
    }

    fn form(errors: &[FieldError]) -> Self {
        Self::json(400, validate::invalid_form_body(errors))
    }

    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut resp = if self.status == 204 {
            Response::new(Body::empty())
        } else {
            let mut r = Response::new(Body::from(self.body.to_string()));
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            r
        };
        *resp.status_mut() = status;
        for (k, v) in self.headers {
            if let Ok(v) = HeaderValue::from_str(&v) {
                resp.headers_mut().insert(k, v);
            }
        }
        resp
    }
}

fn status_text(status: u16) -> String {
    let reason = StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Error");
    format!("{status}: {reason}")
}

/// Parse the body: JSON, or multipart with a `payload_json` part (plus file names).
fn parse_body(content_type: &str, bytes: &[u8]) -> Result<(Value, Vec<String>), String> {
    if bytes.is_empty() {
        return Ok((Value::Null, Vec::new()));
    }
    if content_type.starts_with("multipart/form-data") {
        let boundary = content_type
            .split(';')
            .filter_map(|p| p.trim().strip_prefix("boundary="))
            .next()
            .map(|b| b.trim_matches('"').to_string())
            .ok_or("multipart body without boundary")?;
        let text = String::from_utf8_lossy(bytes);
        let delim = format!("--{boundary}");
        let mut payload = Value::Null;
        let mut files = Vec::new();
        for part in text.split(delim.as_str()).skip(1) {
            let Some((head, body)) = part.split_once("\r\n\r\n") else {
                continue;
            };
            let body = body.strip_suffix("\r\n").unwrap_or(body);
            let disposition = head
                .lines()
                .find(|l| l.to_ascii_lowercase().starts_with("content-disposition"))
                .unwrap_or("");
            let param = |name: &str| {
                disposition
                    .split(';')
                    .filter_map(|p| p.trim().strip_prefix(&format!("{name}=")))
                    .next()
                    .map(|v| v.trim_matches('"').to_string())
            };
            if param("name").as_deref() == Some("payload_json") {
                payload = serde_json::from_str(body)
                    .map_err(|e| format!("payload_json is not JSON: {e}"))?;
            } else if let Some(f) = param("filename") {
                files.push(f);
            }
        }
        return Ok((payload, files));
    }
    serde_json::from_slice(bytes)
        .map(|v| (v, Vec::new()))
        .map_err(|e| format!("body is not JSON: {e}"))
}

fn classify(method: &str, path: &str) -> Route {
    let Some(rest) = path.strip_prefix("/api/v10/") else {
        return Route::Unknown;
    };
    let segs: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let num = |s: &str| s.parse::<u64>().ok();
    match (method, segs.as_slice()) {
        ("GET", ["gateway"]) => Route::Gateway,
        ("GET", ["gateway", "bot"]) => Route::GatewayBot,
        ("GET", ["users", "@me"]) => Route::CurrentUser,
        ("GET", ["oauth2", "applications", "@me"]) => Route::CurrentApplication,
        ("POST", ["interactions", id, token, "callback"]) => match num(id) {
            Some(interaction_id) => Route::InteractionCallback {
                interaction_id,
                token: token.to_string(),
            },
            None => Route::Unknown,
        },
        ("GET" | "PATCH" | "DELETE", ["webhooks", _app, token, "messages", "@original"]) => {
            Route::OriginalResponse {
                token: token.to_string(),
            }
        }
        ("GET" | "PATCH" | "DELETE", ["webhooks", _app, token, "messages", mid]) => {
            match num(mid) {
                Some(message_id) => Route::FollowupMessage {
                    token: token.to_string(),
                    message_id,
                },
                None => Route::Unknown,
            }
        }
        ("POST", ["webhooks", _app, token]) => Route::Followup {
            token: token.to_string(),
        },
        ("GET" | "PUT", ["applications", _app, "commands"]) => Route::GlobalCommands,
        ("GET" | "PUT", ["applications", _app, "guilds", g, "commands"]) => match num(g) {
            Some(guild_id) => Route::GuildCommands { guild_id },
            None => Route::Unknown,
        },
        ("GET", ["channels", c]) => match num(c) {
            Some(channel_id) => Route::Channel { channel_id },
            None => Route::Unknown,
        },
        ("POST", ["channels", c, "messages"]) => match num(c) {
            Some(channel_id) => Route::ChannelMessages { channel_id },
            None => Route::Unknown,
        },
        ("GET" | "PATCH" | "DELETE", ["channels", c, "messages", m]) => match (num(c), num(m)) {
            (Some(channel_id), Some(message_id)) => Route::ChannelMessage {
                channel_id,
                message_id,
            },
            _ => Route::Unknown,
        },
        ("POST", ["channels", c, "typing"]) => match num(c) {
            Some(channel_id) => Route::Typing { channel_id },
            None => Route::Unknown,
        },
        ("PUT" | "DELETE", ["channels", c, "messages", m, "reactions", _emoji, "@me"]) => {
            match (num(c), num(m)) {
                (Some(channel_id), Some(message_id)) => Route::Reaction {
                    channel_id,
                    message_id,
                },
                _ => Route::Unknown,
            }
        }
        _ => Route::Unknown,
    }
}

/// The application id in `/webhooks/{app}/...` and `/applications/{app}/...`.
fn app_in_path(path: &str) -> Option<u64> {
    let mut it = path.trim_start_matches("/api/v10/").split('/');
    match it.next() {
        Some("webhooks") | Some("applications") => it.next().and_then(|s| s.parse().ok()),
        _ => None,
    }
}

fn take_fault(st: &mut State, method: &str, path: &str) -> Option<Fault> {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let pos = st.faults.iter().position(|f| {
        if f.remaining == 0 || (f.method != "*" && f.method != method) {
            return false;
        }
        let mut i = 0;
        for (k, p) in f.pattern.iter().enumerate() {
            if p == "**" && k == f.pattern.len() - 1 {
                return true;
            }
            match segs.get(i) {
                Some(s) if p == "*" || p == s => i += 1,
                _ => return false,
            }
        }
        i == segs.len()
    })?;
    let f = &mut st.faults[pos];
    f.remaining -= 1;
    let fault = f.fault.clone();
    if f.remaining == 0 {
        st.faults.remove(pos);
    }
    Some(fault)
}

fn fault_reply(fault: &Fault) -> Reply {
    match fault {
        Fault::Status(s) => Reply::error(*s, 0, &status_text(*s)),
        Fault::RateLimited {
            retry_after,
            global,
        } => {
            let mut r = Reply::json(
                429,
                json!({
                    "message": "You are being rate limited.",
                    "retry_after": retry_after,
                    "global": global,
                    "code": 0,
                }),
            );
            r.headers = vec![
                ("retry-after", format!("{}", retry_after.ceil() as u64)),
                ("x-ratelimit-limit", "5".into()),
                ("x-ratelimit-remaining", "0".into()),
                ("x-ratelimit-reset-after", format!("{retry_after:.3}")),
                ("x-ratelimit-bucket", "simulated-bucket".into()),
                (
                    "x-ratelimit-scope",
                    if *global { "global" } else { "user" }.into(),
                ),
            ];
            if *global {
                r.headers.push(("x-ratelimit-global", "true".into()));
            }
            r
        }
        Fault::Hang | Fault::Delay(_) => Reply::error(503, 0, &status_text(503)),
    }
}

fn finish(inner: &Inner, idx: usize, reply: &Reply, fault: Option<String>) {
    {
        let mut st = inner.lock();
        if let Some(r) = st.requests.get_mut(idx) {
            r.status = Some(reply.status);
            r.response = reply.body.clone();
            r.fault = fault;
        }
    }
    inner.bump();
}

async fn rest_handler(AxState(inner): AxState<Arc<Inner>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let method = parts.method.as_str().to_string();
    let path = parts.uri.path().to_string();
    let query = parts.uri.query().map(str::to_string);
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let auth_ok = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.strip_prefix("Bot ") == Some(inner.cfg.token.as_str()));
    let bytes = match axum::body::to_bytes(body, 64 << 20).await {
        Ok(b) => b,
        Err(e) => {
            return Reply::error(400, 0, &format!("400: Bad Request ({e})")).into_response();
        }
    };
    let parsed = parse_body(&content_type, &bytes);
    let (body_json, files) = match &parsed {
        Ok((v, f)) => (v.clone(), f.clone()),
        Err(_) => (
            Value::String(String::from_utf8_lossy(&bytes).into_owned()),
            Vec::new(),
        ),
    };
    let route = classify(&method, &path);

    let idx = {
        let mut st = inner.lock();
        let interaction_id = match &route {
            Route::InteractionCallback { interaction_id, .. } => Some(*interaction_id),
            Route::OriginalResponse { token }
            | Route::Followup { token }
            | Route::FollowupMessage { token, .. } => st.interaction_by_token.get(token).copied(),
            _ => None,
        };
        let idx = st.requests.len();
        st.requests.push(Recorded {
            index: idx,
            method: method.clone(),
            path: path.clone(),
            query: query.clone(),
            route: route.clone(),
            interaction_id,
            body: body_json.clone(),
            files: files.clone(),
            status: None,
            response: Value::Null,
            fault: None,
            at: Instant::now(),
            since_start: inner.started.elapsed(),
        });
        idx
    };
    inner.bump();

    // Discord serves GET /gateway without authentication; serenity must get it to connect.
    if route != Route::Gateway && !auth_ok {
        let reply = Reply::error(401, 0, "401: Unauthorized");
        finish(&inner, idx, &reply, None);
        return reply.into_response();
    }

    let fault = take_fault(&mut inner.lock(), &method, &path);
    match fault {
        Some(Fault::Delay(d)) => tokio::time::sleep(d).await,
        Some(Fault::Hang) => {
            let mut rx = inner.release.subscribe();
            let _ = rx.changed().await;
            let reply = fault_reply(&Fault::Hang);
            finish(&inner, idx, &reply, Some("hang (released)".into()));
            return reply.into_response();
        }
        Some(f) => {
            let reply = fault_reply(&f);
            finish(&inner, idx, &reply, Some(format!("{f:?}")));
            return reply.into_response();
        }
        None => {}
    }

    let reply = match parsed {
        Err(e) => Reply::error(
            400,
            50109,
            &format!("The request body contains invalid JSON. ({e})"),
        ),
        Ok(_) => handle(&inner, &method, &path, &route, &body_json, files.len()),
    };
    finish(&inner, idx, &reply, None);
    reply.into_response()
}

/// Check that a response object deserializes into the serenity type the bot will parse it as.
fn checked<T: serde::de::DeserializeOwned>(inner: &Inner, what: &str, v: Value) -> Reply {
    match serde_json::from_value::<T>(v.clone()) {
        Ok(_) => Reply::ok(v),
        Err(e) => {
            let msg = format!(
                "simulator bug: {what} response does not deserialize in serenity: {e}; {v}"
            );
            inner.internal_error(msg.clone());
            Reply::error(500, 0, &msg)
        }
    }
}

fn handle(
    inner: &Inner,
    method: &str,
    path: &str,
    route: &Route,
    body: &Value,
    files: usize,
) -> Reply {
    use serenity::model::prelude::*;
    let cfg = &inner.cfg;
    if let Some(app) = app_in_path(path) {
        if app != cfg.application_id {
            return match route {
                Route::Followup { .. }
                | Route::OriginalResponse { .. }
                | Route::FollowupMessage { .. } => Reply::error(404, 10015, "Unknown Webhook"),
                _ => Reply::error(404, 10002, "Unknown Application"),
            };
        }
    }
    match route {
        Route::Gateway => checked::<serenity::model::gateway::Gateway>(
            inner,
            "GET /gateway",
            json!({"url": inner.gateway_url()}),
        ),
        Route::GatewayBot => checked::<serenity::model::gateway::BotGateway>(
            inner,
            "GET /gateway/bot",
            json!({
                "url": inner.gateway_url(),
                "shards": cfg.shards.max(1),
                "session_start_limit": {
                    "total": 1000, "remaining": 999, "reset_after": 14_400_000, "max_concurrency": 1
                },
            }),
        ),
        Route::CurrentUser => {
            checked::<CurrentUser>(inner, "GET /users/@me", payloads::bot_user(cfg))
        }
        Route::CurrentApplication => checked::<CurrentApplicationInfo>(
            inner,
            "GET /oauth2/applications/@me",
            payloads::current_application(cfg),
        ),
        Route::InteractionCallback {
            interaction_id,
            token,
        } => interaction_callback(inner, *interaction_id, token, body, files),
        Route::OriginalResponse { token } => original_response(inner, method, token, body, files),
        Route::Followup { token } => followup(inner, token, body, files),
        Route::FollowupMessage { token, message_id } => {
            followup_message(inner, method, token, *message_id, body, files)
        }
        Route::GlobalCommands => commands(inner, method, None, body),
        Route::GuildCommands { guild_id } => commands(inner, method, Some(*guild_id), body),
        Route::Channel { channel_id } => {
            let ch = inner.lock().channels.get(channel_id).cloned();
            match ch {
                Some(ch) => checked::<Channel>(
                    inner,
                    "GET /channels/{id}",
                    payloads::channel_json(cfg, &ch),
                ),
                None => Reply::error(404, 10003, "Unknown Channel"),
            }
        }
        Route::ChannelMessages { channel_id } => {
            create_channel_message(inner, *channel_id, body, files)
        }
        Route::ChannelMessage {
            channel_id,
            message_id,
        } => channel_message(inner, method, *channel_id, *message_id, body, files),
        Route::Typing { channel_id } => {
            if inner.lock().channels.contains_key(channel_id) {
                Reply::no_content()
            } else {
                Reply::error(404, 10003, "Unknown Channel")
            }
        }
        Route::Reaction { message_id, .. } => {
            if inner.lock().messages.contains_key(message_id) {
                Reply::no_content()
            } else {
                Reply::error(404, 10008, "Unknown Message")
            }
        }
        Route::Unknown => Reply::error(404, 0, "404: Not Found"),
    }
}

/// Build a message object as Discord returns it, and make sure serenity can parse it.
fn make_message(
    inner: &Inner,
    id: u64,
    channel_id: u64,
    body: &Value,
    files: usize,
    kind: u64,
    webhook: bool,
) -> Result<Value, Reply> {
    let cfg = &inner.cfg;
    let attachments: Vec<Value> = (0..files)
        .map(|i| {
            let aid = inner.next_id();
            let filename = body["attachments"][i]["filename"]
                .as_str()
                .map_or_else(|| format!("file{i}"), str::to_string);
            json!({
                "id": aid.to_string(),
                "filename": filename,
                "size": 1,
                "url": format!("{}/attachments/{channel_id}/{aid}/{filename}", inner.api_base()),
                "proxy_url": format!("{}/attachments/{channel_id}/{aid}/{filename}", inner.api_base()),
            })
        })
        .collect();
    let mut m = json!({
        "id": id.to_string(),
        "channel_id": channel_id.to_string(),
        "author": payloads::bot_user(cfg),
        "content": body["content"].as_str().unwrap_or(""),
        "timestamp": payloads::now_timestamp(),
        "edited_timestamp": null,
        "tts": body["tts"].as_bool().unwrap_or(false),
        "mention_everyone": false,
        "mentions": [],
        "mention_roles": [],
        "attachments": attachments,
        "embeds": body.get("embeds").filter(|e| e.is_array()).cloned().unwrap_or(json!([])),
        "components": body.get("components").filter(|e| e.is_array()).cloned().unwrap_or(json!([])),
        "pinned": false,
        "type": kind,
        "flags": body["flags"].as_u64().unwrap_or(0),
    });
    if let Some(embeds) = m["embeds"].as_array_mut() {
        for e in embeds {
            if e.is_object() && e.get("type").is_none() {
                e["type"] = json!("rich");
            }
        }
    }
    if webhook {
        m["webhook_id"] = json!(cfg.application_id.to_string());
        m["application_id"] = json!(cfg.application_id.to_string());
    }
    if let Some(r) = body.get("message_reference").filter(|r| r.is_object()) {
        let mut r = r.clone();
        if r.get("channel_id").is_none_or(Value::is_null) {
            r["channel_id"] = json!(channel_id.to_string());
        }
        m["message_reference"] = r;
    }
    if let Some(n) = body.get("nonce").filter(|n| n.is_string() || n.is_number()) {
        m["nonce"] = n.clone();
    }
    finalize_message(inner, m)
}

/// Make sure serenity parses the message; drop parts it cannot (components/embeds are echoed
/// from the bot's builders and may use shapes serenity only serializes).
fn finalize_message(inner: &Inner, mut m: Value) -> Result<Value, Reply> {
    use serenity::model::channel::Message as SMessage;
    for strip in [None, Some("components"), Some("embeds")] {
        if let Some(k) = strip {
            tracing::warn!(
                "discord simulator: echoed {k} not parseable by serenity; answering without them"
            );
            m[k] = json!([]);
        }
        if serde_json::from_value::<SMessage>(m.clone()).is_ok() {
            return Ok(m);
        }
    }
    let err = serde_json::from_value::<SMessage>(m.clone())
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    let msg = format!("simulator bug: message object does not deserialize in serenity: {err}; {m}");
    inner.internal_error(msg.clone());
    Err(Reply::error(500, 0, &msg))
}

/// Checks shared by every "send a message" route.
fn check_new_message(body: &Value, files: usize) -> Option<Reply> {
    let errors = validate::check_message_body(body);
    if !errors.is_empty() {
        return Some(Reply::form(&errors));
    }
    if validate::is_empty_message(body, files) {
        return Some(Reply::error(400, 50006, "Cannot send an empty message"));
    }
    None
}

fn interaction_callback(inner: &Inner, id: u64, token: &str, body: &Value, files: usize) -> Reply {
    let cfg = &inner.cfg;
    let (kind, channel_id, acked, dispatched_at) = {
        let st = inner.lock();
        match st.interactions.get(&id) {
            Some(ix) if ix.token == token => (ix.kind, ix.channel_id, ix.acked, ix.dispatched_at),
            _ => return Reply::error(404, 10062, "Unknown interaction"),
        }
    };
    if let Some(deadline) = cfg.interaction_deadline {
        if dispatched_at.elapsed() > deadline {
            return Reply::error(404, 10062, "Unknown interaction");
        }
    }
    if acked {
        return Reply::error(400, 40060, "Interaction has already been acknowledged.");
    }
    let Some(t) = body["type"].as_u64() else {
        return Reply::form(&[FieldError {
            path: vec!["type".into()],
            code: "BASE_TYPE_REQUIRED",
            message: "This field is required".into(),
        }]);
    };
    // interaction type -> allowed callback types
    let allowed: &[u64] = match kind {
        1 => &[1],
        2 => &[4, 5, 9, 12],
        3 => &[4, 5, 6, 7, 9, 12],
        4 => &[8],
        5 => &[4, 5, 6, 7],
        _ => &[],
    };
    if !allowed.contains(&t) {
        return Reply::form(&[FieldError {
            path: vec!["type".into()],
            code: "INTERACTION_RESPONSE_TYPE_INVALID",
            message: format!(
                "Interaction callback type {t} is not valid for interaction type {kind} (allowed: {allowed:?})"
            ),
        }]);
    }
    let data = body.get("data").cloned().unwrap_or(Value::Null);
    let original = match t {
        4 | 7 => {
            let errors: Vec<FieldError> = validate::check_message_body(&data)
                .into_iter()
                .map(|mut e| {
                    e.path.insert(0, "data".into());
                    e
                })
                .collect();
            if !errors.is_empty() {
                return Reply::form(&errors);
            }
            if validate::is_empty_message(&data, files) {
                return Reply::error(400, 50006, "Cannot send an empty message");
            }
            match make_message(inner, inner.next_id(), channel_id, &data, files, 20, true) {
                Ok(m) => Some(m),
                Err(r) => return r,
            }
        }
        5 => {
            let flags = data["flags"].as_u64().unwrap_or(0) | 128; // LOADING
            let placeholder = json!({"content": "", "flags": flags});
            match make_message(
                inner,
                inner.next_id(),
                channel_id,
                &placeholder,
                0,
                20,
                true,
            ) {
                Ok(m) => Some(m),
                Err(r) => return r,
            }
        }
        8 => {
            let errors = validate::check_autocomplete_result(&data);
            if !errors.is_empty() {
                return Reply::form(&errors);
            }
            None
        }
        9 => {
            let ok = data["custom_id"].is_string()
                && data["title"]
                    .as_str()
                    .is_some_and(|s| (1..=45).contains(&s.chars().count()))
                && data["components"]
                    .as_array()
                    .is_some_and(|c| (1..=5).contains(&c.len()));
            if !ok {
                return Reply::form(&[FieldError {
                    path: vec!["data".into()],
                    code: "MODAL_INVALID",
                    message: "A modal needs custom_id, a 1-45 character title and 1-5 components"
                        .into(),
                }]);
            }
            None
        }
        _ => None,
    };
    let mut st = inner.lock();
    if let Some(ix) = st.interactions.get_mut(&id) {
        ix.acked = true;
        if original.is_some() {
            ix.original = original.clone();
        }
    }
    if let Some(m) = original {
        if let Some(mid) = id_field(&m, "id") {
            st.messages.insert(mid, m);
        }
    }
    Reply::no_content()
}

/// Merge an edit body into an existing message (PATCH semantics: absent fields stay).
fn apply_edit(inner: &Inner, existing: &Value, body: &Value, files: usize) -> Result<Value, Reply> {
    let errors = validate::check_message_body(body);
    if !errors.is_empty() {
        return Err(Reply::form(&errors));
    }
    let mut m = existing.clone();
    for k in ["content", "embeds", "components", "flags"] {
        if let Some(v) = body.get(k) {
            m[k] = if v.is_null() {
                match k {
                    "content" => json!(""),
                    "flags" => json!(0),
                    _ => json!([]),
                }
            } else {
                v.clone()
            };
        }
    }
    if let Some(f) = m["flags"].as_u64() {
        m["flags"] = json!(f & !128); // an edit ends the "thinking..." state
    }
    if files > 0 || body.get("attachments").is_some() {
        let channel_id = id_field(&m, "channel_id").unwrap_or(0);
        let fresh = make_message(inner, 0, channel_id, body, files, 0, false)?;
        m["attachments"] = fresh["attachments"].clone();
    }
    m["edited_timestamp"] = json!(payloads::now_timestamp());
    if validate::is_empty_message(&m, 0) {
        return Err(Reply::error(400, 50006, "Cannot send an empty message"));
    }
    finalize_message(inner, m)
}

fn original_response(
    inner: &Inner,
    method: &str,
    token: &str,
    body: &Value,
    files: usize,
) -> Reply {
    let (id, original) = {
        let st = inner.lock();
        let Some(id) = st.interaction_by_token.get(token).copied() else {
            return Reply::error(404, 10015, "Unknown Webhook");
        };
        let Some(ix) = st.interactions.get(&id) else {
            return Reply::error(404, 10015, "Unknown Webhook");
        };
        if !ix.acked {
            return Reply::error(404, 10015, "Unknown Webhook");
        }
        (id, ix.original.clone())
    };
    let Some(original) = original else {
        return Reply::error(404, 10008, "Unknown Message");
    };
    match method {
        "GET" => Reply::ok(original),
        "DELETE" => {
            let mut st = inner.lock();
            if let Some(ix) = st.interactions.get_mut(&id) {
                ix.original = None;
            }
            Reply::no_content()
        }
        _ => match apply_edit(inner, &original, body, files) {
            Ok(m) => {
                let mut st = inner.lock();
                if let Some(ix) = st.interactions.get_mut(&id) {
                    ix.original = Some(m.clone());
                }
                if let Some(mid) = id_field(&m, "id") {
                    st.messages.insert(mid, m.clone());
                }
                Reply::ok(m)
            }
            Err(r) => r,
        },
    }
}

fn followup(inner: &Inner, token: &str, body: &Value, files: usize) -> Reply {
    let (id, channel_id) = {
        let st = inner.lock();
        match st
            .interaction_by_token
            .get(token)
            .and_then(|id| st.interactions.get(id))
        {
            Some(ix) if ix.acked => (ix.id, ix.channel_id),
            _ => return Reply::error(404, 10015, "Unknown Webhook"),
        }
    };
    if let Some(r) = check_new_message(body, files) {
        return r;
    }
    let mid = inner.next_id();
    match make_message(inner, mid, channel_id, body, files, 0, true) {
        Ok(m) => {
            let mut st = inner.lock();
            st.messages.insert(mid, m.clone());
            if let Some(ix) = st.interactions.get_mut(&id) {
                ix.followups.push(mid);
            }
            Reply::ok(m)
        }
        Err(r) => r,
    }
}

fn followup_message(
    inner: &Inner,
    method: &str,
    token: &str,
    message_id: u64,
    body: &Value,
    files: usize,
) -> Reply {
    let existing = {
        let st = inner.lock();
        let Some(ix) = st
            .interaction_by_token
            .get(token)
            .and_then(|id| st.interactions.get(id))
        else {
            return Reply::error(404, 10015, "Unknown Webhook");
        };
        let is_original = ix
            .original
            .as_ref()
            .and_then(|o| id_field(o, "id"))
            .is_some_and(|o| o == message_id);
        if !ix.followups.contains(&message_id) && !is_original {
            return Reply::error(404, 10008, "Unknown Message");
        }
        st.messages.get(&message_id).cloned()
    };
    let Some(existing) = existing else {
        return Reply::error(404, 10008, "Unknown Message");
    };
    match method {
        "GET" => Reply::ok(existing),
        "DELETE" => {
            inner.lock().messages.remove(&message_id);
            Reply::no_content()
        }
        _ => match apply_edit(inner, &existing, body, files) {
            Ok(m) => {
                inner.lock().messages.insert(message_id, m.clone());
                Reply::ok(m)
            }
            Err(r) => r,
        },
    }
}

fn create_channel_message(inner: &Inner, channel_id: u64, body: &Value, files: usize) -> Reply {
    if !inner.lock().channels.contains_key(&channel_id) {
        return Reply::error(404, 10003, "Unknown Channel");
    }
    if let Some(r) = check_new_message(body, files) {
        return r;
    }
    let mut kind = 0;
    let mut referenced = Value::Null;
    if let Some(r) = body.get("message_reference").filter(|r| r.is_object()) {
        let ref_kind = r["type"].as_u64().unwrap_or(0);
        let mid = id_field(r, "message_id");
        let known = mid.and_then(|m| inner.lock().messages.get(&m).cloned());
        match known {
            Some(m) => referenced = m,
            None if r["fail_if_not_exists"].as_bool() == Some(false) => {}
            None => {
                return Reply::form(&[FieldError {
                    path: vec!["message_reference".into()],
                    code: "MESSAGE_REFERENCE_UNKNOWN_MESSAGE",
                    message: "Unknown message".into(),
                }])
            }
        }
        if ref_kind == 0 && !referenced.is_null() {
            kind = 19;
        }
    }
    let mid = inner.next_id();
    match make_message(inner, mid, channel_id, body, files, kind, false) {
        Ok(mut m) => {
            if !referenced.is_null() {
                m["referenced_message"] = referenced;
                if let Err(r) = finalize_message(inner, m.clone()) {
                    return r;
                }
            }
            inner.lock().messages.insert(mid, m.clone());
            Reply::ok(m)
        }
        Err(r) => r,
    }
}

fn channel_message(
    inner: &Inner,
    method: &str,
    channel_id: u64,
    message_id: u64,
    body: &Value,
    files: usize,
) -> Reply {
    let existing = inner
        .lock()
        .messages
        .get(&message_id)
        .filter(|m| id_field(m, "channel_id") == Some(channel_id))
        .cloned();
    let Some(existing) = existing else {
        return Reply::error(404, 10008, "Unknown Message");
    };
    match method {
        "GET" => Reply::ok(existing),
        "DELETE" => {
            inner.lock().messages.remove(&message_id);
            Reply::no_content()
        }
        _ => {
            if id_field(&existing["author"], "id") != Some(inner.cfg.bot_user_id) {
                return Reply::error(403, 50005, "Cannot edit a message authored by another user");
            }
            match apply_edit(inner, &existing, body, files) {
                Ok(m) => {
                    inner.lock().messages.insert(message_id, m.clone());
                    Reply::ok(m)
                }
                Err(r) => r,
            }
        }
    }
}

fn commands(inner: &Inner, method: &str, guild: Option<u64>, body: &Value) -> Reply {
    use serenity::model::application::Command;
    if method == "GET" {
        let st = inner.lock();
        let list = match guild {
            None => st.commands_global.clone(),
            Some(g) => st.commands_guild.get(&g).cloned().unwrap_or_default(),
        };
        return Reply::ok(Value::Array(list));
    }
    let errors = validate::check_commands(body);
    if !errors.is_empty() {
        return Reply::form(&errors);
    }
    let cfg = &inner.cfg;
    let input = body.as_array().cloned().unwrap_or_default();
    let mut out = Vec::new();
    let mut st = inner.lock();
    for c in input {
        let kind = c["type"].as_u64().unwrap_or(1);
        let name = c["name"].as_str().unwrap_or("").to_string();
        let key = (guild, kind, name.clone());
        let id = match st.command_ids.get(&key) {
            Some(id) => *id,
            None => {
                let id = inner.next_id();
                st.command_ids.insert(key, id);
                id
            }
        };
        let mut full = json!({
            "id": id.to_string(),
            "application_id": cfg.application_id.to_string(),
            "version": inner.next_id().to_string(),
            "type": kind,
            "name": name,
            "name_localizations": c.get("name_localizations").cloned().unwrap_or(Value::Null),
            "description": c["description"].as_str().unwrap_or(""),
            "description_localizations": c.get("description_localizations").cloned().unwrap_or(Value::Null),
            "options": c.get("options").filter(|o| o.is_array()).cloned().unwrap_or(json!([])),
            "default_member_permissions": c.get("default_member_permissions").cloned().unwrap_or(Value::Null),
            "nsfw": c["nsfw"].as_bool().unwrap_or(false),
        });
        if let Some(g) = guild {
            full["guild_id"] = json!(g.to_string());
        } else {
            full["dm_permission"] = c.get("dm_permission").cloned().unwrap_or(json!(true));
            full["integration_types"] = c.get("integration_types").cloned().unwrap_or(json!([0]));
            full["contexts"] = c.get("contexts").cloned().unwrap_or(Value::Null);
        }
        if let Err(e) = serde_json::from_value::<Command>(full.clone()) {
            drop(st);
            let msg = format!(
                "simulator bug: command object does not deserialize in serenity: {e}; {full}"
            );
            inner.internal_error(msg.clone());
            return Reply::error(500, 0, &msg);
        }
        out.push(full);
    }
    match guild {
        None => st.commands_global = out.clone(),
        Some(g) => {
            st.commands_guild.insert(g, out.clone());
        }
    }
    Reply::ok(Value::Array(out))
}
