import Foundation

/// What one simulator run does: where the clients connect, how many arrive, and how they behave.
public struct SimulationOptions: Sendable {
    /// The project's base URL for Realtime (`<url>/realtime/v1/websocket`), REST broadcasts and, without
    /// `databaseURL`, PostgREST (`<url>/rest/v1`): `serve` on the embedded backend, or the hub beside a
    /// `serve` on `DATABASE_URL`.
    public var url: String
    /// The key the clients send (`apikey`, and as bearer when it is a legacy JWT key).
    public var apiKey: String
    /// Where `/stats` is read for the passes run: the `serve` that matches (defaults to `url`).
    public var statsURL: String?
    /// When set, the app server's writes (user rows, `pgmq_public.send` as `anon`, skips) go to this
    /// database directly instead of PostgREST: the `postgres` backend has no PostgREST of its own.
    public var databaseURL: String?
    /// Mean arrivals per second (Poisson).
    public var rate: Double = 20
    /// How long users keep arriving.
    public var duration: Duration = .seconds(30)
    /// After the last arrival, how long everyone still waiting may wait to be told something.
    public var drain: Duration = .seconds(20)
    /// The share of users (0…1) who leave before being matched: they close the tab at a uniform moment
    /// within `leaveWithin` of their enqueue, unless a match reached them first.
    public var leaverShare: Double = 0
    /// The window in which a leaver leaves.
    public var leaveWithin: Duration = .seconds(1)
    /// The share of matched users (0…1) who skip their first partner, as the app's `skipStranger` does.
    public var skipShare: Double = 0
    /// The longest a user waits after an enqueue before it counts as untold and ends its visit (nil: until the
    /// drain ends). Long runs set it, so that a user the matchmaker failed shows as untold while the run goes on.
    public var maxWait: Duration?
    /// Whether arrivals reuse the ids of visits that ended (a minute or more before), so that a long run's
    /// `user` rows stop growing at the number of users present at once, as a real app's returning users do.
    public var reuseUsers = false
    /// How long a matched user stays in the room before leaving (or skipping).
    public var roomStay: Duration = .seconds(1)
    /// A progress line every this often (nil: none).
    public var progressEvery: Duration? = .seconds(10)
    /// The continents users pick from, uniformly.
    public var continents = ["World", "Europe", "Asia", "North America"]
    /// The random seed of arrivals and choices.
    public var seed: UInt64 = 1
    /// The user id prefix; a fresh one per run keeps runs on one server apart.
    public var idPrefix = "sim-\(UInt32.random(in: 0..<UInt32.max))"

    /// Options for a run against `url` with `apiKey`.
    public init(url: String, apiKey: String) {
        self.url = url
        self.apiKey = apiKey
    }
}
