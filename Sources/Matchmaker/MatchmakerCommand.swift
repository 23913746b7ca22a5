import ArgumentParser
import MatchmakerCore

/// `matchmaker`: the stranger-chat matchmaker. With no subcommand it serves on the embedded backend.
@main
struct MatchmakerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "matchmaker",
        abstract: "Pairs waiting strangers from the Supabase queue, writes their room and tells them both.",
        version: matchmakerVersion,
        subcommands: [Serve.self, Match.self, Replay.self, Bots.self, Doctor.self],
        defaultSubcommand: Serve.self
    )
}
