//! The command-line tool as a newcomer uses it: `ask` in text, `--json`, `--lang`, stdin mode,
//! and `facts`.

use std::io::Write;
use std::process::{Command, Stdio};

fn citebot() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_citebot"));
    command
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("CITEBOT_RESPONSES");
    command
}

fn ask_json(question: &str, extra: &[&str]) -> serde_json::Value {
    let out = citebot()
        .args(["ask", "--json", question])
        .args(extra)
        .output()
        .expect("run citebot");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON object")
}

#[test]
fn portuguese_delay_question_is_answered_with_a_quote_from_the_delay_paragraphs() {
    let answer = ask_json("porque o R2 atrasou?", &[]);
    assert_eq!(answer["answered"], true);
    assert_eq!(answer["fact"], "why-r2-delayed");
    assert_eq!(answer["lang"], "pt");
    let paragraphs: Vec<u64> = answer["citations"]
        .as_array()
        .expect("citations")
        .iter()
        .map(|c| c["paragraph"].as_u64().expect("paragraph"))
        .collect();
    assert!(
        paragraphs.iter().any(|p| [1, 4, 9].contains(p)),
        "{paragraphs:?}"
    );
}

#[test]
fn parameter_count_of_r2_is_refused_with_suggestions() {
    let answer = ask_json("how many parameters does R2 have?", &[]);
    assert_eq!(answer["answered"], false);
    assert_eq!(answer["fact"], serde_json::Value::Null);
    assert_eq!(answer["lang"], "en");
    assert_eq!(answer["citations"].as_array().map(Vec::len), Some(0));
    assert_eq!(answer["answer"], "The article doesn't cover that.");
}

#[test]
fn json_has_exactly_the_documented_fields() {
    let answer = ask_json("h20 deal", &[]);
    let mut keys: Vec<&str> = answer
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "alternatives",
            "answer",
            "answered",
            "citations",
            "confidence",
            "fact",
            "lang"
        ]
    );
    assert!(answer["confidence"]
        .as_f64()
        .is_some_and(|c| (0.0..=1.0).contains(&c)));
}

#[test]
fn lang_flag_forces_the_reply_language() {
    let answer = ask_json("Why was R2 delayed?", &["--lang", "pt"]);
    assert_eq!(answer["lang"], "pt");
    assert!(answer["answer"]
        .as_str()
        .expect("answer")
        .contains("adiado"));
}

#[test]
fn text_output_shows_quotes_with_paragraph_numbers_and_the_source() {
    let out = citebot()
        .args(["ask", "Why was R2 delayed?"])
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(text.contains("§1"), "{text}");
    assert!(text.contains("Financial Times"), "{text}");
}

#[test]
fn stdin_mode_prints_one_json_object_per_line() {
    let mut child = citebot()
        .args(["ask", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all("quando sai o r2?\nwho is deepseek's ceo?\nacordo h20 15%\n".as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["fact"], "r2-release-date");
    assert_eq!(lines[1]["answered"], false);
    assert_eq!(lines[2]["fact"], "h20-deal");
}

#[test]
fn facts_lists_every_card_with_its_paragraphs() {
    let out = citebot().arg("facts").output().expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().count(), 12, "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("/h20-deal") && l.contains("§11")),
        "{text}"
    );
}

#[test]
fn a_missing_responses_folder_is_a_clear_error() {
    let out = citebot()
        .args(["--responses", "/nonexistent/responses", "ask", "r2"])
        .output()
        .expect("run");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("/nonexistent/responses/article.toml"),
        "{stderr}"
    );
}
