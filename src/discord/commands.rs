//! The slash commands, generated from the fact cards: one per card, plus `/ask`, `/facts` and
//! `/source`. Pure: builds serenity builders from the index, registers nothing.

use serenity::builder::{CreateCommand, CreateCommandOption};
use serenity::model::application::CommandOptionType;

use crate::facts::BUILT_IN_COMMANDS;
use crate::index::Index;

pub const ASK: &str = BUILT_IN_COMMANDS[0].0;
pub const FACTS: &str = BUILT_IN_COMMANDS[1].0;
pub const SOURCE: &str = BUILT_IN_COMMANDS[2].0;
pub const QUESTION_OPTION: &str = "question";
pub const PRIVATE_OPTION: &str = "private";
/// Discord's longest string option.
pub const QUESTION_MAX_CHARS: u16 = 6000;

fn private_option() -> CreateCommandOption {
    CreateCommandOption::new(
        CommandOptionType::Boolean,
        PRIVATE_OPTION,
        "Only you see the answer",
    )
    .name_localized("pt-BR", "privado")
    .description_localized("pt-BR", "Só tu vês a resposta")
    .required(false)
}

/// Every command citebot registers, in a stable order.
pub fn all(index: &Index) -> Vec<CreateCommand> {
    let mut commands: Vec<CreateCommand> = index
        .cards()
        .iter()
        .map(|card| {
            CreateCommand::new(&card.command)
                .description(&card.description.en)
                .name_localized("pt-BR", &card.command_pt)
                .description_localized("pt-BR", &card.description.pt)
                .add_option(private_option())
        })
        .collect();
    commands.push(
        CreateCommand::new(ASK)
            .description("Ask anything about the article; answers quote it with §N")
            .name_localized("pt-BR", BUILT_IN_COMMANDS[0].1)
            .description_localized(
                "pt-BR",
                "Pergunta o que quiseres sobre o artigo; as respostas citam-no com §N",
            )
            .add_option(
                CreateCommandOption::new(
                    CommandOptionType::String,
                    QUESTION_OPTION,
                    "Your question, in Portuguese or English",
                )
                .name_localized("pt-BR", "pergunta")
                .description_localized("pt-BR", "A tua pergunta, em português ou inglês")
                .required(true)
                .set_autocomplete(true)
                .max_length(QUESTION_MAX_CHARS),
            )
            .add_option(private_option()),
    );
    commands.push(
        CreateCommand::new(FACTS)
            .description("List the fact commands")
            .name_localized("pt-BR", BUILT_IN_COMMANDS[1].1)
            .description_localized("pt-BR", "Lista os comandos de factos"),
    );
    commands.push(
        CreateCommand::new(SOURCE)
            .description("The article citebot quotes, and how citations work")
            .name_localized("pt-BR", BUILT_IN_COMMANDS[2].1)
            .description_localized(
                "pt-BR",
                "O artigo que o citebot cita, e como funcionam as citações",
            ),
    );
    commands
}
