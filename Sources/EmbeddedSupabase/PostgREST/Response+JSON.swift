import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Shared

extension Response {
    /// A JSON body as the slice's servers send it: sorted keys, `application/json`.
    static func json(_ body: some Encodable, status: HTTPResponse.Status = .ok) -> Response {
        let bytes = (try? JSONCoding.encoder.encode(body)) ?? Data("null".utf8)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
