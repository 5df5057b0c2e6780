//! The `citebot` binary: parses the command line and hands off to the library.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};

use citebot::store::{SqliteStore, Store};
use citebot::{render, Index, Lang, Responses};

mod logging;

/// mimalloc instead of the system allocator: building the index and answering make many small
/// allocations (tokens, stems, keys), and glibc's malloc and free were a sixth of both profiles.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "citebot",
    version,
    about = "Cited answers about a news article, on the command line and on Discord"
)]
struct Cli {
    /// The responses folder (article, lexicon, fact cards).
    #[arg(
        long,
        global = true,
        env = "CITEBOT_RESPONSES",
        default_value = "responses"
    )]
    responses: PathBuf,
    /// The question log: a SQLite file, or `off` to keep no log (the bot then shows no vote
    /// buttons and registers no /teach or /stats).
    #[arg(long, global = true, env = "CITEBOT_DB", default_value = "citebot.db")]
    db: String,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Answer a question (or `-` to read one question per line from stdin, as JSON lines).
    Ask {
        question: String,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
        /// Force the reply language.
        #[arg(long, value_enum)]
        lang: Option<LangArg>,
        /// Also print how the question was read and scored (for tuning cards and the lexicon).
        #[arg(long)]
        explain: bool,
    },
    /// Validate the responses folder; list every problem as path:line.
    Check,
    /// List every fact card: command, description, paragraphs cited, questions taught.
    Facts,
    /// What was asked over a period, from the question log: per day, by outcome, the most
    /// frequent unanswered questions, cards by share of 👎, the slowest answers.
    Report {
        /// How far back: 7d, 24h, 2w...
        #[arg(long, default_value = "7d")]
        since: String,
        /// Print JSON instead of a table.
        #[arg(long, conflicts_with = "html")]
        json: bool,
        /// Write one self-contained HTML page (charts as inline SVG) to FILE.
        #[arg(long, value_name = "FILE")]
        html: Option<PathBuf>,
    },
    /// Delete everything the question log holds about one Discord user.
    Forget {
        /// The user's Discord id (the log keeps only its salted hash).
        #[arg(long)]
        user: u64,
    },
    /// Run the Discord bot (the default when DISCORD_TOKEN is set). Reads DISCORD_TOKEN,
    /// DISCORD_GUILD_ID and DISCORD_API_BASE from the environment or a .env file.
    Run,
}

#[derive(Clone, Copy, ValueEnum)]
enum LangArg {
    Pt,
    En,
}

impl From<LangArg> for Lang {
    fn from(arg: LangArg) -> Lang {
        match arg {
            LangArg::Pt => Lang::Pt,
            LangArg::En => Lang::En,
        }
    }
}

/// Writes a line to stdout. A closed pipe (`citebot facts | head -1`) is an error that `main`
/// ends quietly, where `println!` would panic.
macro_rules! out {
    ($($arg:tt)*) => {
        writeln!(std::io::stdout(), $($arg)*)?
    };
}

/// [`out!`] without the line end.
macro_rules! out_raw {
    ($($arg:tt)*) => {
        write!(std::io::stdout(), $($arg)*)?
    };
}

fn main() -> ExitCode {
    // A .env file fills in what the real environment lacks; the real environment wins. It is
    // read before the command line, whose defaults come from the environment.
    if let Err(err) = load_dotenv(std::path::Path::new(".env")) {
        eprintln!("citebot: {err:#}");
        return ExitCode::FAILURE;
    }
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        // Whoever reads the output stopped reading: nothing is left to say, and nobody to say it to.
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("citebot: {}", describe(&err));
            ExitCode::FAILURE
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// An error and its causes on one line, each said once: serenity and hyper repeat their cause in
/// their own message ("error sending request: error sending request: ...").
fn describe(err: &anyhow::Error) -> String {
    let mut said = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if said.contains(text.trim()) {
            continue;
        }
        if !said.is_empty() {
            said.push_str(": ");
        }
        said.push_str(&text);
    }
    said
}

/// A question line keeps at most this many bytes (the index reads 1,000 characters); the rest of
/// a longer line is skipped without being held in memory.
const MAX_LINE_BYTES: usize = 4 * citebot::index::MAX_QUESTION_CHARS;

