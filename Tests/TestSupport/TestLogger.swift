import Foundation
import Logging

/// The logger of every test: silent unless `TEST_LOG` is set, then everything from `trace` up.
public let testLogger: Logger = {
    var logger = Logger(label: "tests")
    logger.logLevel = ProcessInfo.processInfo.environment["TEST_LOG"] == nil ? .critical : .trace
    return logger
}()
