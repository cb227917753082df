import Foundation

/// At most `limit` events per `window` seconds for each key (a client address): a sliding window.
public final class RateLimiter: @unchecked Sendable {
    public let limit: Int
    public let window: Double
    private let lock = NSLock()
    private var events: [String: [Double]] = [:]
    private var lastPrune = 0.0

    public init(limit: Int, window: Double) {
        self.limit = limit
        self.window = window
    }

    /// Counts one event for `key` at `now`: nil when allowed, else the seconds to wait.
    public func hit(_ key: String, now: Double = Date().timeIntervalSince1970) -> Int? {
        lock.withLock {
            if now - lastPrune > window {
                events = events.filter { $0.value.last.map { now - $0 < window } ?? false }
                lastPrune = now
            }
            var list = events[key, default: []].filter { now - $0 < window }
            if list.count >= limit {
                events[key] = list
                return max(1, Int((list[0] + window - now).rounded(.up)))
            }
            list.append(now)
            events[key] = list
            return nil
        }
    }
}
