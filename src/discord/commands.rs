//! The commands, generated from the fact cards: one per card, plus `/ask`, `/facts`, `/source`
//! and the "Ask citebot" message command; with the question log on, also the moderators'
//! `/teach`, `/stats` and "Teach citebot". Pure: builds serenity builders, registers nothing.

use serenity::all::{CommandType, InstallationContext, InteractionContext, Permissions};
use serenity::builder::{CreateCommand, CreateCommandOption};
use serenity::model::application::CommandOptionType;

use crate::facts::BUILT_IN_COMMANDS;
use crate::index::Index;

pub const ASK: &str = BUILT_IN_COMMANDS[0].0;
pub const FACTS: &str = BUILT_IN_COMMANDS[1].0;
pub const SOURCE: &str = BUILT_IN_COMMANDS[2].0;
pub const TEACH: &str = BUILT_IN_COMMANDS[3].0;
pub const STATS: &str = BUILT_IN_COMMANDS[4].0;
/// Message commands (right-click on a message, "Apps").
pub const ASK_MESSAGE: &str = "Ask citebot";
pub const TEACH_MESSAGE: &str = "Teach citebot";
pub const QUESTION_OPTION: &str = "question";
pub const CARD_OPTION: &str = "card";
/// What only moderators see and use: members who can manage the server.
pub const MODERATOR: Permissions = Permissions::MANAGE_GUILD;
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
    .description_localized("pt-BR", "Só você vê a resposta")
    .required(false)
}

/// Every command citebot registers, in a stable order. `with_log`: the question log is on, so
/// the moderators' commands (which read and write it) exist.
pub fn all(index: &Index, with_log: bool) -> Vec<CreateCommand> {
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
                "Pergunte o que quiser sobre o artigo; as respostas o citam com §N",
            )
            .add_option(
                CreateCommandOption::new(
                    CommandOptionType::String,
                    QUESTION_OPTION,
                    "Your question, in Portuguese or English",
                )
                .name_localized("pt-BR", "pergunta")
                .description_localized("pt-BR", "Sua pergunta, em português ou inglês")
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
            .description_localized("pt-BR", "Lista os comandos de fatos"),
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
    commands.push(
        CreateCommand::new(ASK_MESSAGE)
            .kind(CommandType::Message)
            .name_localized("pt-BR", "Perguntar ao citebot"),
    );
    // Everyone's commands work wherever the app is: installed on a server, or by a user for
    // their DMs and group chats.
    let mut commands: Vec<CreateCommand> = commands
        .into_iter()
        .map(|command| {
            command
                .integration_types(vec![InstallationContext::Guild, InstallationContext::User])
                .contexts(vec![
                    InteractionContext::Guild,
                    InteractionContext::BotDm,
                    InteractionContext::PrivateChannel,
                ])
        })
        .collect();
    if with_log {
        commands.extend(moderator_commands());
    }
    commands
}

/// `/teach`, `/stats` and "Teach citebot": hidden from members without Manage Server (Discord
/// applies `default_member_permissions`; the handler checks again), and only in servers.
fn moderator_commands() -> Vec<CreateCommand> {
    let teach = CreateCommand::new(TEACH)
        .description("Teach citebot a question it missed: it will answer it with the card you pick")
        .name_localized("pt-BR", BUILT_IN_COMMANDS[3].1)
        .description_localized(
            "pt-BR",
            "Ensine ao citebot uma pergunta que ele errou: ele passa a responder com o cartão escolhido",
        )
        .add_option(
            CreateCommandOption::new(
                CommandOptionType::String,
                QUESTION_OPTION,
                "The question as people asked it (recent unanswered ones are offered)",
            )
            .name_localized("pt-BR", "pergunta")
            .description_localized(
                "pt-BR",
                "A pergunta como foi feita (são sugeridas as recentes sem resposta)",
            )
            .required(true)
            .set_autocomplete(true)
            .max_length(crate::facts::MAX_LEARNED_QUESTION_CHARS as u16),
        )
        .add_option(
            CreateCommandOption::new(
                CommandOptionType::String,
                CARD_OPTION,
                "The fact card that answers it",
            )
            .name_localized("pt-BR", "cartao")
            .description_localized("pt-BR", "O cartão de fato que responde a ela")
            .required(true)
            .set_autocomplete(true),
        );
    let stats = CreateCommand::new(STATS)
        .description("The last 7 days: questions, answered and refused rates, votes")
        .name_localized("pt-BR", BUILT_IN_COMMANDS[4].1)
        .description_localized(
            "pt-BR",
            "Os últimos 7 dias: perguntas, taxas de respostas e recusas, votos",
        );
    let teach_message = CreateCommand::new(TEACH_MESSAGE)
        .kind(CommandType::Message)
        .name_localized("pt-BR", "Ensinar o citebot");
    [teach, stats, teach_message]
        .into_iter()
        .map(|command| {
            command
                .default_member_permissions(MODERATOR)
                .integration_types(vec![InstallationContext::Guild])
                .contexts(vec![InteractionContext::Guild])
        })
        .collect()
}
