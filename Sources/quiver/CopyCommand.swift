import ArgumentParser
import Foundation
import Quiver
import QuiverStore

/// `quiver copy`: moves collections between the embedded store and a Milvus server (either way).
struct CopyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "copy",
        abstract: "Copy collections between stores: an embedded store folder and a Milvus server, either way.",
        discussion: """
        Copies each collection with its schema, model bindings, metadata, primary keys and index \
        types, in batches with progress. Resumable: rows whose primary key the destination already \
        holds are skipped, so running it again after an interruption completes the copy without \
        duplicates. At the end the destination's row count is checked against the source's.

        FROM and TO are folders or Milvus addresses (milvus://HOST:PORT, http(s)://HOST[:PORT], \
        unix:PATH). --token applies to both ends; --from-token / --to-token set one end.

        Example:
          quiver copy --from quiver.db --to milvus://127.0.0.1:19530
          quiver copy --from milvus://127.0.0.1:19530 --to backup.db --collection quiver_text
        """)

    @Option(help: ArgumentHelp("The source: a store folder or a Milvus address.", valueName: "DIR|URL")) var from: String
    @Option(help: ArgumentHelp("The destination: a store folder (created when missing) or a Milvus address.", valueName: "DIR|URL")) var to: String
    @Option(help: "A collection to copy (repeatable; default: all of the source's).") var collection: [String] = []
    @Option(help: "Milvus credentials for both ends: USER:PASSWORD or an API key (default: $MILVUS_TOKEN).") var token: String?
    @Option(help: "Milvus credentials of the source only.") var fromToken: String?
    @Option(help: "Milvus credentials of the destination only.") var toToken: String?
    @Option(help: "Milvus database name at both ends (default: 'default').") var dbName: String?
    @Option(help: ArgumentHelp("PEM file of CA certificates for https:// Milvus servers.", valueName: "FILE")) var caFile: String?
    @Option(help: "Rows per batch.") var batchSize: Int = 1000
    @Flag(help: "Plain log lines instead of a progress bar, even on a terminal.") var noProgress = false

    func validate() throws {
        guard batchSize > 0 else { throw ValidationError("--batch-size must be positive") }
        guard from != to else { throw ValidationError("--from and --to are the same (\(from))") }
    }

    func run() async throws {
        let envToken = ProcessInfo.processInfo.environment["MILVUS_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        let source = try await DatabaseConnection(location: from, token: fromToken ?? token ?? envToken, databaseName: dbName, caFile: caFile).open()
        let destination: any VectorDatabase
        do {
            destination = try await DatabaseConnection(location: to, token: toToken ?? token ?? envToken, databaseName: dbName, caFile: caFile).open()
        } catch {
            try? await source.close()
            throw error
        }
        let tty = !noProgress && isatty(STDERR_FILENO) != 0
        var lastLog = Date.distantPast
        do {
            let report = try await DatabaseCopy(batchSize: batchSize).copy(
                from: source, to: destination, collections: collection.isEmpty ? nil : collection) { p in
                let now = Date()
                guard p.done == p.total || now.timeIntervalSince(lastLog) >= (tty ? 0.1 : 5) else { return }
                lastLog = now
                let pct = p.total == 0 ? 100 : p.done * 100 / p.total
                let line = "\(p.collection): \(p.done)/\(p.total) rows (\(pct)%)"
                FileHandle.standardError.write(Data((tty ? "\r\u{1B}[K" + line + (p.done == p.total ? "\n" : "") : line + "\n").utf8))
            }
            try await destination.close()
            try await source.close()
            for e in report.entries {
                let resumed = e.alreadyThere > 0 ? " (\(e.alreadyThere) already there)" : ""
                print("\(e.collection): copied \(e.copied) rows\(resumed); \(e.total) rows at \(to), counts verified")
            }
        } catch {
            try? await destination.close()
            try? await source.close()
            throw error
        }
    }
}
