//! Registering the commands only when they differ from what Discord has (a bulk overwrite on
//! every READY would reset ids, permissions overrides and clients' caches), and keeping their ids
//! for clickable `</name:id>` mentions.

use serde_json::{Map, Value};
use serenity::all::{Command, CommandType, CreateCommand, GuildId, Http};
use tracing::info;

use super::deliver::deliver;
use super::embed::CommandMentions;

/// Fetches the registered commands, overwrites them only if they differ from `wanted`, and
/// returns the chat-input commands' ids by name (`None` if Discord could not be reached).
pub async fn sync(
    http: &Http,
    guild: Option<GuildId>,
    wanted: Vec<CreateCommand>,
) -> Option<CommandMentions> {
    let fetched = deliver("get commands", None, || async move {
        match guild {
            Some(guild) => guild.get_commands(http).await,
            None => Command::get_global_commands(http).await,
        }
    })
    .await;
    let wanted_json = serde_json::to_value(&wanted).unwrap_or_default();
    if let Some(fetched) = &fetched {
        let fetched_json = serde_json::to_value(fetched).unwrap_or_default();
        match first_difference(&wanted_json, &fetched_json) {
            None => {
                info!(count = fetched.len(), guild = ?guild, "commands already registered as they are");
                return Some(ids(fetched));
            }
            Some(difference) => info!(%difference, "registered commands differ; overwriting"),
        }
    }
    let count = wanted.len();
    let registered = deliver("bulk overwrite commands", None, || {
        let wanted = wanted.clone();
        async move {
            match guild {
                Some(guild) => guild.set_commands(http, wanted).await,
                None => Command::set_global_commands(http, wanted).await,
            }
        }
    })
    .await?;
    info!(count, registered = registered.len(), guild = ?guild, "commands registered");
    Some(ids(&registered))
}

fn ids(commands: &[Command]) -> CommandMentions {
    commands
        .iter()
        .filter(|c| c.kind == CommandType::ChatInput)
        .map(|c| (c.name.clone(), c.id.get()))
        .collect()
}

/// The fields a registration sets, which Discord echoes back.
const COMPARED: [&str; 8] = [
    "type",
    "name",
    "name_localizations",
    "description",
    "description_localizations",
    "options",
    "default_member_permissions",
    "nsfw",
];
/// Compared only when Discord returns them (it omits them for guild commands).
const COMPARED_WHEN_PRESENT: [&str; 2] = ["contexts", "integration_types"];

/// Whether two lists of commands (ours as built, Discord's as fetched) define the same commands,
/// whatever their order and Discord's defaults and extra fields.
pub fn same_commands(wanted: &Value, fetched: &Value) -> bool {
    first_difference(wanted, fetched).is_none()
}

/// The first difference between our commands and Discord's, said for the log.
pub fn first_difference(wanted: &Value, fetched: &Value) -> Option<String> {
    let key = |c: &Value| {
        (
            c["type"].as_u64().unwrap_or(1),
            c["name"].as_str().unwrap_or("").to_string(),
        )
    };
    let (Some(wanted), Some(fetched)) = (wanted.as_array(), fetched.as_array()) else {
        return Some("not a list of commands".into());
    };
    if wanted.len() != fetched.len() {
        return Some(format!(
            "{} commands registered, {} wanted",
            fetched.len(),
            wanted.len()
        ));
    }
    let mut wanted: Vec<&Value> = wanted.iter().collect();
    let mut fetched: Vec<&Value> = fetched.iter().collect();
    wanted.sort_by_key(|c| key(c));
    fetched.sort_by_key(|c| key(c));
    for (w, f) in wanted.iter().zip(&fetched) {
        let mut fields: Vec<&str> = COMPARED.to_vec();
        fields.extend(
            COMPARED_WHEN_PRESENT
                .iter()
                .filter(|k| !f[**k].is_null())
                .copied(),
        );
        for field in fields {
            let (ours, theirs) = (normal(&w[field], field), normal(&f[field], field));
            if ours != theirs {
                return Some(format!(
                    "{:?} {field}: {theirs} registered, {ours} wanted",
                    key(w).1
                ));
            }
        }
    }
    None
}

