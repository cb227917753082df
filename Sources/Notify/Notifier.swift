import AsyncHTTPClient
import Foundation
import L10n
import Logging
import ServiceLifecycle
import Store

/// The outbox's postman, a `Service` of the application: queues each new insight for every channel
/// that is set up (under the per-kind policy), delivers what is due, retries failures with a growing
/// delay (or after the Retry-After a channel asked for), and sends many at once as one digest.
///
/// Exactly once: an item is claimed (`sending`) before its delivery and marked `sent` after it; a
/// graceful shutdown lets a delivery in progress finish; a process killed during one leaves it
/// `sending`, and the next start sends it again with the same delivery id (the Message-ID of the
/// e-mail, `X-Lightmeter-Delivery` of the webhook) so that a receiver can drop the repeat.
public final class Notifier: Service, @unchecked Sendable {
    let db: AppDatabase
    let config: @Sendable () -> NotifyConfig
    let translations: Translations
    let now: @Sendable () -> Int64
    let logger: Logger
    let interval: Duration
    /// Builds a channel from the settings; tests give their own.
    let makeChannel: @Sendable (String, NotifyConfig) -> (any NotificationChannel)?
    private let lock = NSLock()
    private var fingerprints: [String: String] = [:]
    private var running = false
    private var lastHousekeeping = Int64.min / 2

    /// After this many attempts an item is given up (failed).
    public static let maxAttempts = 10
    /// Items waiting longer than this are no longer news: expired.
    public static let maxAge: Int64 = 2 * 86400