/// Reads one line (without its `\n`), keeping its first `max` bytes and discarding the rest, cut
/// back to a character boundary if the cut fell inside one. `None` at the end of the input.
fn read_bounded_line(input: &mut impl BufRead, max: usize) -> std::io::Result<Option<Vec<u8>>> {
    let mut line = Vec::new();
    let mut saw_any = false;
    let mut truncated = false;
    loop {
        let buffer = input.fill_buf()?;
        if buffer.is_empty() {
            break;
        }
        saw_any = true;
        let (chunk, done) = match buffer.iter().position(|&b| b == b'\n') {
            Some(end) => (&buffer[..end], Some(end + 1)),
            None => (buffer, None),
        };
        let room = max.saturating_sub(line.len());
        truncated |= chunk.len() > room;
        line.extend_from_slice(&chunk[..chunk.len().min(room)]);
        let consumed = done.unwrap_or(buffer.len());
        input.consume(consumed);
        if done.is_some() {
            break;
        }
    }
    if truncated {
        if let Err(err) = std::str::from_utf8(&line) {
            if err.error_len().is_none() {
                line.truncate(err.valid_up_to());
            }
        }
    }
    Ok(saw_any.then_some(line))
}

/// Loads `.env` whole or not at all: a malformed line is an error naming its line (never its
/// text, which may hold the token), instead of silently dropping it and every line after it.
fn load_dotenv(path: &std::path::Path) -> Result<()> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(err) => return Err(err).with_context(|| format!("reading {}", path.display())),
    };
    let mut variables = Vec::new();
    let mut problems = Vec::new();
    let mut searched_from = 0;
    for item in dotenvy::from_read_iter(text.as_bytes()) {
        match item {
            Ok(pair) => variables.push(pair),
            Err(dotenvy::Error::LineParse(line, at)) => {
                let found = text[searched_from..]
                    .find(line.trim_end())
                    .map(|i| i + searched_from);
                let number = found.map_or(0, |i| text[..i].lines().count() + 1);
                searched_from = found.map_or(searched_from, |i| i + line.len().min(text.len() - i));
                problems.push(format!(
                    "{}:{number}: cannot parse this line (at character {}); fix it or comment it out with # (see .env.example)",
                    path.display(),
                    at + 1
                ));
            }
            Err(err) => problems.push(format!("{}: {err}", path.display())),
        }
    }
    if !problems.is_empty() {
        anyhow::bail!("{}", problems.join("\n"));
    }
    for (key, value) in variables {
        if std::env::var_os(&key).is_none() {
            std::env::set_var(key, value);
        }
    }
    Ok(())
}

