import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Gets single files into a model folder: resumable download (`FILE.incomplete` + `Range`), checksum
/// verification, atomic rename into place, and reuse of cached copies by hard link or copy.
struct FileFetcher: Sendable {
    let transport: HTTPTransport
    let headers: [String: String]
    let maxAttempts: Int

    /// Reports the bytes of the current file: (bytes on disk, total if known, bytes received over the network so far).
    typealias ByteProgress = @Sendable (Int64, Int64?) -> Void

    /// Downloads `file` to `destination`, resuming an earlier partial transfer when it is for the same
    /// content (same ETag/URL and size). Returns whether it resumed and how many bytes came over the network.
    func download(_ file: PlannedFile, to destination: URL, progress: ByteProgress?) async throws -> (resumed: Bool, received: Int64) {
        let fm = FileManager.default
        try fm.createDirectory(at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
        let partial = URL(fileURLWithPath: destination.path + ".incomplete")
        let marker = URL(fileURLWithPath: destination.path + ".incomplete.json")
        let identity = PartialIdentity(url: file.url.absoluteString, etag: file.etag, size: file.size)

        // Keep the partial file only when it belongs to the same content.
        if fm.fileExists(atPath: partial.path) {
            let saved = (try? Data(contentsOf: marker)).flatMap { try? JSONDecoder().decode(PartialIdentity.self, from: $0) }
            if saved == nil || !(saved!.sameContent(as: identity)) { try? fm.removeItem(at: partial) }
        }
        if !fm.fileExists(atPath: partial.path) { _ = fm.createFile(atPath: partial.path, contents: nil) }
        try JSONEncoder().encode(identity).write(to: marker)

        var attempt = 0
        var received: Int64 = 0
        var resumedAny = false
        var restartedAfter416 = false
        while true {
            attempt += 1
            let sink = try DownloadSink(partial: partial, expected: file.expected, size: file.size, progress: progress)
            if let size = file.size, size > 0, sink.offset == size {
                // An earlier run received everything but stopped before the rename: verify and finish.
                sink.close()
                try finish(sink: sink, file: file, partial: partial, marker: marker, destination: destination)
                return (true, received)
            }
            var request = URLRequest(url: file.url)
            for (k, v) in headers { request.setValue(v, forHTTPHeaderField: k) }
            if sink.offset > 0 { request.setValue("bytes=\(sink.offset)-", forHTTPHeaderField: "Range") }
            let startOffset = sink.offset
            do {
                let exchange = try await transport.send(request, followRedirects: true, sink: sink)
                sink.close()
                received += sink.received
                let status = exchange.head.status
                if status == 416 && !restartedAfter416 {
                    // The range starts at or past the end: the partial file cannot be resumed; start over once.
                    try? fm.removeItem(at: partial); _ = fm.createFile(atPath: partial.path, contents: nil)
                    restartedAfter416 = true
                    attempt -= 1
                    continue
                }
                guard status == 200 || status == 206 else {
                    throw HubClient.statusError(exchange, url: file.url, what: "file \(file.path)", tokenSent: headers["Authorization"] != nil)
                }
                if status == 206 && startOffset > 0 { resumedAny = true }
                try finish(sink: sink, file: file, partial: partial, marker: marker, destination: destination)
                return (resumedAny, received)
            } catch let error as URLError {
                sink.close()
                received += sink.received
                if error.meansNoNetwork || attempt >= maxAttempts {
                    let kept = fileSize(partial)
                    if kept == 0 { try? fm.removeItem(at: partial); try? fm.removeItem(at: marker) }
                    throw HubError.transferFailed(url: file.url.absoluteString, message: error.localizedDescription, bytesKept: kept)
                }
                try await Task.sleep(nanoseconds: UInt64(attempt) * 300_000_000)
            } catch {
                sink.close()
                throw error
            }
        }
    }

    /// Checks size and checksum of the finished partial file, then renames it over `destination`.
    private func finish(sink: DownloadSink, file: PlannedFile, partial: URL, marker: URL, destination: URL) throws {
        let fm = FileManager.default
        let size = fileSize(partial)
        let expectedSize = file.size ?? sink.total
        if let expectedSize, expectedSize != size {
            if size > expectedSize { try? fm.removeItem(at: partial); try? fm.removeItem(at: marker) }
            throw size > expectedSize
                ? HubError.sizeMismatch(file: file.path, expected: expectedSize, actual: size)
                : HubError.transferFailed(url: file.url.absoluteString, message: "the connection ended after \(size) of \(expectedSize) bytes", bytesKept: size)
        }
        let (ok, actual) = sink.verifier.check()
        if !ok {
            try? fm.removeItem(at: partial); try? fm.removeItem(at: marker)
            throw HubError.checksumMismatch(file: file.path, expected: file.expected!.description, actual: actual)
        }
        try moveIntoPlace(partial, destination)
        try? fm.removeItem(at: marker)
    }

    /// Places a cached copy of a file at `destination`: hard link when on the same file system, else a copy,
    /// first under a temporary name, verified, then renamed into place.
    func linkFromCache(_ source: URL, to destination: URL, expected: ExpectedChecksum?, size: Int64?, trusted: Bool) throws {
        let fm = FileManager.default
        try fm.createDirectory(at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
        if let size, fileSize(source) != size {
            throw HubError.sizeMismatch(file: source.path, expected: size, actual: fileSize(source))
        }
        if !trusted, expected != nil {
            let (ok, actual) = try ChecksumVerifier.verifyFile(source, expected: expected, size: fileSize(source))
            if !ok { throw HubError.checksumMismatch(file: source.path, expected: expected!.description, actual: actual) }
        }
        let temp = URL(fileURLWithPath: destination.path + ".linking")
        try? fm.removeItem(at: temp)
        if link(source.path, temp.path) != 0 {
            do { try fm.copyItem(at: source, to: temp) } catch {
                throw HubError.fileSystem(path: destination.path, message: "cannot copy \(source.path): \(error.localizedDescription)")
            }
        }
        try moveIntoPlace(temp, destination)
    }

    private func moveIntoPlace(_ from: URL, _ to: URL) throws {
        if rename(from.path, to.path) != 0 {
            let msg = String(cString: strerror(errno))
            throw HubError.fileSystem(path: to.path, message: "cannot move \(from.lastPathComponent) into place: \(msg)")
        }
    }
}

/// Size of a file in bytes, 0 when absent.
func fileSize(_ url: URL) -> Int64 {
    ((try? FileManager.default.attributesOfItem(atPath: url.path))?[.size] as? NSNumber)?.int64Value ?? 0
}

/// What a `.incomplete` file is a part of (saved beside it as `.incomplete.json`).
private struct PartialIdentity: Codable, Equatable {
    var url: String
    var etag: String?
    var size: Int64?

    func sameContent(as other: PartialIdentity) -> Bool {
        if let a = etag, let b = other.etag { return a == b && size == other.size }
        return url == other.url && size == other.size
    }
}

/// Writes a response body to the partial file, hashing as it goes (after hashing what the file already holds).
private final class DownloadSink: ResponseSink, @unchecked Sendable {
    private let partial: URL
    private var handle: FileHandle?
    private let expected: ExpectedChecksum?
    private let size: Int64?
    private let progress: FileFetcher.ByteProgress?
    private(set) var verifier: ChecksumVerifier
    /// Bytes in the partial file.
    private(set) var offset: Int64
    /// Bytes received in this request.
    private(set) var received: Int64 = 0
    /// Size announced by the server (Content-Range total or Content-Length).
    private(set) var total: Int64?

    init(partial: URL, expected: ExpectedChecksum?, size: Int64?, progress: FileFetcher.ByteProgress?) throws {
        self.partial = partial; self.expected = expected; self.size = size; self.progress = progress
        verifier = ChecksumVerifier(expected: expected, size: size)
        offset = fileSize(partial)
        if let size, offset > size { try? FileManager.default.removeItem(at: partial); _ = FileManager.default.createFile(atPath: partial.path, contents: nil); offset = 0 }
        if offset > 0 && expected != nil {
            // Hash what an earlier transfer left so the checksum covers the whole file.
            let h = try FileHandle(forReadingFrom: partial)
            var left = offset
            while left > 0, let chunk = try h.read(upToCount: Int(min(left, 4 << 20))), !chunk.isEmpty {
                verifier.update(chunk); left -= Int64(chunk.count)
            }
            try h.close()
        }
        total = size
        progress?(offset, size)
    }

    func begin(_ head: HTTPHead) throws -> Bool {
        switch head.status {
        case 206:
            // Content-Range: bytes START-END/TOTAL
            let range = head.header("content-range") ?? ""
            let numbers = range.split(whereSeparator: { !$0.isNumber }).compactMap { Int64($0) }
            guard numbers.count >= 2, numbers[0] == offset else {
                throw HubError.badResponse(url: head.url?.absoluteString ?? "", message: "asked for bytes from \(offset), got Content-Range '\(range)'")
            }
            if numbers.count >= 3 { total = numbers[2] }
        case 200:
            // The server ignored the Range header: start the file over.
            if offset > 0 {
                offset = 0
                verifier = ChecksumVerifier(expected: expected, size: size)
            }
            if let l = head.header("content-length").flatMap({ Int64($0) }) { total = size ?? l }
            try Data().write(to: partial)
        default:
            return false
        }
        let h = try FileHandle(forWritingTo: partial)
        try h.seek(toOffset: UInt64(offset))
        handle = h
        return true
    }

    func write(_ data: Data) throws {
        guard let handle else { return }
        try handle.write(contentsOf: data)
        verifier.update(data)
        offset += Int64(data.count)
        received += Int64(data.count)
        progress?(offset, total)
    }

    func close() {
        try? handle?.close()
        handle = nil
    }
}