    public init(db: AppDatabase, config: @escaping @Sendable () -> NotifyConfig, translations: Translations = .shared,
                now: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) }, interval: Duration = .seconds(5),
                logger: Logger = Logger(label: "notify"),
                makeChannel: @escaping @Sendable (String, NotifyConfig) -> (any NotificationChannel)? = Notifier.standardChannel) {
        self.db = db
        self.config = config
        self.translations = translations
        self.now = now
        self.interval = interval
        self.logger = logger
        self.makeChannel = makeChannel
    }

    @Sendable public static func standardChannel(_ name: String, _ c: NotifyConfig) -> (any NotificationChannel)? {
        switch name {
        case "slack": return c.slack.map { SlackChannel(config: $0) }
        case "email": return c.email.map { EmailChannel(config: $0) }
        case "webhook": return c.webhook.map { WebhookChannel(config: $0) }
        default: return nil
        }
    }

    /// Backoff after the n-th failed attempt: 1, 2, 4... minutes, at most an hour.
    public static func backoff(attempts: Int) -> Int64 {
        min(3600, 60 << Int64(max(0, min(attempts - 1, 10))))
    }

    public func run() async throws {
        let requeued = try db.requeueInterrupted()
        if requeued > 0 { logger.notice("notifications: \(requeued) interrupted deliveries queued again") }
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            await runOnce()
            // The wait ends at a graceful shutdown; a delivery in progress does not.
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: self.interval) }
        }
    }

    /// Queues what is new, then delivers what is due. Returns how many items were delivered.
    @discardableResult
    public func runOnce() async -> Int {
        let proceed = lock.withLock { () -> Bool in
            if running { return false }
            running = true
            return true
        }
        guard proceed else { return 0 }
        defer { lock.withLock { running = false } }
        let c = config()
        let t = now()
        var delivered = 0
        do {
            try db.enqueueNewInsights(channels: c.configured, now: t) { c.kinds.contains($0.kind) }
            // Housekeeping every ten minutes, not every round.
            let housekeeping = lock.withLock { () -> Bool in
                guard t - lastHousekeeping >= 600 || t < lastHousekeeping else { return false }
                lastHousekeeping = t
                return true
            }
            if housekeeping { try db.expireOutbox(pendingBefore: t - Self.maxAge, deleteDoneBefore: t - 30 * 86400) }
            for name in c.configured {
                let fp = c.fingerprint(name)
                let changed = lock.withLock { () -> Bool in
                    defer { fingerprints[name] = fp }
                    return fingerprints[name] != nil && fingerprints[name] != fp
                }
                if changed { try db.rescheduleOutbox(channel: name, now: t) }
                guard let channel = makeChannel(name, c) else { continue }
                delivered += try await deliverDue(channel, config: c, now: t)
            }
        } catch {
            logger.error("notifications: \(error)")
        }
        return delivered
    }

    func deliverDue(_ channel: any NotificationChannel, config c: NotifyConfig, now t: Int64) async throws -> Int {
        let due = try db.dueOutbox(channel: channel.name, now: t, limit: 50)
        guard !due.isEmpty else { return 0 }
        let insights = try db.insights(ids: due.map(\.insightID))
        let known = Set(insights.compactMap(\.id))
        // An insight deleted meanwhile (retention): nothing to tell.
        let gone = due.filter { !known.contains($0.insightID) }.compactMap(\.id)
        if !gone.isEmpty { try db.markFailed(gone, error: DeliveryError(.configuration, N_("the insight no longer exists")).stored, retryAt: nil) }
        let items = due.filter { known.contains($0.insightID) }
        guard !items.isEmpty else { return 0 }
        let l = translations.localizer(translations.match(c.language) ?? "en")
        // Many at once: one digest; else one by one.
        let groups: [[OutboxItem]] = items.count > c.digestAbove ? [items] : items.map { [$0] }
        var delivered = 0
        for group in groups {
            let ids = group.compactMap(\.id)
            let content = NotificationContent.make(group.compactMap { item in insights.first { $0.id == item.insightID } },
                                                   deliveryID: "lm-\(channel.name)-" + ids.map(String.init).joined(separator: "-"),
                                                   localizer: l, publicURL: c.publicURL)
            try db.markSending(ids)
            do {
                try await channel.send(content)
                try db.markSent(ids, at: now())
                try recordStatus(channel.name, ok: true, message: nil)
                delivered += ids.count
                logger.info("notification sent", metadata: ["channel": .string(channel.name), "insights": .stringConvertible(ids.count)])
            } catch {
                let e = error as? DeliveryError ?? DeliveryError(.temporary, "{{error}}", ["error": "\(error)"])
                let attempts = (group.map(\.attempts).max() ?? 0) + 1
                let retryAt: Int64?
                switch e.kind {
                case .retryAfter(let s): retryAt = now() + max(1, s)
                default: retryAt = attempts >= Self.maxAttempts ? nil : now() + Self.backoff(attempts: attempts)
                }
                try db.markFailed(ids, error: e.stored, retryAt: retryAt)
                try recordStatus(channel.name, ok: false, message: e.stored)
                logger.warning("notification failed", metadata: ["channel": .string(channel.name), "error": .string(e.message),
                                                                 "retry_at": .string(retryAt.map(String.init) ?? "never")])
                // The channel is unhappy: the rest waits for the next round.
                break
            }
        }
        return delivered
    }

    /// Sends a test notification through `channel` now, outside the outbox; records the outcome.
    public func sendTest(channel name: String) async -> Result<Void, DeliveryError> {
        let c = config()
        guard let channel = makeChannel(name, c) else {
            return .failure(DeliveryError(.configuration, N_("{{channel}}: not set up; fill in its settings first"), ["channel": name]))
        }
        let l = translations.localizer(translations.match(c.language) ?? "en")
        let content = NotificationContent.test(channel: name, localizer: l, publicURL: c.publicURL, now: now())
        do {
            try await channel.send(content)
            try? recordStatus(name, ok: true, message: nil, test: true)
            return .success(())
        } catch {
            let e = error as? DeliveryError ?? DeliveryError(.temporary, "{{error}}", ["error": "\(error)"])
            try? recordStatus(name, ok: false, message: e.stored, test: true)
            return .failure(e)
        }
    }

    func recordStatus(_ channel: String, ok: Bool, message: String?, test: Bool = false) throws {
        let s = ChannelStatus(ok: ok, time: now(), message: message, test: test)
        try db.setMeta("notify_status." + channel, String(decoding: try JSONEncoder().encode(s), as: UTF8.self))
    }

    public static func status(_ db: AppDatabase, channel: String) -> ChannelStatus? {
        guard let text = try? db.meta("notify_status." + channel) else { return nil }
        return try? JSONDecoder().decode(ChannelStatus.self, from: Data(text.utf8))
    }
}

/// The last delivery or test of a channel, as Settings shows it.
public struct ChannelStatus: Codable, Sendable, Equatable {
    public var ok: Bool
    public var time: Int64
    /// The error, as `DeliveryError.stored` keeps it (`DeliveryError.message(stored:)` reads it).
    public var message: String?
    public var test: Bool
}