fn run(cli: Cli) -> Result<ExitCode> {
    let command = match cli.command {
        Some(command) => command,
        None if std::env::var_os("DISCORD_TOKEN").is_some() => Command::Run,
        None => {
            use clap::CommandFactory;
            Cli::command().print_help()?;
            return Ok(ExitCode::from(2));
        }
    };
    let db = store_path(&cli.db);
    match command {
        Command::Run => run_bot(&cli.responses, db),
        Command::Report { since, json, html } => report(db, &since, json, html),
        Command::Forget { user } => {
            let mut store = open_existing(db)?;
            let hash = store.hasher().hash(user);
            let deleted = store.forget(&hash).context("forgetting")?;
            out!(
                "forgot user {user}: {} question(s), {} vote(s), {} taught question record(s) deleted",
                deleted.questions, deleted.votes, deleted.teaches
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Check => check(&cli.responses),
        Command::Facts => {
            let index = load_until_exit(&cli.responses)?;
            for card in index.cards() {
                let paragraphs: Vec<String> =
                    card.paragraphs().iter().map(|p| format!("§{p}")).collect();
                let learned = match card.learned.len() {
                    0 => String::new(),
                    n => format!("  ({n} taught)"),
                };
                out!(
                    "/{:<20} {}  [{}]{learned}",
                    card.command,
                    card.description.en,
                    paragraphs.join(", ")
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Ask {
            question,
            json,
            lang,
            explain,
        } => {
            let index = load_until_exit(&cli.responses)?;
            let lang = lang.map(Lang::from);
            if question == "-" {
                let stdin = std::io::stdin();
                let mut stdout = std::io::stdout().lock();
                let mut input = stdin.lock();
                let mut number = 0;
                while let Some(line) = read_bounded_line(&mut input, MAX_LINE_BYTES)
                    .context("reading questions from stdin")?
                {
                    number += 1;
                    match std::str::from_utf8(&line) {
                        Ok(question) => {
                            let answer = index.ask(question.trim_end_matches('\r'), lang);
                            writeln!(stdout, "{}", render::json(&answer))?;
                        }
                        // One bad line gets its own error object; the batch goes on.
                        Err(err) => writeln!(
                            stdout,
                            "{}",
                            serde_json::json!({"error": format!("line is not UTF-8: {err}"), "line": number})
                        )?,
                    }
                }
                return Ok(ExitCode::SUCCESS);
            }
            let answer = index.ask(&question, lang);
            if explain {
                eprint!("{}", index.explain(&question));
            }
            if json {
                out!("{}", render::json(&answer));
            } else {
                out_raw!(
                    "{}",
                    render::terminal(&answer, &index.responses().article.meta)
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `off` turns the log off; anything else is the database's path.
fn store_path(db: &str) -> Option<PathBuf> {
    let db = db.trim();
    (!db.eq_ignore_ascii_case("off"))
        .then(|| PathBuf::from(if db.is_empty() { "citebot.db" } else { db }))
}

/// Opens the log for reading or forgetting; never creates an empty one by mistake.
fn open_existing(db: Option<PathBuf>) -> Result<SqliteStore> {
    let Some(path) = db else {
        anyhow::bail!("the question log is off (CITEBOT_DB=off); name a database with --db");
    };
    if !path.is_file() {
        anyhow::bail!(
            "no question log at {} (the bot creates it on first start; set CITEBOT_DB or --db)",
            path.display()
        );
    }
    Ok(SqliteStore::open(&path)?)
}

fn report(db: Option<PathBuf>, since: &str, json: bool, html: Option<PathBuf>) -> Result<ExitCode> {
    let period =
        citebot::store::parse_period(since).map_err(|e| anyhow::anyhow!("--since: {e}"))?;
    let store = open_existing(db)?;
    let until = citebot::store::now();
    let report = store.report(None, until - period.as_secs() as i64, until)?;
    if let Some(file) = html {
        std::fs::write(&file, report.html())
            .with_context(|| format!("writing {}", file.display()))?;
        out!(
            "wrote {} ({} question(s))",
            file.display(),
            report.questions
        );
    } else if json {
        out!("{}", report.json());
    } else {
        out_raw!("{}", report.terminal());
    }
    Ok(ExitCode::SUCCESS)
}

fn run_bot(responses: &std::path::Path, db: Option<PathBuf>) -> Result<ExitCode> {
    let config = citebot::discord::BotConfig::from_env(|name| std::env::var(name).ok(), responses)
        .map(|config| citebot::discord::BotConfig { db, ..config });
    // Logging starts first so that even a configuration error is logged with the token redacted.
    logging::init(config.as_ref().map_or("", |c| c.token.as_str()));
    let config = config?;
    let index = load(responses)?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let result = runtime.block_on(citebot::discord::run(config, std::sync::Arc::new(index)));
    // Whatever is still running (a reconnect back-off, a reply past its grace) is dropped, not
    // waited for: SIGTERM ends the process within seconds in every state.
    runtime.shutdown_timeout(std::time::Duration::from_millis(500));
    result?;
    Ok(ExitCode::SUCCESS)
}

/// The index of a one-shot command (`ask`, `facts`) lives until the process ends: it is leaked,
/// because freeing its many small allocations one by one at exit costs more than answering does.
fn load_until_exit(dir: &std::path::Path) -> Result<&'static Index> {
    Ok(Box::leak(Box::new(load(dir)?)))
}

fn load(dir: &std::path::Path) -> Result<Index> {
    let responses = Responses::load(dir)
        .map_err(anyhow::Error::new)
        .with_context(|| {
            format!(
                "cannot load {} (run `citebot check` for details)",
                dir.display()
            )
        })?;
    Ok(Index::build(responses))
}

fn check(dir: &std::path::Path) -> Result<ExitCode> {
    match Responses::load(dir) {
        Ok(responses) => {
            for warning in &responses.warnings {
                out!("{warning}");
            }
            out!(
                "{}: ok, {} fact cards, {} taught question(s), {} paragraphs, {} warning(s)",
                dir.display(),
                responses.cards.len(),
                responses
                    .cards
                    .iter()
                    .map(|c| c.learned.len())
                    .sum::<usize>(),
                responses.article.paragraphs.len(),
                responses.warnings.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(problems) => {
            for problem in &problems.0 {
                out!("{problem}");
            }
            out!("{}: {} error(s)", dir.display(), problems.errors().count());
            Ok(ExitCode::FAILURE)
        }
    }
}
