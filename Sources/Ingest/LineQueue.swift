import Foundation

/// Lines from network sources, handed to the importing thread. Bounded: a producer that gets
/// ahead waits, which slows its connection down (back-pressure through TCP).
public final class LineQueue: @unchecked Sendable {
    private let condition = NSCondition()
    private var lines: [[UInt8]] = []
    private var head = 0
    private var closed = false
    public let capacity: Int

    public init(capacity: Int = 50_000) {
        self.capacity = capacity
    }

    /// Adds a line; waits while the queue is full. False once the queue is closed.
    @discardableResult
    public func put(_ line: [UInt8]) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while lines.count - head >= capacity && !closed { condition.wait() }
        guard !closed else { return false }
        lines.append(line)
        condition.broadcast()
        return true
    }

    /// Takes up to `max` lines, waiting up to `timeout` seconds for the first. Empty with `isClosed`
    /// when nothing more will come.
    public func take(max: Int, timeout: TimeInterval) -> [[UInt8]] {
        condition.lock()
        defer { condition.unlock() }
        let deadline = Date().addingTimeInterval(timeout)
        while lines.count == head && !closed {
            if !condition.wait(until: deadline) { break }
        }
        let n = Swift.min(max, lines.count - head)
        let out = Array(lines[head..<(head + n)])
        head += n
        if head > 4096 && head * 2 > lines.count {
            lines.removeFirst(head)
            head = 0
        }
        condition.broadcast()
        return out
    }

    public func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }

    public var isClosed: Bool {
        condition.lock()
        defer { condition.unlock() }
        return closed && lines.count == head
    }
}
