/// The version of `matchmaker`, printed by `matchmaker --version` and logged when `serve` and `bots`
/// start. The one place it is written: bump it here (and in the README's deployment example) on a release.
public let matchmakerVersion = "0.1.0"
