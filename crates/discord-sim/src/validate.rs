//! Checks in both directions:
//! - what the simulator sends must deserialize in serenity 0.12.5 exactly like serenity does it;
//! - what the bot sends must respect Discord's documented limits (else Discord-style 400s).

use serde_json::{json, Map, Value};
use serenity::model::event::{Event, GatewayEvent};

/// Check a complete gateway frame the way serenity's `WsClient::recv_json` parses it. Serenity
/// turns a dispatch whose `d` does not fit the event type into `Event::Unknown` and drops it, so
/// that counts as an error here.
pub(crate) fn check_frame(frame: &str) -> Result<(), String> {
    match serde_json::from_str::<GatewayEvent>(frame) {
        Ok(GatewayEvent::Dispatch(_, Event::Unknown(u))) => Err(format!(
            "serenity would parse this {} dispatch as Event::Unknown and drop it",
            u.kind
        )),
        Ok(_) => Ok(()),
        Err(e) => Err(format!("not a valid gateway frame for serenity: {e}")),
    }
}

/// Check a dispatch payload against the specific serenity model type first (for a precise error
/// message), then as a whole frame.
pub(crate) fn check_dispatch(t: &str, d: &Value) -> Result<(), String> {
    use serenity::model::prelude::*;
    fn typed<T: serde::de::DeserializeOwned>(d: &Value, ty: &str) -> Result<(), String> {
        serde_json::from_value::<T>(d.clone())
            .map(|_| ())
            .map_err(|e| format!("does not deserialize into serenity::model::{ty}: {e}"))
    }
    match t {
        "READY" => typed::<Ready>(d, "gateway::Ready")?,
        "INTERACTION_CREATE" => typed::<Interaction>(d, "application::Interaction")?,
        "MESSAGE_CREATE" => typed::<Message>(d, "channel::Message")?,
        "GUILD_CREATE" => typed::<Guild>(d, "guild::Guild")?,
        "CHANNEL_CREATE" | "CHANNEL_UPDATE" | "CHANNEL_DELETE" | "THREAD_CREATE"
        | "THREAD_UPDATE" => typed::<GuildChannel>(d, "channel::GuildChannel")?,
        _ => {}
    }
    let frame = json!({"op": 0, "t": t, "s": 1, "d": d}).to_string();
    check_frame(&frame)
}

// ---------------------------------------------------------------------------------------------
// Discord-side validation of what the bot sends
// ---------------------------------------------------------------------------------------------

/// One form error, Discord style: a path into the body, a code and a message.
#[derive(Debug, Clone)]
pub(crate) struct FieldError {
    pub(crate) path: Vec<String>,
    pub(crate) code: &'static str,
    pub(crate) message: String,
}

fn fe(path: &[&str], code: &'static str, message: impl Into<String>) -> FieldError {
    FieldError {
        path: path.iter().map(|s| s.to_string()).collect(),
        code,
        message: message.into(),
    }
}

fn prefixed(prefix: &[String], mut e: FieldError) -> FieldError {
    let mut p = prefix.to_vec();
    p.append(&mut e.path);
    e.path = p;
    e
}

