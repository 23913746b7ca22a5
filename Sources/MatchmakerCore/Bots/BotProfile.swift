import Foundation
import Shared

/// One of the five bot personalities of the original service (contract §8, `docs/bots.md`), with its reply rules.
public struct BotProfile: Sendable, Hashable, Codable {
    /// The profile id (`friendly-alex`), part of the bot's email and id.
    public var id: String
    /// The display name (`Alex`).
    public var name: String
    /// `friendly`, `curious`, `humorous`, `intellectual`.
    public var personality: String
    /// Topics the bot mentions when asked about its interests.
    public var interests: [String]
    /// Characters per second while "typing" a reply.
    public var typingSpeed: Double
    /// Incoming messages after which the bot may leave.
    public var maxMessages: Int
    /// The chance of leaving after each reply once `maxMessages` is reached.
    public var skipProbability: Double

    /// Creates a profile.
    public init(
        id: String, name: String, personality: String, interests: [String], typingSpeed: Double, maxMessages: Int, skipProbability: Double
    ) {
        self.id = id
        self.name = name
        self.personality = personality
        self.interests = interests
        self.typingSpeed = typingSpeed
        self.maxMessages = maxMessages
        self.skipProbability = skipProbability
    }

    /// The five profiles, in the original's order.
    public static let all: [BotProfile] = [
        BotProfile(
            id: "friendly-alex", name: "Alex", personality: "friendly", interests: ["movies", "music", "travel", "food", "gaming"],
            typingSpeed: 45, maxMessages: 25, skipProbability: 0.2),
        BotProfile(
            id: "curious-sam", name: "Sam", personality: "curious", interests: ["science", "books", "technology", "art", "nature"],
            typingSpeed: 40, maxMessages: 30, skipProbability: 0.15),
        BotProfile(
            id: "humorous-jordan", name: "Jordan", personality: "humorous",
            interests: ["memes", "comedy", "sports", "gaming", "pop culture"], typingSpeed: 55, maxMessages: 20, skipProbability: 0.25),
        BotProfile(
            id: "intellectual-taylor", name: "Taylor", personality: "intellectual",
            interests: ["philosophy", "history", "politics", "psychology", "literature"], typingSpeed: 35, maxMessages: 35,
            skipProbability: 0.1),
        BotProfile(
            id: "friendly-casey", name: "Casey", personality: "friendly",
            interests: ["fitness", "cooking", "pets", "fashion", "photography"], typingSpeed: 48, maxMessages: 28, skipProbability: 0.18),
    ]

    /// The `bot_profile` column: the profile as JSON text.
    public var json: String { (try? JSONCoding.string(self)) ?? "{}" }

    // MARK: - Replies

    /// Openers, also used to answer a greeting.
    public static let greetings = ["Hey! How's it going?", "Hi there! How are you today?", "Hello! Nice to meet you.", "Hey, what's up?"]
    /// Answers to a question the rules do not recognise.
    public static let answers = [
        "Good question, I'd have to think about that one.", "Honestly, I'm not sure. What do you think?",
        "I'd say yes, mostly!", "Hmm, it depends. How about you?",
    ]
    /// Goodbyes.
    public static let farewells = ["Bye! It was nice talking to you.", "Take care!", "See you around!", "Catch you later!"]
    /// Anything else.
    public static let fillers = [
        "That's interesting!", "Tell me more.", "Oh really? Why's that?", "Ha, I know what you mean.", "Nice!",
        "I hadn't thought of it that way.", "Cool. What else is new with you?", "Makes sense to me.",
    ]

    /// The original's reply rules (§3.4 step 7), lower-cased, first match wins.
    public func reply(to message: String, using random: inout some RandomNumberGenerator) -> String {
        let text = message.lowercased()
        if Self.matches(text, words: ["hi", "hello", "hey", "howdy", "sup"]) {
            return Self.greetings.randomElement(using: &random)!
        }
        if text.contains("name") { return "I'm \(name)! What's your name?" }
        if Self.matches(text, words: ["hobby", "hobbies", "interest", "interests", "do for fun"]) {
            return "I'm really into \(interests.randomElement(using: &random)!)! What about you?"
        }
        if text.contains("?") { return Self.answers.randomElement(using: &random)! }
        if Self.matches(text, words: ["bye", "goodbye", "gtg", "gotta go"]) {
            return Self.farewells.randomElement(using: &random)!
        }
        return Self.fillers.randomElement(using: &random)!
    }

    /// Whether `text` contains any of `words` as whole words (`\b…\b`).
    static func matches(_ text: String, words: [String]) -> Bool {
        let pattern = "\\b(" + words.map { NSRegularExpression.escapedPattern(for: $0) }.joined(separator: "|") + ")\\b"
        return text.range(of: pattern, options: .regularExpression) != nil
    }
}
