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
            "lang",
            "suggested"
        ]
    );
    assert!(answer["confidence"]
        .as_f64()
        .is_some_and(|c| (0.0..=1.0).contains(&c)));
    let citation = answer["citations"][0].as_object().expect("a citation");
    let mut keys: Vec<&str> = citation.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["gloss", "paragraph", "quote"]);
}

#[test]
fn markup_and_a_preamble_do_not_hide_the_question() {
    let answer = ask_json(
        "<@123456789012345678> <:pepega:123456789012345678> ok so I read a thread about this yesterday and now I'm confused — https://example.com/x why did r2 get delayed?",
        &[],
    );
    assert_eq!(answer["fact"], "why-r2-delayed", "{answer}");
}

#[test]
fn thanks_get_a_friendly_line_and_no_card() {
    for message in [
        "thanks citebot, you helped a lot!",
        "valeu mano kkkk",
        "are you a bot?",
    ] {
        let answer = ask_json(message, &[]);
        assert_eq!(answer["answered"], false, "{message}: {answer}");
        assert_eq!(answer["chit_chat"], true, "{message}: {answer}");
        assert_eq!(answer["citations"].as_array().map(Vec::len), Some(0));
    }
}

#[test]
fn two_questions_in_one_message_get_two_answers() {
    let answer = ask_json(
        "what deal did the US make with nvidia and amd? and when is r2 coming out?",
        &[],
    );
    let mut facts = vec![answer["fact"].as_str().expect("a card").to_string()];
    let more = answer["more"].as_array().expect("a second part");
    facts.extend(
        more.iter()
            .filter_map(|p| p["fact"].as_str().map(str::to_string)),
    );
    facts.sort();
    assert_eq!(facts, ["h20-deal", "r2-release-date"], "{answer}");
    assert!(more[0]["clause"].as_str().is_some_and(|c| !c.is_empty()));
}

#[test]
fn a_part_the_article_does_not_cover_is_named() {
    let answer = ask_json(
        "who is the ceo of deepseek? and did huawei send engineers to help?",
        &[],
    );
    assert_eq!(answer["fact"], "huawei-engineers", "{answer}");
    let more = answer["more"].as_array().expect("the uncovered part");
    assert_eq!(more[0]["answered"], false, "{answer}");
    assert!(more[0]["clause"]
        .as_str()
        .is_some_and(|c| c.contains("ceo")));
}

#[test]
fn the_quote_that_answers_leads() {
    let answer = ask_json("how many GPUs was R1 trained on?", &[]);
    assert_eq!(answer["fact"], "r1-training");
    let first = answer["citations"][0]["quote"].as_str().expect("a quote");
    assert!(first.contains("2048"), "{answer}");
}

#[test]
fn an_english_reader_sees_each_gloss_marked_as_a_translation() {
    let out = citebot()
        .args(["ask", "what deal did the US make with nvidia and amd?"])
        .output()
        .expect("run citebot");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("(translation, not a quote: "), "{text}");
    let out = citebot()
        .args(["ask", "que acordo fizeram os eua com a nvidia?"])
        .output()
        .expect("run citebot");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("translation"), "{text}");
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

#[test]
fn explain_shows_the_clauses_read_and_the_one_scored() {
    let out = citebot()
        .args([
            "ask",
            "--explain",
            "ok so I read a thread about nvidia yesterday. why was r2 delayed?",
        ])
        .output()
        .expect("run citebot");
    let explained = String::from_utf8_lossy(&out.stderr);
    assert!(
        explained.contains("clause 0 Statement \"ok so I read a thread about nvidia yesterday\""),
        "{explained}"
    );
    assert!(
        explained.contains("clause 1 Question \"why was r2 delayed\"  <- scored"),
        "{explained}"
    );
    assert!(explained.contains("card /why-r2-delayed"), "{explained}");
}

