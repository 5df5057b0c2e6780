//! `citebot check` and the data invariants: every citation verbatim, every broken copy of
//! `responses/` rejected with the right `path:line`.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

use citebot_testkit::bot::copy_dir;
use common::{responses_dir, shipped_index};

fn citebot(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_citebot"))
        .args(args)
        .env_remove("CITEBOT_RESPONSES")
        .output()
        .expect("run citebot")
}

/// A scratch copy of the shipped responses folder.
struct Copy {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl Copy {
    fn new() -> Copy {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("responses");
        copy_dir(&responses_dir(), &root);
        Copy { _dir: dir, root }
    }

    fn card(&self, command: &str) -> PathBuf {
        self.root.join("facts").join(format!("{command}.toml"))
    }

    /// Replaces `from` by `to` in a file; returns the 1-based line where `to` now starts.
    fn edit(&self, path: &Path, from: &str, to: &str) -> usize {
        let text = std::fs::read_to_string(path).expect("read");
        let at = text
            .find(from)
            .unwrap_or_else(|| panic!("{from:?} not in {}", path.display()));
        let edited = format!("{}{}{}", &text[..at], to, &text[at + from.len()..]);
        std::fs::write(path, edited).expect("write");
        text[..at].matches('\n').count() + 1
    }

    fn check(&self) -> (bool, String) {
        let out = citebot(&[
            "--responses",
            self.root.to_str().expect("utf-8 path"),
            "check",
        ]);
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    }
}

fn assert_rejected(copy: &Copy, path: &Path, line: usize, needle: &str) {
    let (ok, out) = copy.check();
    assert!(!ok, "check accepted a broken copy:\n{out}");
    let location = format!("{}:{line}: error:", path.display());
    assert!(
        out.lines()
            .any(|l| l.starts_with(&location) && l.contains(needle)),
        "expected `{location} ...{needle}...` in:\n{out}"
    );
}

#[test]
fn shipped_responses_pass_check() {
    let out = citebot(&[
        "--responses",
        responses_dir().to_str().expect("utf-8"),
        "check",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains("ok, 12 fact cards, 0 taught question(s), 13 paragraphs, 0 warning(s)"),
        "{stdout}"
    );
}

#[test]
fn every_citation_is_verbatim_in_the_article() {
    let index = shipped_index();
    let article = &index.responses().article;
    let mut cited = std::collections::BTreeSet::new();
    for card in index.cards() {
        assert!((1..=3).contains(&card.citations.len()), "/{}", card.command);
        for citation in &card.citations {
            assert_eq!(&article.text[citation.start..citation.end], citation.quote);
            let paragraph = &article.paragraphs[citation.paragraph - 1];
            assert!(paragraph.start <= citation.start && citation.end <= paragraph.end);
            cited.insert(citation.paragraph);
        }
    }
    let body: Vec<usize> = article
        .paragraphs
        .iter()
        .filter(|p| !p.heading)
        .map(|p| p.number)
        .collect();
    assert_eq!(article.paragraphs.len(), 13);
    assert_eq!(
        article
            .paragraphs
            .iter()
            .filter(|p| p.heading)
            .map(|p| p.number)
            .collect::<Vec<_>>(),
        [2, 10]
    );
    assert_eq!(
        cited.into_iter().collect::<Vec<_>>(),
        body,
        "every body paragraph is cited"
    );
}

#[test]
fn the_article_is_kept_exactly_as_received() {
    let shared =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/article/deepseek-r2-huawei.pt.txt");
    if let Ok(original) = std::fs::read(&shared) {
        let copy = std::fs::read(responses_dir().join("article.pt.txt")).expect("article");
        assert_eq!(copy, original);
    }
}

#[test]
fn malformed_toml_is_reported_at_its_line() {
    let copy = Copy::new();
    let path = copy.card("h20-deal");
    let line = copy.edit(&path, "[answer]", "[answer\n");
    assert_rejected(&copy, &path, line, "invalid card");
}

#[test]
fn unknown_key_is_reported() {
    let copy = Copy::new();
    let path = copy.card("h20-deal");
    let line = copy.edit(&path, "[description]", "comand = \"typo\"\n[description]");
    assert_rejected(&copy, &path, line, "unknown field");
}

#[test]
fn quote_that_is_not_verbatim_is_reported() {
    let copy = Copy::new();
    let path = copy.card("avoid-h20");
    // The article writes "NVIDIA , exigindo" with a space before the comma; fixing it is an edit.
    let line = copy.edit(&path, "NVIDIA , exigindo", "NVIDIA, exigindo");
    assert_rejected(&copy, &path, line, "not verbatim");
}

#[test]
fn duplicate_command_across_pt_names_is_reported() {
    let copy = Copy::new();
    let path = copy.card("h20-deal");
    let line = copy.edit(
        &path,
        "command_pt = \"acordo-h20\"",
        "command_pt = \"evitar-h20\"",
    );
    assert_rejected(&copy, &path, line, "already used");
}

#[test]
fn invalid_discord_name_is_reported() {
    let copy = Copy::new();
    let path = copy.card("gpu-shortage");
    let line = copy.edit(
        &path,
        "command_pt = \"escassez-gpus\"",
        "command_pt = \"Escassez de GPUs\"",
    );
    assert_rejected(&copy, &path, line, "not a valid Discord command name");
}

#[test]
fn over_long_description_and_answer_are_reported() {
    let copy = Copy::new();
    let path = copy.card("r1-training");
    let long = "x".repeat(101);
    let text = std::fs::read_to_string(&path).expect("read");
    let en = text
        .lines()
        .find(|l| l.starts_with("en = \"") && l.len() < 130)
        .expect("description line");
    let line = copy.edit(&path, en, &format!("en = \"{long}\""));
    assert_rejected(&copy, &path, line, "description.en is 101 characters");

    let copy = Copy::new();
    let path = copy.card("r1-training");
    let text = std::fs::read_to_string(&path).expect("read");
    let answer_at = text.find("[answer]").expect("answer table");
    let pt = text[answer_at..]
        .lines()
        .find(|l| l.starts_with("pt = \""))
        .expect("answer.pt");
    let line = copy.edit(&path, pt, &format!("pt = \"{}\"", "y".repeat(601)));
    assert_rejected(&copy, &path, line, "answer.pt is 601 characters");
}

#[test]
fn too_few_paraphrases_are_reported() {
    let copy = Copy::new();
    let path = copy.card("huawei-engineers");
    let text = std::fs::read_to_string(&path).expect("read");
    let start = text.find("en = [").expect("questions.en");
    let end = start + text[start..].find(']').expect("end of list") + 1;
    let line = copy.edit(&path, &text[start..end], "en = [\"who did huawei send?\"]");
    assert_rejected(&copy, &path, line, "questions.en has 1 question(s)");
}

#[test]
fn uncited_paragraph_is_a_warning_not_an_error() {
    let copy = Copy::new();
    std::fs::remove_file(copy.card("h20-unsafe")).expect("remove");
    let (ok, out) = copy.check();
    assert!(ok, "a warning alone must not fail check:\n{out}");
    let article = copy.root.join("article.pt.txt");
    let text = std::fs::read_to_string(&article).expect("article");
    let line = text[..text.find("Curiosamente").expect("§13")]
        .matches('\n')
        .count()
        + 1;
    let expected = format!(
        "{}:{line}: warning: paragraph §13 is not cited by any card",
        article.display()
    );
    assert!(out.contains(&expected), "expected {expected} in:\n{out}");
}

#[test]
fn every_problem_is_listed_not_just_the_first() {
    let copy = Copy::new();
    let first = copy.card("h20-deal");
    let second = copy.card("avoid-h20");
    let first_line = copy.edit(&first, "[answer]", "[answer\n");
    let second_line = copy.edit(&second, "NVIDIA , exigindo", "NVIDIA, exigindo");
    assert_rejected(&copy, &first, first_line, "invalid card");
    assert_rejected(&copy, &second, second_line, "not verbatim");
}

#[test]
fn ask_refuses_to_start_on_broken_data() {
    let copy = Copy::new();
    copy.edit(&copy.card("h20-deal"), "[answer]", "[answer\n");
    let out = citebot(&[
        "--responses",
        copy.root.to_str().expect("utf-8"),
        "ask",
        "h20 deal",
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("h20-deal.toml:"), "{stderr}");
}

#[test]
fn with_no_card_for_it_a_matching_sentence_is_quoted_as_a_direct_passage() {
    let copy = Copy::new();
    std::fs::remove_file(copy.card("h20-unsafe")).expect("remove");
    let out = citebot(&[
        "--responses",
        copy.root.to_str().expect("utf-8"),
        "ask",
        "--json",
        "os meios de comunicação estatais chineses descreveram os GPUs H20 como inseguros e desatualizados?",
    ]);
    assert!(out.status.success());
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(answer["answered"], true, "{answer}");
    assert_eq!(answer["fact"], serde_json::Value::Null, "no card: {answer}");
    let citations = answer["citations"].as_array().expect("citations");
    assert_eq!(citations.len(), 1);
    assert_eq!(citations[0]["paragraph"], 13);
    let article = std::fs::read_to_string(copy.root.join("article.pt.txt")).expect("article");
    let quote = citations[0]["quote"].as_str().expect("quote");
    assert!(article.contains(quote), "the passage is verbatim: {quote}");
}

#[test]
fn a_card_may_not_take_a_built_in_commands_name_in_either_language() {
    let copy = Copy::new();
    let card = copy.card("why-r2-delayed");
    let line = copy.edit(&card, "\"atraso-r2\"", "\"ask\"");
    assert_rejected(&copy, &card, line, "name `ask` is a built-in command");
    let copy = Copy::new();
    let card = copy.card("why-r2-delayed");
    let line = copy.edit(
        &card,
        "command_pt = \"porque-r2-atrasou\"",
        "command_pt = \"fonte\"",
    );
    assert_rejected(&copy, &card, line, "name `fonte` is a built-in command");
}

/// A minimal valid card named `name`, quoting the article's first sentence.
fn generated_card(name: &str) -> String {
    generated_card_with(name, 8)
}

/// [`generated_card`] with `count` questions per language.
fn generated_card_with(name: &str, count: usize) -> String {
    let questions = |lang: &str| -> String {
        (0..count)
            .map(|i| format!("\"{lang} question {name} number{i}\""))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "command = \"{name}\"\ncommand_pt = \"{name}-pt\"\n[description]\nen = \"Generated {name}\"\npt = \"Gerado {name}\"\n[questions]\nen = [{}]\npt = [{}]\n[answer]\nen = \"A generated answer.\"\npt = \"Uma resposta gerada.\"\n[[citations]]\nquote = \"A aposta da China na sua soberania tecnológica\"\n",
        questions("en"),
        questions("pt")
    )
}

#[test]
fn more_cards_than_discord_registers_are_refused_at_the_first_one_past_the_limit() {
    let copy = Copy::new();
    // 12 shipped cards + 83 = 95 cards: with /ask, /facts, /source, /teach and /stats, exactly
    // 100 commands.
    for i in 0..83 {
        let name = format!("zz-generated-{i:03}");
        std::fs::write(copy.card(&name), generated_card(&name)).expect("write card");
    }
    let (ok, out) = copy.check();
    assert!(ok, "95 cards fit:\n{out}");
    let name = "zz-generated-083";
    std::fs::write(copy.card(name), generated_card(name)).expect("write card");
    assert_rejected(&copy, &copy.card(name), 1, "too many cards");
}

#[test]
fn paraphrases_equal_once_folded_are_reported_with_both_places() {
    let copy = Copy::new();
    let card = copy.card("why-r2-delayed");
    let line = copy.edit(
        &card,
        "\"Why was DeepSeek's R2 delayed?\",",
        "\"Why was DeepSeek's R2 delayed?\", \"ÁCORDO   h20!!\",",
    );
    let (ok, out) = copy.check();
    assert!(!ok, "{out}");
    let location = format!("{}:{line}: error:", card.display());
    let other = format!("{}:", copy.card("h20-deal").display());
    assert!(
        out.lines()
            .any(|l| l.starts_with(&location) && l.contains("also in") && l.contains(&other)),
        "{out}"
    );
}

#[test]
fn an_article_without_blank_lines_between_paragraphs_is_warned_about() {
    let copy = Copy::new();
    let text_path = copy.root.join("article.pt.txt");
    let text = std::fs::read_to_string(&text_path).expect("article");
    std::fs::write(&text_path, text.replace("\n\n", "\n")).expect("write");
    let (_, out) = copy.check();
    let location = format!("{}:1: warning:", text_path.display());
    assert!(
        out.lines().any(|l| l.starts_with(&location)
            && l.contains("paragraphs (§N) are blocks separated by blank lines")),
        "{out}"
    );
}

#[test]
fn cards_in_subfolders_or_with_an_uppercase_extension_are_errors_not_ignored() {
    let copy = Copy::new();
    let sub = copy.root.join("facts").join("sub");
    std::fs::create_dir_all(&sub).expect("mkdir");
    std::fs::write(sub.join("x.toml"), generated_card("x")).expect("write");
    let upper = copy.root.join("facts").join("extra.TOML");
    std::fs::write(&upper, generated_card("extra")).expect("write");
    assert_rejected(&copy, &sub, 1, "not read");
    assert_rejected(&copy, &upper, 1, "not read");
}

#[test]
fn a_quote_too_short_to_say_anything_is_refused() {
    let copy = Copy::new();
    let card = copy.card("h20-deal");
    let text = std::fs::read_to_string(&card).expect("card");
    let start = text.find("quote = \"").expect("a quote");
    let end = start + text[start..].find('\n').expect("end of line");
    let line = text[..start].matches('\n').count() + 1;
    std::fs::write(
        &card,
        format!("{}quote = \"a\"{}", &text[..start], &text[end..]),
    )
    .expect("write");
    assert_rejected(&copy, &card, line, "shorter than");
}

#[test]
fn every_line_of_check_output_names_its_place() {
    let copy = Copy::new();
    let card = copy.card("h20-deal");
    let line = copy.edit(&card, "[answer]", "[answer");
    assert_rejected(&copy, &card, line, "invalid card");
    let (_, out) = copy.check();
    let root = copy.root.display().to_string();
    for printed in out.lines() {
        assert!(
            printed.starts_with(&root),
            "a line without its path: {printed:?}\n{out}"
        );
    }
}

#[test]
fn a_card_with_thousands_of_questions_is_checked_in_linear_time() {
    let copy = Copy::new();
    let name = "zz-big";
    std::fs::write(copy.card(name), generated_card_with(name, 10_000)).expect("write card");
    let started = std::time::Instant::now();
    let (ok, out) = copy.check();
    assert!(ok, "{out}");
    // Measured: 4 s in a release build before line numbers were looked up once per card.
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "check took {:?}",
        started.elapsed()
    );
}

#[test]
fn a_lexicon_without_a_concept_the_scorer_needs_is_refused() {
    let copy = Copy::new();
    let lexicon = copy.root.join("lexicon.toml");
    copy.edit(&lexicon, "\nprice = {", "\nprices_renamed = {");
    let source = std::fs::read_to_string(&lexicon).expect("the copied lexicon");
    let rule_line = source
        .lines()
        .position(|l| l.starts_with("price = \"price\""))
        .expect("the shipped [rules] names price")
        + 1;
    assert_rejected(
        &copy,
        &lexicon,
        rule_line,
        "rule `price` names `price`, which is not a concept",
    );
}

#[test]
fn a_broken_article_does_not_hide_the_cards_problems() {
    let copy = Copy::new();
    let meta = copy.root.join("article.toml");
    let meta_line = copy.edit(&meta, "title = ", "titel = ");
    let card = copy.card("why-r2-delayed");
    let card_line = copy.edit(&card, "\"atraso-r2\"", "\"Not A Valid Name\"");
    assert_rejected(&copy, &meta, meta_line, "invalid article metadata");
    assert_rejected(&copy, &card, card_line, "not a valid Discord command name");
}

#[test]
fn learned_questions_are_checked_like_the_cards_and_counted() {
    let copy = Copy::new();
    let learned = copy.root.join("learned");
    std::fs::create_dir_all(&learned).expect("mkdir");
    let file = learned.join("h20-deal.toml");
    std::fs::write(
        &file,
        "questions = [\n    \"a casa branca morde quanto?\",\n    \"Why was DeepSeek's R2 delayed?\",\n]\n",
    )
    .expect("write");
    // The second question is another card's: one question, one card.
    assert_rejected(&copy, &file, 3, "one question must lead to one card");
    std::fs::write(&file, "questions = [\"a casa branca morde quanto?\"]\n").expect("write");
    let (ok, out) = copy.check();
    assert!(ok, "{out}");
    assert!(out.contains("1 taught question(s)"), "{out}");
    let facts = citebot(&["--responses", copy.root.to_str().expect("utf-8"), "facts"]);
    let facts = String::from_utf8_lossy(&facts.stdout).into_owned();
    assert!(
        facts
            .lines()
            .any(|l| l.starts_with("/h20-deal") && l.ends_with("(1 taught)")),
        "{facts}"
    );
    let orphan = learned.join("no-such-card.toml");
    std::fs::write(&orphan, "questions = [\"x y z?\"]\n").expect("write");
    assert_rejected(&copy, &orphan, 1, "there is no card");
    std::fs::remove_file(&orphan).expect("rm");
    std::fs::write(&file, "questions = [\"ok?\"]\nanswer = \"invented\"\n").expect("write");
    assert_rejected(&copy, &file, 2, "unknown field `answer`");
}

#[test]
fn a_summary_naming_no_card_is_reported_at_its_line() {
    let copy = Copy::new();
    let path = copy.root.join("article.toml");
    let line = copy.edit(
        &path,
        "summary = [\"why-r2-delayed\", \"self-sufficiency\"]",
        "summary = [\"why-r2-delayed\", \"no-such-card\"]",
    );
    assert_rejected(&copy, &path, line, "`no-such-card`, which is no fact card");
}

#[test]
fn a_summary_of_more_cards_than_an_answer_shows_is_reported() {
    let copy = Copy::new();
    let path = copy.root.join("article.toml");
    let line = copy.edit(
        &path,
        "summary = [\"why-r2-delayed\", \"self-sufficiency\"]",
        "summary = [\"why-r2-delayed\", \"self-sufficiency\", \"h20-deal\", \"r1-training\"]",
    );
    assert_rejected(&copy, &path, line, "names 4 cards");
}
