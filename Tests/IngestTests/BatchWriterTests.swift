import Dispatch
import Foundation
import GRDB
@testable import Ingest
@testable import Store
import Testing
import Tracking

@Suite struct BatchWriterTests {
    /// Batches queued while a transaction is open are taken into it, but not one that begins a bulk load:
    /// that one begins a transaction of its own, after the search indexes are set aside.
    @Test func aBatchThatBeginsABulkLoadIsNotTakenIntoAnOpenTransaction() throws {
        let ws = tempDir()
        defer { try? FileManager.default.removeItem(atPath: ws) }
        let db = try AppDatabase.open(workspace: ws)
        let indexes = { try db.reader.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index'") ?? 0 } }
        let before = try indexes()
        let writer = BatchWriter(db: db, domains: DomainMapping(), transactionSeconds: 60, transactionLines: .max)
        // The writer waits here, its transaction open, until three more batches are queued.
        let gate = DispatchSemaphore(value: 0)
        final class Once: @unchecked Sendable { var done = false }
        let once = Once()
        writer.beforeTakingMore = {
            if !once.done {
                once.done = true
                gate.wait()
            }
        }
        func checkpoint(_ n: Int64) -> Checkpoint {
            Checkpoint(source: "stdin", lines: n, offset: n * 10, lastTime: n, lastHash: n, sameTimeLines: 1)
        }
        try writer.submit(TrackerOutput(), checkpoints: [checkpoint(1)], nextID: 1, lines: 500, follows: true)
        // The first batch is written (its slot freed) before the writer waits for more.
        while !once.done { usleep(1000) }
        try writer.submit(TrackerOutput(), checkpoints: [checkpoint(2)], nextID: 1, lines: 500, follows: true)
        try writer.submit(TrackerOutput(), checkpoints: [checkpoint(3)], nextID: 1, lines: 500, follows: true, beginsBulkLoad: true)
        try writer.submit(TrackerOutput(), checkpoints: [checkpoint(4)], nextID: 1, lines: 100, follows: false)
        gate.signal()
        try writer.finish()
        // Set aside: the search indexes, their definitions kept for the end of the bulk load.
        #expect(try db.isBulkLoading())
        #expect(try indexes() == before - AppDatabase.searchIndexes.count)
        #expect(try db.checkpoint("stdin")?.lines == 4)
        try db.finishBulkLoad()
        #expect(try indexes() == before)
    }
}