/// `{"code": 50035, "message": "Invalid Form Body", "errors": {...}}`
pub(crate) fn invalid_form_body(errors: &[FieldError]) -> Value {
    let mut root = Map::new();
    for e in errors {
        let mut node = &mut root;
        for seg in &e.path {
            let entry = node
                .entry(seg.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            node = match entry.as_object_mut() {
                Some(m) => m,
                None => unreachable!("just made it an object"),
            };
        }
        let list = node
            .entry("_errors".to_string())
            .or_insert_with(|| Value::Array(vec![]));
        if let Some(arr) = list.as_array_mut() {
            arr.push(json!({"code": e.code, "message": e.message}));
        }
    }
    json!({"code": 50035, "message": "Invalid Form Body", "errors": Value::Object(root)})
}

fn chars(v: &Value) -> usize {
    v.as_str().map_or(0, |s| s.chars().count())
}

fn max_len(errors: &mut Vec<FieldError>, v: &Value, path: &[&str], max: usize) {
    let n = chars(v);
    if n > max {
        errors.push(fe(
            path,
            "BASE_TYPE_MAX_LENGTH",
            format!("Must be {max} or fewer in length."),
        ));
    }
}

fn non_empty_array(v: &Value) -> bool {
    v.as_array().is_some_and(|a| !a.is_empty())
}

/// Would Discord refuse this as "Cannot send an empty message" (code 50006)?
pub(crate) fn is_empty_message(body: &Value, files: usize) -> bool {
    let content = body["content"].as_str().unwrap_or("");
    content.trim().is_empty()
        && !non_empty_array(&body["embeds"])
        && !non_empty_array(&body["components"])
        && !non_empty_array(&body["sticker_ids"])
        && !non_empty_array(&body["attachments"])
        && body.get("poll").is_none_or(Value::is_null)
        && files == 0
}

/// Limits on message-like bodies (create message, interaction message data, webhook payloads).
pub(crate) fn check_message_body(body: &Value) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if !body.is_object() && !body.is_null() {
        errors.push(fe(
            &[],
            "DICT_TYPE_CONVERT",
            "Only dictionaries may be used in a DictType",
        ));
        return errors;
    }
    if let Some(c) = body.get("content") {
        if !c.is_null() && !c.is_string() {
            errors.push(fe(&["content"], "BASE_TYPE_STRING", "Must be a string."));
        }
        max_len(&mut errors, c, &["content"], 2000);
    }
    if let Some(embeds) = body.get("embeds").and_then(Value::as_array) {
        if embeds.len() > 10 {
            errors.push(fe(
                &["embeds"],
                "BASE_TYPE_MAX_LENGTH",
                "Must be 10 or fewer in length.",
            ));
        }
        let mut total = 0;
        for (i, e) in embeds.iter().enumerate() {
            let idx = i.to_string();
            let p = |f: &str| -> Vec<String> { vec!["embeds".into(), idx.clone(), f.into()] };
            let mut push_len = |v: &Value, field: &str, max: usize| {
                let n = chars(v);
                total += n;
                if n > max {
                    errors.push(FieldError {
                        path: p(field),
                        code: "BASE_TYPE_MAX_LENGTH",
                        message: format!("Must be {max} or fewer in length."),
                    });
                }
            };
            push_len(&e["title"], "title", 256);
            push_len(&e["description"], "description", 4096);
            push_len(&e["footer"]["text"], "footer", 2048);
            push_len(&e["author"]["name"], "author", 256);
            if let Some(fields) = e["fields"].as_array() {
                if fields.len() > 25 {
                    errors.push(FieldError {
                        path: p("fields"),
                        code: "BASE_TYPE_MAX_LENGTH",
                        message: "Must be 25 or fewer in length.".into(),
                    });
                }
                for (j, f) in fields.iter().enumerate() {
                    let fp = |k: &str| -> Vec<String> {
                        vec![
                            "embeds".into(),
                            idx.clone(),
                            "fields".into(),
                            j.to_string(),
                            k.into(),
                        ]
                    };
                    for (key, max) in [("name", 256), ("value", 1024)] {
                        let n = chars(&f[key]);
                        total += n;
                        if f[key].as_str().is_none_or(|s| s.trim().is_empty()) {
                            errors.push(FieldError {
                                path: fp(key),
                                code: "BASE_TYPE_REQUIRED",
                                message: "This field is required".into(),
                            });
                        } else if n > max {
                            errors.push(FieldError {
                                path: fp(key),
                                code: "BASE_TYPE_MAX_LENGTH",
                                message: format!("Must be {max} or fewer in length."),
                            });
                        }
                    }
                }
            }
        }
        if total > 6000 {
            errors.push(fe(
                &["embeds"],
                "MESSAGE_EMBED_TOO_LARGE",
                "Embed size exceeds maximum size of 6000",
            ));
        }
    }
    if let Some(rows) = body.get("components").and_then(Value::as_array) {
        if rows.len() > 5 {
            errors.push(fe(
                &["components"],
                "BASE_TYPE_MAX_LENGTH",
                "Must be 5 or fewer in length.",
            ));
        }
    }
    errors
}

/// The `data` of an autocomplete result callback (type 8).
pub(crate) fn check_autocomplete_result(data: &Value) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let Some(choices) = data.get("choices").and_then(Value::as_array) else {
        errors.push(fe(
            &["data", "choices"],
            "BASE_TYPE_REQUIRED",
            "This field is required",
        ));
        return errors;
    };
    if choices.len() > 25 {
        errors.push(fe(
            &["data", "choices"],
            "BASE_TYPE_MAX_LENGTH",
            "Must be 25 or fewer in length.",
        ));
    }
    for (i, c) in choices.iter().enumerate() {
        let i = i.to_string();
        let name_len = chars(&c["name"]);
        if !(1..=100).contains(&name_len) {
            errors.push(fe(
                &["data", "choices", &i, "name"],
                "BASE_TYPE_BAD_LENGTH",
                "Must be between 1 and 100 in length.",
            ));
        }
        match &c["value"] {
            Value::String(s) if s.chars().count() > 100 => errors.push(fe(
                &["data", "choices", &i, "value"],
                "BASE_TYPE_MAX_LENGTH",
                "Must be 100 or fewer in length.",
            )),
            Value::String(_) | Value::Number(_) => {}
            _ => errors.push(fe(
                &["data", "choices", &i, "value"],
                "BASE_TYPE_REQUIRED",
                "This field is required",
            )),
        }
    }
    errors
}

