import Dispatch
import Foundation

/// One unit of work of an `EmbeddingBatcher`: a token sequence (`[Int]` for embedding models, a
/// `TokenPair` for cross-encoders), counted by its tokens against the batch budget.
protocol BatchedSequence: Sendable {
    /// Tokens of the sequence (special tokens included): its share of a pass's work.
    var tokenCount: Int { get }
}

extension Array: BatchedSequence where Element == Int {
    var tokenCount: Int { count }
}

/// A (query, document) pair tokenized together for a cross-encoder: its ids and token types.
struct TokenPair: BatchedSequence {
    let ids: [Int]
    let typeIDs: [Int]
    var tokenCount: Int { ids.count }
}

/// The batchers of the loaded models of one kind, one per model name, made on first use.
actor BatcherRegistry<Item: BatchedSequence> {
    private var batchers: [String: EmbeddingBatcher<Item>] = [:]

    /// The batcher of `model`, made with `make` the first time.
    func batcher(for model: String, make: () -> EmbeddingBatcher<Item>) -> EmbeddingBatcher<Item> {
        if let b = batchers[model] { return b }
        let b = make()
        batchers[model] = b
        return b
    }
}

/// Gathers the token sequences of concurrent requests for one model into shared forward passes.
///
/// Requests hand in tokenized texts (`embed(tokenIDs:)`) and wait. One worker per model cuts the
/// waiting texts, oldest first, into batches of at most `maxBatchTokens` tokens (the sum of the
/// sequences' lengths: the models pack sequences without padding, so this is the work of one
/// pass) and runs them one at a time; the pass itself uses the configured threads. A batch is cut
/// once `maxBatchTokens` are waiting, or `maxWait` after its oldest text arrived, whichever comes
/// first. Each request gets its vectors back in its own order, as if it had run alone (the
/// values may differ from a lone pass by float rounding only: BLAS rounds GEMMs of different row
/// counts differently).
///
/// - A request with more tokens than the budget is split into several batches; batches are cut in
///   arrival order, so no request waits behind later ones.
/// - Back-pressure: at most `maxQueuedTexts` texts wait; a request that does not fit is refused at
///   once with `APIError` 503 `server_busy` carrying `Retry-After` (a request into an empty queue
///   is always taken, whatever its size, so none is refused forever).
/// - Cancellation: when the task of a waiting request is cancelled (the client went away), its
///   texts still in the queue are dropped before they are computed and it throws
///   `CancellationError`. Texts already in a running pass finish with it; their vectors are dropped.
actor EmbeddingBatcher<Item: BatchedSequence> {
    /// A forward pass: one vector per token sequence, in order.
    typealias Forward = @Sendable ([Item]) throws -> [[Float]]

    /// The model's name (the metrics label).
    let model: String
    private let options: BatchingOptions
    private let forward: Forward
    private let metrics: ServerMetrics

    /// A request being served: its vectors fill in as its chunks are computed.
    private final class Pending {
        var vectors: [[Float]]
        var remaining: Int
        var continuation: CheckedContinuation<[[Float]], Error>?

        init(count: Int, chunks: Int, continuation: CheckedContinuation<[[Float]], Error>) {
            vectors = [[Float]](repeating: [], count: count)
            remaining = chunks
            self.continuation = continuation
        }

        /// Answers the request (once).
        func finish(_ result: Result<[[Float]], Error>) {
            continuation?.resume(with: result)
            continuation = nil
        }
    }

    /// Consecutive texts of one request, at most `maxBatchTokens` tokens (or a single longer text).
    private struct Chunk {
        let ticket: ObjectIdentifier
        let offset: Int
        let ids: [Item]
        let tokens: Int
        let arrived: UInt64
    }

    private var pending: [ObjectIdentifier: Pending] = [:]
    private var queue: [Chunk] = []
    private var queueStart = 0
    private var queuedTexts = 0
    private var queuedTokens = 0
    private var workerRunning = false
    private var wake: CheckedContinuation<Void, Never>?
    private var timer: Task<Void, Never>?
    private var wakeGeneration = 0

    /// A batcher running `forward` (e.g. `TextEmbedder.embed(tokenIDs:threads:)`) for `model`.
    init(model: String, options: BatchingOptions, metrics: ServerMetrics, forward: @escaping Forward) {
        self.model = model
        self.options = options
        self.metrics = metrics
        self.forward = forward
    }

    /// Identifies one request inside the batcher.
    private final class Ticket: Sendable {}

    /// The vectors of `ids` (one per sequence, in order), computed in shared batches.
    /// - Throws: `APIError` 503 `server_busy` when the queue is full; `CancellationError` when the
    ///   calling task is cancelled while waiting; the forward pass's error.
    nonisolated func embed(tokenIDs ids: [Item]) async throws -> [[Float]] {
        guard !ids.isEmpty else { return [] }
        let ticket = Ticket()
        return try await withTaskCancellationHandler {
            try await self.submit(ids, ticket: ObjectIdentifier(ticket))
        } onCancel: {
            Task { await self.cancel(ObjectIdentifier(ticket)) }
        }
    }

    /// Texts waiting now (not yet in a running pass).
    var waitingTexts: Int { queuedTexts }

    private func submit(_ ids: [Item], ticket: ObjectIdentifier) async throws -> [[Float]] {
        if queuedTexts > 0 && queuedTexts + ids.count > options.maxQueuedTexts {
            metrics.recordRejected(model: model)
            throw APIError.busy("the server is busy: \(queuedTexts) texts are waiting for \(model) and this request adds \(ids.count), "
                                + "over the limit of \(options.maxQueuedTexts) (quiver serve --max-queue); retry after \(options.retryAfterSeconds) s",
                                retryAfter: options.retryAfterSeconds)
        }
        let chunks = Self.chunks(ids, budget: options.maxBatchTokens)
        let tokens = ids.reduce(0) { $0 + $1.tokenCount }
        return try await withCheckedThrowingContinuation { continuation in
            // Cancelled before it got here: the cancellation handler's `cancel` may run first
            // and find nothing, so look now.
            if Task.isCancelled {
                continuation.resume(throwing: CancellationError())
                return
            }
            pending[ticket] = Pending(count: ids.count, chunks: chunks.count, continuation: continuation)
            let now = DispatchTime.now().uptimeNanoseconds
            for c in chunks {
                queue.append(Chunk(ticket: ticket, offset: c.lowerBound, ids: Array(ids[c]),
                                   tokens: ids[c].reduce(0) { $0 + $1.tokenCount }, arrived: now))
            }
            queuedTexts += ids.count
            queuedTokens += tokens
            metrics.setQueued(model: model, texts: queuedTexts)
            if !workerRunning {
                workerRunning = true
                Task { await self.work() }
            } else if queuedTokens >= options.maxBatchTokens {
                wakeWorker()
            }
        }
    }

    /// Index ranges of consecutive sequences of at most `budget` tokens (a longer sequence alone).
    static func chunks(_ ids: [Item], budget: Int) -> [Range<Int>] {
        var out: [Range<Int>] = []
        var start = 0, tokens = 0
        for (i, s) in ids.enumerated() {
            if i > start && tokens + s.tokenCount > budget {
                out.append(start..<i)
                start = i
                tokens = 0
            }
            tokens += s.tokenCount
        }
        out.append(start..<ids.count)
        return out
    }

    /// Drops the waiting chunks of a cancelled request and answers it `CancellationError`.
    private func cancel(_ ticket: ObjectIdentifier) {
        guard let p = pending.removeValue(forKey: ticket) else { return }
        let dropped = removeQueued { $0.ticket == ticket }
        if dropped > 0 { metrics.recordCancelled(model: model, texts: dropped) }
        p.finish(.failure(CancellationError()))
        if queuedTexts == 0 { wakeWorker() }
    }

    /// Removes the waiting chunks matching `drop`; returns how many texts they held.
    private func removeQueued(where drop: (Chunk) -> Bool) -> Int {
        var kept: [Chunk] = []
        var texts = 0
        for c in queue[queueStart...] {
            if drop(c) {
                texts += c.ids.count
                queuedTokens -= c.tokens
            } else {
                kept.append(c)
            }
        }
        queue = kept
        queueStart = 0
        queuedTexts -= texts
        metrics.setQueued(model: model, texts: queuedTexts)
        return texts
    }

    private func wakeWorker() {
        timer?.cancel()
        timer = nil
        wake?.resume()
        wake = nil
    }

    /// The worker: runs batches until the queue is empty, then ends (the next request starts another).
    private func work() async {
        while let batch = await nextBatch() {
            let ids = batch.flatMap(\.ids)
            let tokens = batch.reduce(0) { $0 + $1.tokens }
            let forward = self.forward
            let result: Result<[[Float]], Error>
            do { result = .success(try await runBlocking { try forward(ids) }) } catch { result = .failure(error) }
            metrics.recordBatch(model: model, texts: ids.count, tokens: tokens)
            deliver(batch, result)
        }
    }

    /// Waits until a batch is due and cuts it, or returns nil (ending the worker) when nothing waits.
    private func nextBatch() async -> [Chunk]? {
        while queueStart < queue.count {
            let due = queue[queueStart].arrived + UInt64(max(0, options.maxWait) * 1e9)
            let now = DispatchTime.now().uptimeNanoseconds
            if queuedTokens >= options.maxBatchTokens || now >= due { return cut() }
            wakeGeneration += 1
            let generation = wakeGeneration
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                wake = c
                timer = Task {
                    try? await Task.sleep(nanoseconds: due - now)
                    self.timerFired(generation)  // the task runs on this actor
                }
            }
        }
        queue = []
        queueStart = 0
        workerRunning = false
        return nil
    }

    private func timerFired(_ generation: Int) {
        if generation == wakeGeneration { wakeWorker() }
    }

    /// Takes the oldest chunks that fit in one batch (at least one).
    private func cut() -> [Chunk] {
        var batch: [Chunk] = []
        var tokens = 0
        while queueStart < queue.count {
            let c = queue[queueStart]
            if !batch.isEmpty && tokens + c.tokens > options.maxBatchTokens { break }
            batch.append(c)
            tokens += c.tokens
            queuedTexts -= c.ids.count
            queuedTokens -= c.tokens
            queueStart += 1
        }
        if queueStart > 1024 && queueStart * 2 > queue.count {
            queue.removeFirst(queueStart)
            queueStart = 0
        }
        metrics.setQueued(model: model, texts: queuedTexts)
        return batch
    }

    /// Scatters a pass's vectors to the requests of its chunks (or its error to each of them).
    private func deliver(_ batch: [Chunk], _ result: Result<[[Float]], Error>) {
        switch result {
        case let .success(vectors):
            var k = 0
            for c in batch {
                defer { k += c.ids.count }
                guard let p = pending[c.ticket] else { continue }  // cancelled meanwhile
                for j in c.ids.indices { p.vectors[c.offset + j] = vectors[k + j] }
                p.remaining -= 1
                if p.remaining == 0 {
                    pending[c.ticket] = nil
                    p.finish(.success(p.vectors))
                }
            }
        case let .failure(error):
            let failed = Set(batch.map(\.ticket))
            for t in failed {
                guard let p = pending.removeValue(forKey: t) else { continue }
                p.finish(.failure(error))
            }
            _ = removeQueued { failed.contains($0.ticket) }
        }
    }
}