#[test]
fn a_malformed_env_line_is_an_error_naming_its_line_and_not_its_text() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join(".env"),
        "CITEBOT_COOLDOWN=off\nTHIS LINE IS BROKEN\nDISCORD_TOKEN=secret.token.value\n",
    )
    .expect("write .env");
    let out = Command::new(env!("CARGO_BIN_EXE_citebot"))
        .current_dir(dir.path())
        .env_remove("DISCORD_TOKEN")
        .env(
            "CITEBOT_RESPONSES",
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("responses"),
        )
        .args(["ask", "h20 deal"])
        .output()
        .expect("run citebot");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "a broken .env must not be half-loaded"
    );
    assert!(
        stderr.contains(".env:2: cannot parse this line"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("secret"),
        "never echo .env values: {stderr}"
    );
    assert!(
        !stderr.contains("BROKEN"),
        "never echo .env lines: {stderr}"
    );
}

#[test]
fn ask_batch_reports_a_bad_line_and_goes_on_in_bounded_memory() {
    let mut input: Vec<u8> = b"quando sai o r2?\n\xff\xfe not utf-8\n".to_vec();
    // A 20 MB line with no question in reach: read in bounded memory, answered as a question.
    input.extend(std::iter::repeat_n(b'a', 20 * 1024 * 1024));
    input.extend_from_slice(b"\nwho is the ceo?\n");
    let mut child = citebot()
        .args(["ask", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run citebot");
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().expect("output");
    writer.join().expect("writer").expect("write stdin");
    assert!(out.status.success());
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(lines.len(), 4, "{lines:#?}");
    assert_eq!(lines[0]["fact"], "r2-release-date");
    assert_eq!(lines[1]["line"], 2);
    assert!(lines[1]["error"]
        .as_str()
        .is_some_and(|e| e.contains("UTF-8")));
    assert_eq!(lines[2]["answered"], false);
    assert_eq!(lines[3]["answered"], false, "the batch goes on after both");
}

#[test]
fn invisible_and_compatibility_characters_do_not_hide_a_word_and_symbols_alone_are_refused() {
    for question in [
        "atra\u{200B}sou o r2?",
        "R₂ atrasou porquê",
        "porque o Ｒ２ atrasou",
    ] {
        assert_eq!(
            ask_json(question, &[])["fact"],
            "why-r2-delayed",
            "{question:?}"
        );
    }
    for question in ["%", "%%%", "%s", "$"] {
        let answer = ask_json(question, &[]);
        assert_eq!(answer["answered"], false, "{question:?}: {answer}");
        assert_eq!(answer["suggested"], false, "{question:?}: {answer}");
    }
}

#[test]
fn startup_errors_say_each_cause_once() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let base = format!("http://127.0.0.1:{port}");
    for (env, repeated) in [
        (
            vec![("DISCORD_API_BASE", base.as_str())],
            "Error while sending HTTP request",
        ),
        (vec![("CITEBOT_COOLDOWN", "bogus")], "invalid cooldown"),
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = Command::new(env!("CARGO_BIN_EXE_citebot"))
            .current_dir(dir.path())
            .env("DISCORD_TOKEN", "MTIz.fake.token")
            .env(
                "CITEBOT_RESPONSES",
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("responses"),
            )
            .envs(env)
            .arg("run")
            .output()
            .expect("run citebot");
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        let last = stderr
            .lines()
            .rfind(|l| l.starts_with("citebot:"))
            .unwrap_or_else(|| panic!("no error line: {stderr}"));
        assert_eq!(last.matches(repeated).count(), 1, "{last}");
    }
}

#[test]
fn a_reader_that_stops_reading_ends_the_command_quietly() {
    // `citebot facts | head -1`, `citebot ask ... | head -c 100`: the pipe closes before the
    // output is written (loading takes milliseconds), and the command ends without a panic.
    for args in [
        &["ask", "--json", "porque o R2 atrasou?"][..],
        &["ask", "porque o R2 atrasou?"][..],
        &["facts"][..],
        &["check"][..],
    ] {
        let mut child = citebot()
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run citebot");
        drop(child.stdout.take());
        let out = child.wait_with_output().expect("wait");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(out.status.success(), "{args:?}: {:?} {stderr}", out.status);
    }
}