/// Locales Discord accepts as keys of `name_localizations` / `description_localizations`.
pub(crate) const LOCALES: &[&str] = &[
    "id", "da", "de", "en-GB", "en-US", "es-ES", "es-419", "fr", "hr", "it", "lt", "hu", "nl",
    "no", "pl", "pt-BR", "ro", "fi", "sv-SE", "vi", "tr", "cs", "el", "bg", "ru", "uk", "hi", "th",
    "zh-CN", "ja", "zh-TW", "ko",
];

fn valid_command_name(name: &str, chat_input: bool) -> bool {
    let n = name.chars().count();
    if !(1..=32).contains(&n) {
        return false;
    }
    if !chat_input {
        return true;
    }
    name.chars()
        .all(|c| (c.is_alphanumeric() && !c.is_uppercase()) || c == '-' || c == '_' || c == '\'')
}

fn check_localizations(
    errors: &mut Vec<FieldError>,
    v: &Value,
    path: &[String],
    field: &str,
    check: impl Fn(&str) -> bool,
    code: &'static str,
    message: &str,
) {
    let Some(map) = v.get(field).and_then(Value::as_object) else {
        return;
    };
    for (locale, text) in map {
        let mut p = path.to_vec();
        p.push(field.to_string());
        p.push(locale.clone());
        if !LOCALES.contains(&locale.as_str()) {
            errors.push(FieldError {
                path: p,
                code: "LOCALE_INVALID",
                message: format!("Invalid locale {locale}"),
            });
        } else if !text.as_str().is_some_and(&check) {
            errors.push(FieldError {
                path: p,
                code,
                message: message.to_string(),
            });
        }
    }
}

fn check_options(errors: &mut Vec<FieldError>, options: &Value, path: &[String], depth: usize) {
    let Some(opts) = options.as_array() else {
        return;
    };
    if opts.len() > 25 {
        errors.push(prefixed(
            path,
            fe(
                &[],
                "BASE_TYPE_MAX_LENGTH",
                "Must be 25 or fewer in length.",
            ),
        ));
    }
    let mut seen_optional = false;
    let mut names = std::collections::HashSet::new();
    for (i, o) in opts.iter().enumerate() {
        let mut p = path.to_vec();
        p.push(i.to_string());
        let kind = o["type"].as_u64().unwrap_or(0);
        let name = o["name"].as_str().unwrap_or("");
        if !(1..=11).contains(&kind) {
            errors.push(prefixed(
                &p,
                fe(
                    &["type"],
                    "BASE_TYPE_CHOICES",
                    "Value must be one of (1..11).",
                ),
            ));
        }
        if !valid_command_name(name, true) {
            errors.push(prefixed(
                &p,
                fe(
                    &["name"],
                    "APPLICATION_COMMAND_INVALID_NAME",
                    "Command name is invalid",
                ),
            ));
        }
        if !names.insert(name.to_string()) {
            errors.push(prefixed(
                &p,
                fe(
                    &["name"],
                    "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS",
                    "Option names must be unique",
                ),
            ));
        }
        let dlen = chars(&o["description"]);
        if !(1..=100).contains(&dlen) {
            errors.push(prefixed(
                &p,
                fe(
                    &["description"],
                    "BASE_TYPE_BAD_LENGTH",
                    "Must be between 1 and 100 in length.",
                ),
            ));
        }
        check_localizations(
            errors,
            o,
            &p,
            "name_localizations",
            |s| valid_command_name(s, true),
            "APPLICATION_COMMAND_INVALID_NAME",
            "Command name is invalid",
        );
        check_localizations(
            errors,
            o,
            &p,
            "description_localizations",
            |s| (1..=100).contains(&s.chars().count()),
            "BASE_TYPE_BAD_LENGTH",
            "Must be between 1 and 100 in length.",
        );
        let required = o["required"].as_bool().unwrap_or(false);
        if kind == 1 || kind == 2 {
            if depth >= 2 || (kind == 2 && depth >= 1) {
                errors.push(prefixed(
                    &p,
                    fe(
                        &["type"],
                        "APPLICATION_COMMAND_OPTION_TYPE_INVALID",
                        "Subcommands nested too deep",
                    ),
                ));
            }
            let mut sp = p.clone();
            sp.push("options".into());
            check_options(errors, &o["options"], &sp, depth + 1);
        } else {
            if required && seen_optional {
                errors.push(prefixed(
                    &p,
                    fe(
                        &["required"],
                        "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                        "Required options must be placed before non-required options",
                    ),
                ));
            }
            if !required {
                seen_optional = true;
            }
        }
        if let Some(choices) = o["choices"].as_array() {
            if choices.len() > 25 {
                errors.push(prefixed(
                    &p,
                    fe(
                        &["choices"],
                        "BASE_TYPE_MAX_LENGTH",
                        "Must be 25 or fewer in length.",
                    ),
                ));
            }
            if !choices.is_empty() && o["autocomplete"].as_bool() == Some(true) {
                errors.push(prefixed(
                    &p,
                    fe(
                        &["autocomplete"],
                        "APPLICATION_COMMAND_OPTION_CHOICES_AUTOCOMPLETE",
                        "Autocomplete cannot be enabled on options that have choices",
                    ),
                ));
            }
            for (j, c) in choices.iter().enumerate() {
                let j = j.to_string();
                if !(1..=100).contains(&chars(&c["name"])) {
                    errors.push(prefixed(
                        &p,
                        fe(
                            &["choices", &j, "name"],
                            "BASE_TYPE_BAD_LENGTH",
                            "Must be between 1 and 100 in length.",
                        ),
                    ));
                }
                if c["value"].as_str().is_some_and(|s| s.chars().count() > 100) {
                    errors.push(prefixed(
                        &p,
                        fe(
                            &["choices", &j, "value"],
                            "BASE_TYPE_MAX_LENGTH",
                            "Must be 100 or fewer in length.",
                        ),
                    ));
                }
            }
        }
    }
}

