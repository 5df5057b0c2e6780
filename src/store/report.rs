//! What the log says about a period: questions per day by outcome, the most frequent misses
//! grouped by their closest card, cards ranked by 👎 share, the slowest answers. Rendered for a
//! terminal, as JSON, or as one self-contained HTML page whose charts are inline SVG.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use plotters::prelude::*;
use serde::Serialize;

use super::{AskedQuestion, Outcome};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DayCounts {
    /// `YYYY-MM-DD` (UTC).
    pub day: String,
    pub answered: u64,
    pub suggested: u64,
    pub refused: u64,
    pub cooldown: u64,
    pub chat: u64,
    pub silent: u64,
}

impl DayCounts {
    pub fn new(day: String) -> DayCounts {
        DayCounts {
            day,
            answered: 0,
            suggested: 0,
            refused: 0,
            cooldown: 0,
            chat: 0,
            silent: 0,
        }
    }

    pub fn add(&mut self, outcome: Outcome, count: u64) {
        *self.slot(outcome) += count;
    }

    fn slot(&mut self, outcome: Outcome) -> &mut u64 {
        match outcome {
            Outcome::Answered => &mut self.answered,
            Outcome::Suggested => &mut self.suggested,
            Outcome::Refused => &mut self.refused,
            Outcome::Cooldown => &mut self.cooldown,
            Outcome::Chat => &mut self.chat,
            Outcome::Silent => &mut self.silent,
        }
    }

    pub fn get(&self, outcome: Outcome) -> u64 {
        match outcome {
            Outcome::Answered => self.answered,
            Outcome::Suggested => self.suggested,
            Outcome::Refused => self.refused,
            Outcome::Cooldown => self.cooldown,
            Outcome::Chat => self.chat,
            Outcome::Silent => self.silent,
        }
    }

    pub fn total(&self) -> u64 {
        Outcome::ALL.iter().map(|&o| self.get(o)).sum()
    }
}

/// Refused and suggested questions whose closest card is the same.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MissedGroup {
    /// `None` when the index had no card near them at all.
    pub closest: Option<String>,
    pub times: u64,
    pub questions: Vec<AskedQuestion>,
}

