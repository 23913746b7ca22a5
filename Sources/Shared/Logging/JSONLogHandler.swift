import Foundation
import Logging
import Synchronization

/// A swift-log handler that writes one JSON object per line (`LOG_FORMAT=json`):
/// `{"label":…,"level":…,"message":…,"metadata":{…},"source":…,"timestamp":…}`, keys sorted.
///
/// Metadata keeps its shape (strings, nested objects and arrays); `error` is added when the event carries one.
public struct JSONLogHandler: LogHandler {
    /// Where finished lines go; the standard error stream by default.
    public typealias Sink = @Sendable (String) -> Void

    /// The logger's label.
    public let label: String
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let sink: Sink
    private let now: @Sendable () -> Date

    /// A handler for `label` that writes each line to `sink` and stamps it with `now`.
    public init(
        label: String, metadataProvider: Logger.MetadataProvider? = nil, now: @escaping @Sendable () -> Date = { Date() },
        sink: @escaping Sink = JSONLogHandler.standardError
    ) {
        self.label = label
        self.metadataProvider = metadataProvider
        self.now = now
        self.sink = sink
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { $1 } }
        if let explicit = event.metadata { merged.merge(explicit) { $1 } }
        sink(Self.line(event: event, label: label, metadata: merged, at: now()))
    }

    /// The JSON line (without its newline) of `event`, with `metadata` already merged, at `date`.
    public static func line(event: LogEvent, label: String, metadata: Logger.Metadata, at date: Date) -> String {
        var object: [String: JSONValue] = [
            "timestamp": .string(date.formatted(timestampStyle)),
            "level": .string(event.level.rawValue),
            "label": .string(label),
            "message": .string(event.message.description),
            "metadata": .object(metadata.mapValues(json)),
            "source": .string(event.source),
        ]
        if let error = event.error { object["error"] = .string(String(describing: error)) }
        do {
            return String(decoding: try JSONCoding.encoder.encode(JSONValue.object(object)), as: UTF8.self)
        } catch {
            // Encoding strings, objects and arrays cannot fail; say so in the stream rather than lose the event.
            return #"{"level":"error","message":"log event could not be encoded"}"#
        }
    }

    /// A metadata value as JSON: strings stay strings, dictionaries objects, arrays arrays.
    static func json(_ value: Logger.MetadataValue) -> JSONValue {
        switch value {
        case .string(let string): .string(string)
        case .stringConvertible(let convertible): .string(convertible.description)
        case .dictionary(let dictionary): .object(dictionary.mapValues(json))
        case .array(let array): .array(array.map(json))
        }
    }

    /// ISO 8601 in UTC with milliseconds, e.g. `2026-12-03T02:00:00.000Z`.
    static let timestampStyle = Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt)

    private static let writeLock = Mutex(())

    /// Writes `line` and a newline to standard error, one line at a time.
    public static let standardError: Sink = { line in
        writeLock.withLock { _ in FileHandle.standardError.write(Data((line + "\n").utf8)) }
    }
}
