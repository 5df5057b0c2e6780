//! The `citebot` binary: parses the command line and hands off to the library.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};

use citebot::{render, Index, Lang, Responses};

mod logging;

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
    /// List every fact card: command, description, paragraphs cited.
    Facts,
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

fn main() -> ExitCode {
    // A .env file fills in what the real environment lacks; the real environment wins.
    let _ = dotenvy::dotenv();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("citebot: {err:#}");
            ExitCode::FAILURE
        }
    }
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
    match command {
        Command::Run => run_bot(&cli.responses),
        Command::Check => Ok(check(&cli.responses)),
        Command::Facts => {
            let index = load(&cli.responses)?;
            for card in index.cards() {
                let paragraphs: Vec<String> =
                    card.paragraphs().iter().map(|p| format!("§{p}")).collect();
                println!(
                    "/{:<20} {}  [{}]",
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
            let index = load(&cli.responses)?;
            let lang = lang.map(Lang::from);
            if question == "-" {
                let stdin = std::io::stdin();
                let mut stdout = std::io::stdout().lock();
                for line in stdin.lock().lines() {
                    let line = line.context("reading questions from stdin")?;
                    let answer = index.ask(&line, lang);
                    writeln!(stdout, "{}", render::json(&answer))?;
                }
                return Ok(ExitCode::SUCCESS);
            }
            let answer = index.ask(&question, lang);
            if explain {
                eprint!("{}", index.explain(&question));
            }
            if json {
                println!("{}", render::json(&answer));
            } else {
                print!(
                    "{}",
                    render::terminal(&answer, &index.responses().article.meta)
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn run_bot(responses: &std::path::Path) -> Result<ExitCode> {
    let config = citebot::discord::BotConfig::from_env(|name| std::env::var(name).ok(), responses);
    // Logging starts first so that even a configuration error is logged with the token redacted.
    logging::init(config.as_ref().map_or("", |c| c.token.as_str()));
    let config = config?;
    let index = load(responses)?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(citebot::discord::run(config, std::sync::Arc::new(index)))?;
    Ok(ExitCode::SUCCESS)
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

fn check(dir: &std::path::Path) -> ExitCode {
    match Responses::load(dir) {
        Ok(responses) => {
            for warning in &responses.warnings {
                println!("{warning}");
            }
            println!(
                "{}: ok, {} fact cards, {} paragraphs, {} warning(s)",
                dir.display(),
                responses.cards.len(),
                responses.article.paragraphs.len(),
                responses.warnings.len()
            );
            ExitCode::SUCCESS
        }
        Err(problems) => {
            for problem in &problems.0 {
                println!("{problem}");
            }
            println!("{}: {} error(s)", dir.display(), problems.errors().count());
            ExitCode::FAILURE
        }
    }
}
