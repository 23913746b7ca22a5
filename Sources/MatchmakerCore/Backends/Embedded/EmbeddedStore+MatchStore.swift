import EmbeddedSupabase

/// The stand-in's tables are the embedded backend's store: its queries and room writes are the port's.
extension EmbeddedStore: MatchStore {}
