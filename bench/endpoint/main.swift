import Foundation
import Hummingbird

/// `HelloBench`: the smallest Hummingbird server, built from the same dependencies as `matchmaker`, as the
/// reference for `bench/endpoint/run.sh`: `POST /hello` answers a fixed JSON body.
///
/// Run: `.build/release/HelloBench <port>` (default 18280).
@main
struct HelloBench {
    static func main() async throws {
        let port = CommandLine.arguments.dropFirst().first.flatMap(Int.init) ?? 18280
        let router = Router()
        router.post("/hello") { _, _ -> Response in
            Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: #"{"success":true,"message":"hello"}"#)))
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: "hello"))
        try await app.runService()
    }
}