/// Validate a bulk-overwrite body (array of application commands).
pub(crate) fn check_commands(body: &Value) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let Some(cmds) = body.as_array() else {
        errors.push(fe(&[], "BASE_TYPE_LIST", "Must be a list."));
        return errors;
    };
    // Discord's limits are per type: 100 chat-input, 5 user and 5 message commands.
    for (kind, max) in [(1, 100), (2, 5), (3, 5)] {
        let count = cmds
            .iter()
            .filter(|c| c["type"].as_u64().unwrap_or(1) == kind)
            .count();
        if count > max {
            errors.push(fe(
                &[],
                "BASE_TYPE_MAX_LENGTH",
                format!("Must be {max} or fewer in length (commands of type {kind})."),
            ));
        }
    }
    let mut names = std::collections::HashSet::new();
    for (i, c) in cmds.iter().enumerate() {
        let p = vec![i.to_string()];
        let kind = c["type"].as_u64().unwrap_or(1);
        let chat_input = kind == 1;
        let name = c["name"].as_str().unwrap_or("");
        if !valid_command_name(name, chat_input) {
            errors.push(prefixed(
                &p,
                fe(
                    &["name"],
                    "APPLICATION_COMMAND_INVALID_NAME",
                    "Command name is invalid",
                ),
            ));
        }
        if !names.insert((kind, name.to_string())) {
            errors.push(prefixed(
                &p,
                fe(
                    &["name"],
                    "APPLICATION_COMMANDS_DUPLICATE_NAME",
                    format!("Application command names must be unique: {name}"),
                ),
            ));
        }
        let dlen = chars(&c["description"]);
        if chat_input && !(1..=100).contains(&dlen) {
            errors.push(prefixed(
                &p,
                fe(
                    &["description"],
                    "BASE_TYPE_BAD_LENGTH",
                    "Must be between 1 and 100 in length.",
                ),
            ));
        }
        if !chat_input && dlen != 0 {
            errors.push(prefixed(
                &p,
                fe(
                    &["description"],
                    "APPLICATION_COMMAND_DESCRIPTION_INVALID",
                    "Context menu commands cannot have a description",
                ),
            ));
        }
        check_localizations(
            &mut errors,
            c,
            &p,
            "name_localizations",
            |s| valid_command_name(s, chat_input),
            "APPLICATION_COMMAND_INVALID_NAME",
            "Command name is invalid",
        );
        check_localizations(
            &mut errors,
            c,
            &p,
            "description_localizations",
            |s| (1..=100).contains(&s.chars().count()),
            "BASE_TYPE_BAD_LENGTH",
            "Must be between 1 and 100 in length.",
        );
        let mut op = p.clone();
        op.push("options".into());
        check_options(&mut errors, &c["options"], &op, 0);
    }
    errors
}