/// A value with Discord's defaults made explicit-free: no nulls, no empty strings, lists or
/// maps, no `false` flags, type 1 for a missing command type, permissions as a string.
fn normal(value: &Value, field: &str) -> Value {
    match (field, value) {
        ("type", Value::Null) => Value::from(1),
        ("default_member_permissions", Value::Number(n)) => Value::String(n.to_string()),
        _ => strip(value).unwrap_or(Value::Null),
    }
}

fn strip(value: &Value) -> Option<Value> {
    match value {
        Value::Null | Value::Bool(false) => None,
        Value::String(text) if text.is_empty() => None,
        Value::Array(items) => {
            let items: Vec<Value> = items.iter().filter_map(strip).collect();
            (!items.is_empty()).then_some(Value::Array(items))
        }
        Value::Object(map) => {
            let map: Map<String, Value> = map
                .iter()
                .filter_map(|(k, v)| strip(v).map(|v| (k.clone(), v)))
                .collect();
            (!map.is_empty()).then_some(Value::Object(map))
        }
        other => Some(other.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ours() -> Value {
        json!([
            {"name": "ask", "description": "Ask", "options": [{"type": 3, "name": "question", "description": "Q", "required": true, "autocomplete": true}], "contexts": [0, 1, 2], "integration_types": [0, 1]},
            {"name": "Ask citebot", "type": 3, "description": "", "contexts": [0, 1, 2], "integration_types": [0, 1]},
        ])
    }

    /// As Discord returns them: ids, versions, defaults, nulls, another order.
    fn theirs() -> Value {
        json!([
            {"id": "2", "application_id": "9", "version": "5", "type": 3, "name": "Ask citebot", "description": "", "name_localizations": null, "description_localizations": null, "options": [], "default_member_permissions": null, "nsfw": false, "contexts": [0, 1, 2], "integration_types": [0, 1], "dm_permission": true},
            {"id": "1", "application_id": "9", "version": "5", "type": 1, "name": "ask", "description": "Ask", "name_localizations": null, "description_localizations": null, "options": [{"type": 3, "name": "question", "description": "Q", "required": true, "autocomplete": true, "name_localizations": null}], "default_member_permissions": null, "nsfw": false, "contexts": [0, 1, 2], "integration_types": [0, 1]},
        ])
    }

    #[test]
    fn discords_echo_of_our_commands_is_the_same_commands() {
        assert!(same_commands(&ours(), &theirs()));
    }

    #[test]
    fn any_change_that_matters_is_a_difference() {
        let mut changed = theirs();
        changed[1]["description"] = json!("Ask anything");
        assert!(!same_commands(&ours(), &changed), "description");
        let mut changed = theirs();
        changed[1]["options"][0]["required"] = json!(false);
        assert!(!same_commands(&ours(), &changed), "an option's flag");
        let mut changed = theirs();
        changed[0]["contexts"] = json!([0]);
        assert!(!same_commands(&ours(), &changed), "contexts");
        let mut fewer = theirs();
        fewer.as_array_mut().expect("list").pop();
        assert!(!same_commands(&ours(), &fewer), "a command missing");
        let mut permissions = ours();
        permissions[0]["default_member_permissions"] = json!("32");
        assert!(!same_commands(&permissions, &theirs()), "permissions");
    }

    #[test]
    fn guild_commands_without_contexts_compare_on_the_rest() {
        let mut guild = theirs();
        for command in guild.as_array_mut().expect("list") {
            command["contexts"] = Value::Null;
            command["integration_types"] = Value::Null;
        }
        assert!(same_commands(&ours(), &guild));
    }
}
