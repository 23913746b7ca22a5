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

    /// A JSON value as the body: its numbers as their literals (a bigint stays exact), keys sorted.
    static func json(_ body: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: body.jsonBytes)))
    }
}
