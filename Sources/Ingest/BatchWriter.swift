import Dispatch
import Foundation
import Store
import Tracking

/// Writes batches on a thread of its own, so that parsing and tracking go on meanwhile.
/// At most `depth` batches wait; a producer that gets ahead waits (back-pressure).
final class BatchWriter: @unchecked Sendable {
    let db: AppDatabase
    let domains: DomainMapping
    private let queue = DispatchQueue(label: "lightmeter.writer")
    private let slots: DispatchSemaphore
    private let lock = NSLock()
    private var error: (any Error)?

    init(db: AppDatabase, domains: DomainMapping, depth: Int = 2) {
        self.db = db
        self.domains = domains
        slots = DispatchSemaphore(value: depth)
    }

    /// Queues a batch. Throws the error of an earlier batch, if one failed.
    func submit(_ out: TrackerOutput, raw: RawBlock?, checkpoints: [Checkpoint], nextID: Int64) throws {
        try rethrowPending()
        slots.wait()
        queue.async { [self] in
            defer { slots.signal() }
            guard lock.withLock({ error == nil }) else { return }
            do {
                try db.save(out, raw: raw, checkpoints: checkpoints, nextID: nextID, domains: domains)
            } catch {
                lock.withLock { self.error = self.error ?? error }
            }
        }
    }

    /// Waits for every queued batch to be written.
    func finish() throws {
        queue.sync {}
        try rethrowPending()
    }

    private func rethrowPending() throws {
        if let e = lock.withLock({ error }) { throw e }
    }
}
