import ArgumentParser
import Foundation
import Quiver
import QuiverServer

/// `quiver serve`: the HTTP server (OpenAI-compatible embeddings, health, metrics).
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve embeddings and the vector database over HTTP (OpenAI /v1/embeddings, Milvus REST v2, /healthz, /metrics).",
        discussion: """
        Listens on 127.0.0.1 (this machine only) unless --host says otherwise. Models load on \
        first use and stay in memory. With an API key (--api-key or QUIVER_API_KEY) every route \
        but /healthz needs the header `Authorization: Bearer KEY`. SIGINT or SIGTERM stops the \
        server after the requests under way are answered. One line per request goes to standard error.

        Routes: POST /v1/embeddings (OpenAI-compatible); POST /v2/vectordb/collections/{create,\
        describe,list,has,drop} and /v2/vectordb/entities/{insert,upsert,delete,get,query,search} \
        (Milvus RESTful API v2 over the database in --db); GET /healthz; GET /metrics (Prometheus); \
        GET / (search page) with /api/collections, /api/search, /api/search/file, /api/media.

        Batching: the texts of concurrent requests for the same model (/v1/embeddings, the text \
        query of /api/search, Milvus gRPC text searches, the pairs of /v1/rerank) share forward passes of up to \
        --max-batch-tokens tokens, cut --max-batch-wait-ms after the first text waits; each \
        request gets the vectors it would get alone. At most --max-queue texts wait per model: \
        a request that does not fit is answered 503 (code server_busy) with `Retry-After: 1`. \
        /metrics shows the queue (quiver_batch_queue_texts), batch sizes (quiver_batch_texts, \
        quiver_batch_tokens) and refusals (quiver_batch_rejected_total).

        --db is a store folder or a Milvus server (milvus://HOST:PORT, http(s)://HOST[:PORT], \
        unix:PATH, with --token/MILVUS_TOKEN, --db-name, --ca-file, --milvus-timeout); the server \
        connects at start and fails if Milvus cannot be reached or refuses the token. Over Milvus \
        every HTTP route works the same, except BM25 full-text search (/api/search "mode": "bm25" \
        or "hybrid", text sub-searches of hybrid_search), which needs the embedded store and answers \
        an error naming the collection; the Milvus gRPC endpoint is not started (point pymilvus at \
        that Milvus directly).

        Milvus gRPC (embedded store only; --milvus-port, default 19530, on --host; --no-milvus turns it off): \
        pymilvus' MilvusClient("http://127.0.0.1:19530") works against the same store, with \
        Milvus 2.5/2.6 behaviour as pymilvus 3.0.2 speaks it: collections, indexes, load/release, \
        insert/upsert/delete, query (count(*), limit, offset), search (filters, metric, ef, nprobe, \
        radius, group_by_field), flush. TEXTEMBEDDING functions (params model_name=a Quiver \
        model) are run by Quiver: insert text only, search with text. With an API key the Milvus \
        token must be the key. Not supported (UNIMPLEMENTED or an error naming it): partitions, \
        aliases, databases other than default, users/roles, HybridSearch, BM25 functions, \
        sparse/binary/bfloat16 vectors, Array fields, search iterators, AlterCollection.

        Example:
          quiver serve --port 8080 &
          curl -s localhost:8080/v1/embeddings -H 'Content-Type: application/json' \\
            -d '{"model": "all-MiniLM-L6-v2", "input": ["A man is eating food."]}'
          quiver serve --db milvus://127.0.0.1:19530 --port 8080   # the same routes over a Milvus
        """
    )

    @Option(help: "Address to listen on (0.0.0.0 for every interface).")
    var host: String = "127.0.0.1"

    @Option(help: "TCP port (0 picks a free one).")
    var port: Int = 8080

    @Option(help: "Port of the Milvus gRPC endpoint on --host (0 picks a free one and prints it; default 19530). Not served when --db is a Milvus server.")
    var milvusPort: Int?

    @Flag(help: "Do not serve the Milvus gRPC endpoint.")
    var noMilvus = false

    @OptionGroup var database: DatabaseOptions

    @Option(help: "Require `Authorization: Bearer KEY` (default: QUIVER_API_KEY; none when unset).")
    var apiKey: String?

    @Option(help: "Largest request body in bytes (larger ones get 413).")
    var maxBody: Int = 16 << 20

    @Option(help: "Most inputs per embeddings request.")
    var maxInputs: Int = 2048

    @Option(help: "Largest shared forward pass in tokens (the sum of its texts' token counts): concurrent requests for a model are batched up to this; larger requests are split.")
    var maxBatchTokens: Int = 4096

    @Option(help: "Milliseconds the first waiting text waits for others before its batch runs (a full batch runs at once).")
    var maxBatchWaitMs: Double = 2

    @Option(help: "Most texts waiting per model; a request that does not fit is answered 503 with Retry-After.")
    var maxQueue: Int = 4096

    @Flag(help: "Run every request's texts in its own forward passes (no batching across requests, no queue).")
    var noBatching = false

    @Option(help: "Worker threads per embedding call (default: all cores).")
    var threads: Int?

    @Option(help: Precision.help)
    var precision: Precision = .float32

    @Flag(help: "Do not log one line per request.")
    var quiet = false

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be in 0...65535, got \(port)") }
        let milvusPort = self.milvusPort ?? 19530
        guard (0...65535).contains(milvusPort) else { throw ValidationError("--milvus-port must be in 0...65535, got \(milvusPort)") }
        let overMilvus = DatabaseConnection.isMilvus(database.location)
        if overMilvus, let explicit = self.milvusPort, !noMilvus {
            throw ValidationError("--milvus-port \(explicit): the Milvus gRPC endpoint serves an embedded store folder only, and --db "
                                  + "\(database.connection.displayLocation) is a Milvus server; point pymilvus at that server directly "
                                  + "(and leave out --milvus-port)")
        }
        if !noMilvus && !overMilvus && milvusPort != 0 && milvusPort == port {
            throw ValidationError("--milvus-port \(milvusPort) is also --port; give them different ports (or --no-milvus)")
        }
        guard database.milvusTimeout > 0 else { throw ValidationError("--milvus-timeout must be positive, got \(database.milvusTimeout)") }
        guard maxBody > 0 else { throw ValidationError("--max-body must be positive, got \(maxBody)") }
        guard maxInputs > 0 else { throw ValidationError("--max-inputs must be positive, got \(maxInputs)") }
        guard maxBatchTokens > 0 else { throw ValidationError("--max-batch-tokens must be positive, got \(maxBatchTokens)") }
        guard maxBatchWaitMs >= 0, maxBatchWaitMs <= 10_000 else {
            throw ValidationError("--max-batch-wait-ms must be between 0 and 10000, got \(maxBatchWaitMs)")
        }
        guard maxQueue > 0 else { throw ValidationError("--max-queue must be positive, got \(maxQueue)") }
        if let threads, threads <= 0 { throw ValidationError("--threads must be positive, got \(threads)") }
    }

    func run() async throws {
        var config = ServerConfiguration()
        config.host = host
        config.port = port
        var connection = database.connection
        if !connection.isMilvus { connection.location = URL(fileURLWithPath: connection.location).standardizedFileURL.path }
        config.database = connection
        config.apiKey = apiKey ?? ProcessInfo.processInfo.environment["QUIVER_API_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        config.maxBodyBytes = maxBody
        config.maxInputs = maxInputs
        config.threads = threads
        config.batching.enabled = !noBatching
        config.batching.maxBatchTokens = maxBatchTokens
        config.batching.maxWait = maxBatchWaitMs / 1000
        config.batching.maxQueuedTexts = maxQueue
        config.precision = precision
        config.logRequests = !quiet
        config.version = QuiverCommand.configuration.version
        config.milvusPort = noMilvus ? nil : (milvusPort ?? 19530)
        if config.apiKey == nil && !["127.0.0.1", "localhost", "::1"].contains(host) {
            warn("listening on \(host) without an API key: anyone who reaches this port can use the server; set --api-key or QUIVER_API_KEY")
        }
        let server = QuiverServer(configuration: config)
        if connection.isMilvus {
            // Connect now: an unreachable server or a refused token fails at start, not on the first request.
            try await server.openStore()
            let milvus = noMilvus ? "" : "; Milvus gRPC endpoint off (it serves store folders only): pymilvus can use that server directly"
            FileHandle.standardError.write(Data("quiver serve: database \(connection.displayLocation)\(milvus)\n".utf8))
        }
        let host = self.host
        let modelRoot = config.modelHome.root.path
        let auth = config.apiKey == nil ? "no API key" : "API key required"
        try await server.run(onServerRunning: { port in
            FileHandle.standardError.write(Data("quiver serve: listening on http://\(host):\(port) (\(auth); models from \(modelRoot))\n".utf8))
        }, onMilvusRunning: { port in
            FileHandle.standardError.write(Data("quiver serve: Milvus gRPC on \(host):\(port) (pymilvus: MilvusClient(\"http://\(host):\(port)\"))\n".utf8))
        })
        FileHandle.standardError.write(Data("quiver serve: stopped\n".utf8))
    }
}
