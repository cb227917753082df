import Dispatch
import Foundation
import Store
import Tracking

/// Writes batches on a thread of its own, so that parsing and tracking go on meanwhile.
/// At most `depth` batches are queued or being written; a producer that gets ahead waits
/// (back-pressure). Batches that queued up while the writer was busy are written together, in
/// one transaction, and a transaction of full batches (an import catching up) stays open for those
/// that follow, up to `transactionLines` lines or `transactionSeconds`: each commit writes again
/// every page it changed (the tables' last pages, the messages written again because they were
/// still live). A batch that is not full (a live import keeping up) is committed at once.
final class BatchWriter: @unchecked Sendable {
    let db: AppDatabase
    let domains: DomainMapping
    /// How long a transaction stays open for the batches that follow (imports catching up), and for how
    /// many lines at most. Set before batches are submitted.
    var transactionSeconds: Double
    var transactionLines: Int
    private let queue = DispatchQueue(label: "lightmeter.writer")
    private let slots: DispatchSemaphore
    private let lock = NSCondition()
    private var error: (any Error)?
    private var pending: [Queued] = []
    /// `finish` waits: the transaction open is committed without waiting for more batches.
    private var finishing = false
    /// Batches written, handed back to be freed by the thread that made them: freed by the writer, each
    /// of their objects went back to the reader's heap arena under its lock, and the reader's next
    /// allocations missed its thread cache.
    private var spent: [AppDatabase.Batch] = []
    /// Batches submitted so far (each queued batch's `serial`).
    private var submitted = 0

    /// Tests: called by the writer, within a transaction, before it looks for more batches.
    var beforeTakingMore: (() -> Void)?

    private struct Queued {
        var batch: AppDatabase.Batch
        var lines: Int
        /// A full batch: more are coming right after it (an import catching up).
        var follows: Bool
        /// Its raw lines are being compressed by the thread that queued it (`finish`).
        var claimed = false
        let serial: Int

        /// Its raw lines made into their compressed block, if not done yet.
        mutating func compress() {
            guard batch.raw == nil, !batch.out.rawLines.isEmpty else { return }
            batch.raw = RawBlock.compressed(batch.out)
            batch.out.rawLines = RawLines()
        }
    }

    init(db: AppDatabase, domains: DomainMapping, depth: Int = 4, transactionSeconds: Double = 1, transactionLines: Int = 250_000) {
        self.db = db
        self.domains = domains
        self.transactionSeconds = transactionSeconds
        self.transactionLines = transactionLines
        slots = DispatchSemaphore(value: depth)
    }

    /// Queues a batch made of `lines` lines; `follows` when more batches come right after it. Throws the
    /// error of an earlier batch, if one failed.
    func submit(_ out: TrackerOutput, checkpoints: [Checkpoint], nextID: Int64, lines: Int = 0, follows: Bool = false,
                beginsBulkLoad: Bool = false) throws {
        try rethrowPending()
        freeSpent()
        submitted += 1
        var queued = Queued(batch: AppDatabase.Batch(out: out, raw: nil, checkpoints: checkpoints, nextID: nextID,
                                                     beginsBulkLoad: beginsBulkLoad),
                            lines: lines, follows: follows, serial: submitted)
        // The raw lines are compressed by whichever thread has time for it: by the writer, unless
        // batches are waiting for it already (then here). An import that catches up keeps both
        // threads busy: the writer, waiting for the next batch, would otherwise sit idle while the
        // reader compresses (the reader is the slower of the two).
        if lock.withLock({ !pending.isEmpty }) { queued.compress() }
        slots.wait()
        // The batch just written, whose slot this one takes.
        freeSpent()
        lock.withLock {
            pending.append(queued)
            lock.broadcast()
        }
        queue.async { [self] in write() }
    }

    /// Writes what is queued, and what follows it within the transaction's time and lines.
    private func write() {
        var first = take()
        // An earlier transaction took these batches along with its own.
        guard !first.isEmpty else { return }
        var unwritten = first.count
        defer { for _ in 0..<unwritten { slots.signal() } }
        guard lock.withLock({ error == nil }) else { return }
        let opened = monotonicSeconds()
        var lines = 0
        var follows = true
        do {
            try db.save(domains: domains, next: { [self] in
                var group: [Queued]
                if !first.isEmpty {
                    group = first
                    first = []
                } else {
                    guard follows, lines < transactionLines, monotonicSeconds() - opened < transactionSeconds else { return nil }
                    beforeTakingMore?()
                    group = lock.withLock { () -> [Queued] in
                        let deadline = Date(timeIntervalSinceNow: max(0, opened + transactionSeconds - monotonicSeconds()))
                        while pending.isEmpty && !finishing && lock.wait(until: deadline) {}
                        // A bulk load begins with a transaction of its own (the indexes are set aside first):
                        // the batches before it are taken, it and those after it are left to the next.
                        let n = pending.firstIndex { $0.batch.beginsBulkLoad } ?? pending.count
                        guard n > 0 else { return [] }
                        defer { pending.removeFirst(n) }
                        return Array(pending[..<n])
                    }
                    guard !group.isEmpty else { return nil }
                    unwritten += group.count
                }
                lines += group.reduce(0) { $0 + $1.lines }
                follows = group.last!.follows
                for i in group.indices { group[i].compress() }
                return group.map(\.batch)
            }, written: { [self] written in
                // Taken: the last references to the batches are these, handed back to be freed by the
                // thread that made them.
                var group = written
                written = []
                db.wrote(bytes: group.reduce(0) { $0 + ($1.raw?.size ?? 0) })
                // Their large buffers (raw lines, compressed block) are let go here and now; what is
                // handed back is the many small objects.
                for i in group.indices {
                    group[i].raw = nil
                    group[i].out.rawLines = RawLines()
                }
                let n = group.count
                lock.withLock { spent.append(contentsOf: group) }
                group = []
                for _ in 0..<n { slots.signal() }
                unwritten -= n
            })
        } catch {
            lock.withLock { self.error = self.error ?? error }
        }
    }

    /// The batches queued, now taken by the writer.
    private func take() -> [Queued] {
        lock.withLock {
            defer { pending.removeAll(keepingCapacity: true) }
            return pending
        }
    }

    private func freeSpent() {
        var written = lock.withLock { () -> [AppDatabase.Batch] in
            defer { spent.removeAll(keepingCapacity: true) }
            return spent
        }
        written.removeAll()
    }

    /// Waits for every queued batch to be written and committed. Meanwhile this thread compresses the
    /// raw lines of the batches still queued, from the last: at the end of an import the writer has
    /// several batches left, and the thread that read them nothing else to do.
    func finish() throws {
        lock.withLock {
            finishing = true
            lock.broadcast()
        }
        while let (serial, out) = lock.withLock({ () -> (Int, TrackerOutput)? in
            guard let i = pending.lastIndex(where: { !$0.claimed && $0.batch.raw == nil && !$0.batch.out.rawLines.isEmpty }) else { return nil }
            pending[i].claimed = true
            return (pending[i].serial, pending[i].batch.out)
        }) {
            let raw = RawBlock.compressed(out)
            lock.withLock {
                // Unless the writer took it meanwhile (then it compresses it itself).
                if let i = pending.firstIndex(where: { $0.serial == serial }), pending[i].batch.raw == nil {
                    pending[i].batch.raw = raw
                    pending[i].batch.out.rawLines = RawLines()
                }
            }
        }
        queue.sync {}
        lock.withLock {
            finishing = false
            spent.removeAll()
        }
        try rethrowPending()
    }

    private func rethrowPending() throws {
        if let e = lock.withLock({ error }) { throw e }
    }
}
