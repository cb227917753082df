import Dispatch
import Foundation
import Store
import Tracking

/// Writes batches on a thread of its own, so that parsing and tracking go on meanwhile.
/// At most `depth` batches are queued or being written; a producer that gets ahead waits
/// (back-pressure). Batches that queued up while the writer was busy are written together, in
/// one transaction: a bulk import commits less often (each commit rewrites the index pages it
/// touched), a live import still commits each batch at once.
final class BatchWriter: @unchecked Sendable {
    let db: AppDatabase
    let domains: DomainMapping
    private let queue = DispatchQueue(label: "lightmeter.writer")
    private let slots: DispatchSemaphore
    private let lock = NSLock()
    private var error: (any Error)?
    private var pending: [AppDatabase.Batch] = []
    /// The writer is writing batches (a batch submitted meanwhile is compressed by its submitter).
    private var writing = false
    /// Batches written, handed back to be freed by the thread that made them: freed by the writer, each
    /// of their objects went back to the reader's heap arena under its lock, and the reader's next
    /// allocations missed its thread cache.
    private var spent: [AppDatabase.Batch] = []

    init(db: AppDatabase, domains: DomainMapping, depth: Int = 4) {
        self.db = db
        self.domains = domains
        slots = DispatchSemaphore(value: depth)
    }

    /// Queues a batch. Throws the error of an earlier batch, if one failed.
    func submit(_ out: TrackerOutput, checkpoints: [Checkpoint], nextID: Int64, beginsBulkLoad: Bool = false) throws {
        try rethrowPending()
        freeSpent()
        // The raw lines are compressed by whichever thread has time for it: here while the writer
        // is busy, by the writer when it waits for batches.
        var out = out
        var raw: RawBlock? = nil
        if lock.withLock({ writing || !pending.isEmpty }) {
            raw = RawBlock.compressed(out)
            out.rawLines = RawLines()
        }
        slots.wait()
        // The batch just written, whose slot this one takes.
        freeSpent()
        lock.withLock {
            pending.append(AppDatabase.Batch(out: out, raw: raw, checkpoints: checkpoints, nextID: nextID, beginsBulkLoad: beginsBulkLoad))
        }
        queue.async { [self] in
            var batches = lock.withLock { () -> [AppDatabase.Batch] in
                defer { pending.removeAll(keepingCapacity: true) }
                if !pending.isEmpty { writing = true }
                return pending
            }
            defer { lock.withLock { writing = false } }
            for i in batches.indices where batches[i].raw == nil && !batches[i].out.rawLines.isEmpty {
                batches[i].raw = RawBlock.compressed(batches[i].out)
                batches[i].out.rawLines = RawLines()
            }
            // An earlier block took this batch along with its own.
            guard !batches.isEmpty else { return }
            let taken = batches.count
            defer { for _ in 0..<taken { slots.signal() } }
            guard lock.withLock({ error == nil }) else { return }
            do {
                try db.save(batches, domains: domains)
                db.wrote(bytes: batches.reduce(0) { $0 + ($1.raw?.size ?? 0) })
                // Their large buffers (raw lines, compressed block) are let go here and now; what is
                // handed back is the many small objects.
                for i in batches.indices {
                    batches[i].raw = nil
                    batches[i].out.rawLines = RawLines()
                }
                lock.withLock { spent.append(contentsOf: batches) }
                batches.removeAll()
            } catch {
                lock.withLock { self.error = self.error ?? error }
            }
        }
    }

    private func freeSpent() {
        var written = lock.withLock { () -> [AppDatabase.Batch] in
            defer { spent.removeAll(keepingCapacity: true) }
            return spent
        }
        written.removeAll()
    }

    /// Waits for every queued batch to be written.
    func finish() throws {
        queue.sync {}
        lock.withLock { spent.removeAll() }
        try rethrowPending()
    }

    private func rethrowPending() throws {
        if let e = lock.withLock({ error }) { throw e }
    }
}