impl MissedGroup {
    /// Groups questions by closest card, the most missed card first.
    pub fn group(questions: Vec<AskedQuestion>) -> Vec<MissedGroup> {
        let mut groups: BTreeMap<Option<String>, MissedGroup> = BTreeMap::new();
        for question in questions {
            let group = groups
                .entry(question.closest.clone())
                .or_insert_with(|| MissedGroup {
                    closest: question.closest.clone(),
                    times: 0,
                    questions: Vec::new(),
                });
            group.times += question.times;
            group.questions.push(question);
        }
        let mut groups: Vec<MissedGroup> = groups.into_values().collect();
        groups.sort_by(|a, b| b.times.cmp(&a.times).then(a.closest.cmp(&b.closest)));
        groups
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CardVotes {
    pub card: String,
    pub up: u64,
    pub down: u64,
    /// 👎 / all votes.
    pub down_share: f64,
}

impl CardVotes {
    pub fn new(card: String, up: u64, down: u64) -> CardVotes {
        let total = up + down;
        CardVotes {
            card,
            up,
            down,
            down_share: if total == 0 {
                0.0
            } else {
                down as f64 / total as f64
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SlowAnswer {
    pub at: i64,
    pub entry: String,
    pub outcome: String,
    pub card: Option<String>,
    pub latency_ms: f64,
    pub question: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Unix seconds, inclusive.
    pub since: i64,
    pub until: i64,
    pub questions: u64,
    /// Share of all questions, per outcome.
    pub rates: BTreeMap<&'static str, f64>,
    pub days: Vec<DayCounts>,
    pub missed: Vec<MissedGroup>,
    /// Every vote in the period, on any answer (refusals and suggestions included).
    pub votes_up: u64,
    pub votes_down: u64,
    /// Votes on answers with a card, most 👎 first.
    pub cards: Vec<CardVotes>,
    pub slowest: Vec<SlowAnswer>,
}

impl Report {
    pub fn new(
        since: i64,
        until: i64,
        days: Vec<DayCounts>,
        missed: Vec<MissedGroup>,
        (votes_up, votes_down): (u64, u64),
        mut cards: Vec<CardVotes>,
        slowest: Vec<SlowAnswer>,
    ) -> Report {
        let questions: u64 = days.iter().map(DayCounts::total).sum();
        let rates = Outcome::ALL
            .iter()
            .map(|&outcome| {
                let count: u64 = days.iter().map(|d| d.get(outcome)).sum();
                let rate = if questions == 0 {
                    0.0
                } else {
                    count as f64 / questions as f64
                };
                (outcome.as_str(), rate)
            })
            .collect();
        cards.sort_by(|a, b| {
            b.down_share
                .total_cmp(&a.down_share)
                .then(b.down.cmp(&a.down))
                .then(a.card.cmp(&b.card))
        });
        Report {
            since,
            until,
            questions,
            rates,
            days,
            missed,
            votes_up,
            votes_down,
            cards,
            slowest,
        }
    }

    pub fn rate(&self, outcome: Outcome) -> f64 {
        self.rates.get(outcome.as_str()).copied().unwrap_or(0.0)
    }

    /// (👍, 👎) on every answer of the period.
    pub fn votes(&self) -> (u64, u64) {
        (self.votes_up, self.votes_down)
    }

    pub fn json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|_| "{}".into())
    }

    /// A plain-text report for a terminal.
    pub fn terminal(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "citebot report: {} to {} (UTC), {} question(s)",
            day_of(self.since),
            day_of(self.until),
            self.questions
        );
        if self.questions == 0 {
            out.push_str("Nothing was asked in this period.\n");
            return out;
        }
        let rates: Vec<String> = Outcome::ALL
            .iter()
            .map(|&o| format!("{} {:.0}%", o.as_str(), self.rate(o) * 100.0))
            .collect();
        let _ = writeln!(out, "{}\n", rates.join(" · "));
        let _ = writeln!(
            out,
            "{:<12} {:>6} {:>9} {:>10} {:>8} {:>9} {:>5} {:>7}",
            "day", "total", "answered", "suggested", "refused", "cooldown", "chat", "silent"
        );
        for day in &self.days {
            let _ = writeln!(
                out,
                "{:<12} {:>6} {:>9} {:>10} {:>8} {:>9} {:>5} {:>7}",
                day.day,
                day.total(),
                day.answered,
                day.suggested,
                day.refused,
                day.cooldown,
                day.chat,
                day.silent
            );
        }
        out.push_str(
            "\nMost frequent unanswered questions, by closest card (teach them with /teach):\n",
        );
        if self.missed.is_empty() {
            out.push_str("  (none)\n");
        }
        for group in self.missed.iter().take(10) {
            let card = group
                .closest
                .as_deref()
                .map_or("(no close card)".to_string(), |c| format!("/{c}"));
            let _ = writeln!(out, "  {card}: {} time(s)", group.times);
            for question in group.questions.iter().take(5) {
                let _ = writeln!(
                    out,
                    "    {:>3}× [{}] {}",
                    question.times,
                    question.outcome.as_str(),
                    one_line(&question.question, 100)
                );
            }
        }
        let _ = writeln!(
            out,
            "\nVotes: 👍 {} · 👎 {} (on any answer; by card below)",
            self.votes_up, self.votes_down
        );
        out.push_str("Cards by share of 👎:\n");
        if self.cards.is_empty() {
            out.push_str("  (no votes)\n");
        }
        for card in &self.cards {
            let _ = writeln!(
                out,
                "  /{:<24} 👍 {:>4}  👎 {:>4}  ({:.0}% 👎)",
                card.card,
                card.up,
                card.down,
                card.down_share * 100.0
            );
        }
        out.push_str("\nSlowest answers:\n");
        for slow in &self.slowest {
            let _ = writeln!(
                out,
                "  {:>8.1} ms  {:<16} {:<9} {}",
                slow.latency_ms,
                slow.entry,
                slow.outcome,
                slow.question
                    .as_deref()
                    .map(|q| one_line(q, 70))
                    .or_else(|| slow.card.as_ref().map(|c| format!("/{c}")))
                    .unwrap_or_default()
            );
        }
        out
    }

    /// One self-contained HTML page: no script, no stylesheet or font from the network; the
    /// charts are inline SVG.
    pub fn html(&self) -> String {
        let mut page = String::new();
        let _ = write!(
            page,
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/>\
             <title>citebot report {since} to {until}</title>\
             <style>body{{font-family:sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}}\
             table{{border-collapse:collapse}}td,th{{padding:.2rem .6rem;border-bottom:1px solid #ddd;text-align:left}}\
             td.n{{text-align:right}}</style></head><body>\n\
             <h1>citebot report</h1><p>{since} to {until} (UTC): <strong>{total}</strong> question(s). {rates}</p>\n",
            since = day_of(self.since),
            until = day_of(self.until),
            total = self.questions,
            rates = escape(
                &Outcome::ALL
                    .iter()
                    .map(|&o| format!("{} {:.0}%", o.as_str(), self.rate(o) * 100.0))
                    .collect::<Vec<_>>()
                    .join(" · ")
            ),
        );
        page.push_str("<h2>Questions per day</h2>\n");
        page.push_str(&self.days_chart());
        let _ = writeln!(
            page,
            "<h2>Votes per card</h2>\n<p>All votes: 👍 {} · 👎 {}</p>",
            self.votes_up, self.votes_down
        );
        page.push_str(&self.votes_chart());
        page.push_str("<h2>Most frequent unanswered questions</h2>\n<table><tr><th>closest card</th><th>times</th><th>outcome</th><th>question</th></tr>\n");
        for group in &self.missed {
            for question in &group.questions {
                let _ = writeln!(
                    page,
                    "<tr><td>{}</td><td class=\"n\">{}</td><td>{}</td><td>{}</td></tr>",
                    escape(group.closest.as_deref().unwrap_or("—")),
                    question.times,
                    question.outcome.as_str(),
                    escape(&question.question)
                );
            }
        }
        page.push_str("</table>\n<h2>Slowest answers</h2>\n<table><tr><th>ms</th><th>entry</th><th>outcome</th><th>question or card</th></tr>\n");
        for slow in &self.slowest {
            let _ = writeln!(
                page,
                "<tr><td class=\"n\">{:.1}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                slow.latency_ms,
                escape(&slow.entry),
                escape(&slow.outcome),
                escape(
                    slow.question
                        .as_deref()
                        .or(slow.card.as_deref())
                        .unwrap_or("")
                )
            );
        }
        page.push_str("</table>\n</body></html>\n");
        page
    }

    /// Stacked bars: one per day, one colour per outcome.
    fn days_chart(&self) -> String {
        let colours = [
            (Outcome::Answered, RGBColor(46, 139, 87)),
            (Outcome::Suggested, RGBColor(230, 160, 30)),
            (Outcome::Refused, RGBColor(200, 60, 60)),
            (Outcome::Cooldown, RGBColor(120, 120, 120)),
            (Outcome::Chat, RGBColor(90, 120, 200)),
            (Outcome::Silent, RGBColor(200, 200, 200)),
        ];
        let labels: Vec<String> = self.days.iter().map(|d| d.day.clone()).collect();
        let bars: Vec<Vec<(u64, RGBColor, &'static str)>> = self
            .days
            .iter()
            .map(|d| {
                colours
                    .iter()
                    .map(|&(o, colour)| (d.get(o), colour, o.as_str()))
                    .collect()
            })
            .collect();
        bar_chart("questions", &labels, &bars)
    }

    /// Two bars per card: 👍 and 👎.
    fn votes_chart(&self) -> String {
        let labels: Vec<String> = self.cards.iter().map(|c| format!("/{}", c.card)).collect();
        let bars: Vec<Vec<(u64, RGBColor, &'static str)>> = self
            .cards
            .iter()
            .map(|c| {
                vec![
                    (c.up, RGBColor(46, 139, 87), "up"),
                    (c.down, RGBColor(200, 60, 60), "down"),
                ]
            })
            .collect();
        bar_chart("votes", &labels, &bars)
    }
}

/// An SVG bar chart: bar `i` is labelled `labels[i]` and stacks its segments bottom-up; the legend
/// names each segment once.
fn bar_chart(
    y_label: &str,
    labels: &[String],
    bars: &[Vec<(u64, RGBColor, &'static str)>],
) -> String {
    if labels.is_empty() {
        return "<p>(nothing in this period)</p>\n".to_string();
    }
    let top = bars
        .iter()
        .map(|bar| bar.iter().map(|s| s.0).sum::<u64>())
        .max()
        .unwrap_or(0)
        .max(1);
    let width = (160 + 110 * labels.len() as u32).clamp(480, 1600);
    let mut svg = String::new();
    let drawn = (|| -> Result<(), Box<dyn std::error::Error>> {
        let root = SVGBackend::with_string(&mut svg, (width, 320)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d(
                -0.5f64..(labels.len() as f64 - 0.5),
                0f64..(top as f64 * 1.1),
            )?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(labels.len())
            .x_label_formatter(&|x| {
                let i = x.round();
                if (x - i).abs() < 0.01 && i >= 0.0 {
                    labels.get(i as usize).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .y_label_formatter(&|y| format!("{y:.0}"))
            .y_desc(y_label)
            .draw()?;
        let mut named = std::collections::BTreeSet::new();
        for (i, bar) in bars.iter().enumerate() {
            let mut base = 0u64;
            for &(value, colour, name) in bar {
                if value == 0 {
                    continue;
                }
                let (x0, x1) = (i as f64 - 0.35, i as f64 + 0.35);
                let series = chart.draw_series(std::iter::once(Rectangle::new(
                    [(x0, base as f64), (x1, (base + value) as f64)],
                    colour.filled(),
                )))?;
                if named.insert(name) {
                    series.label(name).legend(move |(x, y)| {
                        Rectangle::new([(x, y - 5), (x + 10, y + 5)], colour.filled())
                    });
                }
                base += value;
            }
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()?;
        root.present()?;
        Ok(())
    })();
    match drawn {
        Ok(()) => format!("{svg}\n"),
        Err(err) => format!("<p>(chart not drawn: {})</p>\n", escape(&err.to_string())),
    }
}

fn day_of(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

fn one_line(text: &str, max: usize) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        flat
    } else {
        let mut cut: String = flat.chars().take(max.saturating_sub(1)).collect();
        cut.push('…');
        cut
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Report {
        let mut monday = DayCounts::new("2026-11-23".into());
        monday.add(Outcome::Answered, 6);
        monday.add(Outcome::Refused, 2);
        let mut tuesday = DayCounts::new("2026-11-24".into());
        tuesday.add(Outcome::Suggested, 2);
        let missed = MissedGroup::group(vec![AskedQuestion {
            question: "<b>who</b> pays?".into(),
            times: 2,
            closest: Some("h20-deal".into()),
            outcome: Outcome::Refused,
        }]);
        let cards = vec![
            CardVotes::new("a".into(), 3, 1),
            CardVotes::new("b".into(), 1, 3),
        ];
        Report::new(
            1_763_856_000,
            1_764_028_800,
            vec![monday, tuesday],
            missed,
            (5, 6),
            cards,
            vec![],
        )
    }

    #[test]
    fn rates_are_shares_of_all_questions_and_cards_rank_by_down_share() {
        let report = sample();
        assert_eq!(report.questions, 10);
        assert!((report.rate(Outcome::Answered) - 0.6).abs() < 1e-9);
        assert!((report.rate(Outcome::Suggested) - 0.2).abs() < 1e-9);
        assert_eq!(report.cards[0].card, "b");
        assert_eq!(
            report.votes(),
            (5, 6),
            "every vote, not only those on cards"
        );
    }

    #[test]
    fn the_html_page_escapes_questions_and_draws_both_charts_inline() {
        let page = sample().html();
        assert!(page.contains("&lt;b&gt;who&lt;/b&gt; pays?"));
        assert!(!page.contains("<b>who"));
        assert_eq!(page.matches("<svg").count(), 2);
        // Nothing to fetch: the only address is the SVG namespace, which is a name, not a link.
        let addresses = page.matches("http").count();
        let namespaces = page.matches("xmlns=\"http://www.w3.org/2000/svg\"").count();
        assert_eq!(addresses, namespaces, "{page}");
        assert!(!page.contains("<script"));
    }

    #[test]
    fn unix_days_print_as_civil_dates() {
        assert_eq!(day_of(0), "1970-01-01");
        assert_eq!(day_of(951_782_400), "2000-02-29");
        assert_eq!(day_of(1_795_910_400), "2026-11-29");
    }
}
