import Foundation

/// Whether ingestion is alive, for `/healthz`: the importer beats after each pass over its sources.
public final class IngestHealth: @unchecked Sendable {
    private let lock = NSLock()
    private var lastBeat: Date?
    private var failure: String?
    public let progress: ImportProgress

    public init(progress: ImportProgress) {
        self.progress = progress
    }

    public func beat() { lock.withLock { lastBeat = Date(); failure = nil } }
    public func failed(_ error: String) { lock.withLock { failure = error } }

    public struct Status: Sendable {
        public var alive: Bool
        public var secondsSinceBeat: Double?
        public var failure: String?
    }

    /// Alive when the importer beat within `maxSilence` seconds and has not failed since.
    public func status(maxSilence: Double = 60) -> Status {
        lock.withLock {
            let since = lastBeat.map { Date().timeIntervalSince($0) }
            return Status(alive: failure == nil && (since ?? .infinity) <= maxSilence, secondsSinceBeat: since, failure: failure)
        }
    }
}
