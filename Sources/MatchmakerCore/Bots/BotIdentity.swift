import Foundation
import Shared

/// A bot's stable identity: slot `n` always has the same profile, id and email, so restarts reuse its `user` row.
public struct BotIdentity: Sendable, Hashable {
    /// The slot number, from 1.
    public var slot: Int
    /// The personality.
    public var profile: BotProfile

    /// The identity of slot `slot`; profiles rotate through the five.
    public init(slot: Int) {
        self.slot = slot
        profile = BotProfile.all[(slot - 1) % BotProfile.all.count]
    }

    /// `user.id`: `bot-<profile>-<n>`.
    public var id: String { "bot-\(profile.id)-\(slot)" }

    /// The slot of a bot id this type made, or nil for another id.
    public static func slot(of id: String) -> Int? {
        guard let slot = id.split(separator: "-").last.flatMap({ Int($0) }), slot > 0, BotIdentity(slot: slot).id == id else { return nil }
        return slot
    }
    /// `user.email`: `bot-<profile>-<n>@bot.internal`.
    public var email: String { "\(id)@bot.internal" }
    /// `user.name`: the profile's name.
    public var name: String { profile.name }

    /// The `user` row inserted on the bot's first start, stamped `now`.
    ///
    /// It carries every column the app's `user` table requires without a default (`name`, `email`, unique per
    /// bot, `email_verified`, `created_at`, `updated_at`), and the bot's own (`is_bot`, `is_anonymous`,
    /// `bot_profile`, `last_active`). Timestamps are `timestamp without time zone` text in UTC.
    public func userRow(now: Date) -> JSONValue {
        var row = userUpdate(now: now)
        row["created_at"] = .string(Self.localTimestamp(now))
        return .object(row)
    }

    /// The columns a restart writes over the bot's existing row: those of `userRow(now:)` except `created_at`,
    /// which keeps the first start's stamp.
    public func userUpdate(now: Date) -> [String: JSONValue] {
        let stamp = JSONValue.string(Self.localTimestamp(now))
        return [
            "id": .string(id), "name": .string(name), "email": .string(email), "email_verified": true, "is_bot": true,
            "is_anonymous": true, "bot_profile": .string(profile.json), "updated_at": stamp, "last_active": stamp,
        ]
    }

    /// `timestamp without time zone` text in UTC, as `user.last_active` and `updated_at` take it.
    public static func localTimestamp(_ date: Date) -> String {
        let text = Timestamp.format(date)
        return String(text.prefix(text.count - "+00:00".count))
    }
}
