//! The quality gate: the dev set must be answered (top-1) and refused as well as the issue asks,
//! and the held-out set — never used for tuning — is measured the same way.

mod common;

use citebot::text::{collapse_whitespace, fold};
use common::{evaluate, question_set, shipped_index};

const MIN_IN_SCOPE_ACCURACY: f64 = 0.95;
const MIN_REFUSAL_RATE: f64 = 0.90;

fn report(name: &str, figures: &common::Figures) {
    println!(
        "{name}: in-scope top-1 {}/{} = {:.3}; out-of-scope refused {}/{} = {:.3}; wrong answers {}; direct passages for in-scope {}",
        figures.in_scope_correct,
        figures.in_scope,
        figures.accuracy(),
        figures.refused,
        figures.out_of_scope,
        figures.refusal_rate(),
        figures.wrong,
        figures.passages,
    );
}

#[test]
fn dev_set_meets_the_quality_gate() {
    let index = shipped_index();
    let set = question_set("devset.tsv");
    let figures = evaluate(&index, &set);
    report("dev set", &figures);
    if std::env::var_os("CITEBOT_SHOW_MISSES").is_some() {
        for miss in &figures.misses {
            println!("  {miss}");
        }
    }
    assert!(
        figures.in_scope >= 110 && figures.out_of_scope >= 40,
        "the dev set is too small"
    );
    assert!(
        figures.accuracy() >= MIN_IN_SCOPE_ACCURACY,
        "in-scope accuracy {:.3} < {MIN_IN_SCOPE_ACCURACY}; misses:\n{}",
        figures.accuracy(),
        figures.misses.join("\n")
    );
    assert!(
        figures.refusal_rate() >= MIN_REFUSAL_RATE,
        "refusal rate {:.3} < {MIN_REFUSAL_RATE}; misses:\n{}",
        figures.refusal_rate(),
        figures.misses.join("\n")
    );
}

#[test]
fn dev_set_covers_every_card_and_is_not_copied_from_them() {
    let index = shipped_index();
    let set = question_set("devset.tsv");
    for card in index.cards() {
        let asked = set
            .iter()
            .filter(|q| q.expected.contains(&card.command))
            .count();
        assert!(
            asked >= 8,
            "/{} has only {asked} dev questions",
            card.command
        );
    }
    let normalise = |q: &str| {
        collapse_whitespace(
            &fold(q)
                .chars()
                .map(|c| {
                    if c.is_alphanumeric() || c == '%' {
                        c
                    } else {
                        ' '
                    }
                })
                .collect::<String>(),
        )
    };
    let every_set = ["devset.tsv", "devset2.tsv", "holdout.tsv"]
        .map(question_set)
        .concat();
    for item in &every_set {
        let dev = normalise(&item.question);
        for card in index.cards() {
            for (_, paraphrase) in card.questions() {
                assert_ne!(
                    dev,
                    normalise(paraphrase),
                    "question at line {} of a question set is copied from /{}",
                    item.line,
                    card.command
                );
            }
        }
    }
}

/// A second dev set, written later by someone else in five personas (journalist, gamer slang,
/// engineer, non-native speaker, fragments). Measured first untouched (in-scope 0.683, refusal
/// 0.895), then used with the first for the lexicon and the tuning grid. Harder than the first:
/// its floor only catches a collapse, and its figures are printed.
#[test]
fn second_dev_set_is_measured() {
    let index = shipped_index();
    let figures = evaluate(&index, &question_set("devset2.tsv"));
    report("dev set 2", &figures);
    if std::env::var_os("CITEBOT_SHOW_MISSES").is_some() {
        for miss in &figures.misses {
            println!("  {miss}");
        }
    }
    assert!(
        figures.accuracy() >= 0.85,
        "in-scope accuracy {:.3}",
        figures.accuracy()
    );
    assert!(
        figures.refusal_rate() >= 0.80,
        "refusal rate {:.3}",
        figures.refusal_rate()
    );
}

#[test]
fn held_out_set_is_measured() {
    let index = shipped_index();
    let figures = evaluate(&index, &question_set("holdout.tsv"));
    report("held-out set", &figures);
    // Never tuned on: this floor only catches a collapse, the dev set holds the real gate.
    assert!(
        figures.accuracy() >= 0.80,
        "held-out in-scope accuracy {:.3}",
        figures.accuracy()
    );
    assert!(
        figures.refusal_rate() >= 0.80,
        "held-out refusal rate {:.3}",
        figures.refusal_rate()
    );
}

/// Where the scoring constants come from: a grid over the dev set (never the held-out set).
/// Run with `cargo test --release --test quality -- --ignored --nocapture tune`.
#[test]
#[ignore]
fn tune_on_the_dev_set() {
    use citebot::index::Tuning;
    use citebot::{Index, Responses};
    let responses = Responses::load(&common::responses_dir()).expect("valid responses");
    let mut set = question_set("devset.tsv");
    set.extend(question_set("devset2.tsv"));
    let mut results = Vec::new();
    for threshold in [0.5, 0.55, 0.6] {
        for answer_type_factor in [0.8, 0.6, 0.4] {
            for coverage_weight in [0.6, 0.7] {
                for unknown in [4.0, 5.0] {
                    for card_weight in [0.3, 0.5] {
                        let tuning = Tuning {
                            answer_threshold: threshold,
                            answer_type_factor,
                            coverage_weight,
                            unknown_weight: unknown,
                            card_weight,
                            ..Tuning::default()
                        };
                        let index = Index::with_tuning(responses.clone(), tuning);
                        let figures = evaluate(&index, &set);
                        // A wrong answer (a card for a question it does not answer) is the
                        // worst failure: it counts twice as much as a needless refusal.
                        let asked = (figures.in_scope + figures.out_of_scope) as f64;
                        let objective = figures.accuracy() + figures.refusal_rate()
                            - 2.0 * figures.wrong as f64 / asked;
                        results.push((
                            objective,
                            figures.accuracy(),
                            figures.refusal_rate(),
                            figures.wrong,
                            tuning,
                        ));
                    }
                }
            }
        }
    }
    results.sort_by(|a, b| b.0.total_cmp(&a.0));
    for (objective, accuracy, refusal, wrong, tuning) in results.iter().take(12) {
        println!("{objective:.3} acc {accuracy:.3} refusal {refusal:.3} wrong {wrong} {tuning:?}");
    }
}

#[test]
fn replies_come_in_the_language_of_the_question() {
    use citebot::Lang;
    let index = shipped_index();
    let cases = [
        ("why was R2 delayed?", Lang::En),
        ("h20 deal 15%?", Lang::En),
        ("what went wrong with the ascend chips", Lang::En),
        ("did huawei send engineers", Lang::En),
        ("who is the ceo of deepseek?", Lang::En),
        ("when will r2 come out", Lang::En),
        ("porque é que o R2 atrasou?", Lang::Pt),
        ("pq o r2 atrasou", Lang::Pt),
        ("acordo dos eua com a nvidia", Lang::Pt),
        ("quando sai o r2", Lang::Pt),
        ("quem é o ceo da deepseek?", Lang::Pt),
        ("os chips da huawei eram instáveis?", Lang::Pt),
    ];
    let wrong: Vec<String> = cases
        .iter()
        .filter_map(|(question, lang)| {
            let got = index.ask(question, None).lang;
            (got != *lang).then(|| format!("{question:?}: {got:?}, expected {lang:?}"))
        })
        .collect();
    assert!(wrong.is_empty(), "{wrong:#?}");
}
