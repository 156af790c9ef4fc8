import Bus
import Foundation
import Hummingbird
import Logging
import NIOCore
import NodeKit

/// Every error the edge returns: `{"error":{"code":"...","message":"..."}}` with an HTTP status.
struct APIError: Error, HTTPResponseError, CustomStringConvertible {
    var status: HTTPResponse.Status
    var code: String
    var message: String
    var headers: HTTPFields = [:]

    init(_ status: HTTPResponse.Status, _ code: String, _ message: String, headers: HTTPFields = [:]) {
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers
    }

    var description: String { "\(status.code) \(code): \(message)" }

    static func badRequest(_ code: String, _ message: String) -> APIError { APIError(.badRequest, code, message) }
    static func notFound(_ message: String) -> APIError { APIError(.notFound, "not-found", message) }

    struct Body: Codable, Sendable, Equatable {
        struct Detail: Codable, Sendable, Equatable {
            var code: String
            var message: String
        }
        var error: Detail
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        var response = Reply.json(Body(error: .init(code: code, message: message)), status: status)
        response.headers.append(contentsOf: headers)
        return response
    }

    /// Maps anything thrown by a handler, the router or a backend call to the JSON error.
    static func from(_ error: any Error) -> APIError {
        switch error {
        case let e as APIError:
            return e
        case let e as RPCError:
            return fromRPC(e, service: nil)
        case let e as BusError:
            return fromBus(e, service: nil)
        case is NIOTooManyBytesError:
            return APIError(.contentTooLarge, "body-too-large", "request body is larger than the limit")
        case let e as HTTPError:
            return fromHTTP(e.status, message: e.body, headers: e.headers)
        case let e as any HTTPResponseError:
            return fromHTTP(e.status, message: nil, headers: [:])
        default:
            return APIError(.internalServerError, "internal", "internal error: \(error)")
        }
    }

    static func fromRPC(_ e: RPCError, service: ServiceName?) -> APIError {
        switch e.code {
        case "not-found": return APIError(.notFound, "not-found", e.message)
        case "bad-params": return APIError(.badRequest, "bad-request", e.message)
        case "internal", "unknown-method":
            let who = service.map { "\($0.title): " } ?? ""
            return APIError(.badGateway, "backend-error", "\(who)\(e.message)")
        case MempoolRefusal.chainUnavailable.rawValue:
            // The mempool could not reach the chain store: not the client's mistake; retry later.
            return APIError(.serviceUnavailable, e.code, e.message)
        default: return APIError(.badRequest, e.code, e.message)
        }
    }

    static func fromBus(_ e: BusError, service: ServiceName?) -> APIError {
        let who = service?.title ?? "a backend service"
        switch e {
        case .unreachable, .timeout, .stopped:
            return APIError(.serviceUnavailable, "service-unavailable", "\(who) is unavailable: \(e)")
        case .remote(let message):
            return APIError(.badGateway, "backend-error", "\(who) failed: \(message)")
        }
    }

    static func fromHTTP(_ status: HTTPResponse.Status, message: String?, headers: HTTPFields) -> APIError {
        let code: String
        switch status.code {
        case 400: code = "bad-request"
        case 404: code = "not-found"
        case 405: code = "method-not-allowed"
        case 413: code = "body-too-large"
        case 415: code = "unsupported-media-type"
        case 500...599: code = "internal"
        default: code = "http-\(status.code)"
        }
        return APIError(status, code, message ?? status.reasonPhrase, headers: headers)
    }
}

/// Converts every thrown error into the JSON error shape; turns "no route" into 405 when the
/// path exists under another method.
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let routes: RouteMatcher
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            var api = APIError.from(error)
            if api.status == .notFound, api.code == "not-found", context.endpointPath == nil || context.endpointPath == "NotFound" {
                let allowed = routes.methods(for: request.uri.path)
                if allowed.isEmpty {
                    api.message = "no route \(request.method.rawValue) \(request.uri.path)"
                } else if !allowed.contains(request.method) {
                    api = APIError(.methodNotAllowed, "method-not-allowed",
                                   "\(request.method.rawValue) is not allowed on \(request.uri.path)",
                                   headers: [.allow: allowed.map(\.rawValue).sorted().joined(separator: ", ")])
                }
            }
            if api.status.code >= 500 && api.status != .serviceUnavailable {
                logger.error("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            } else {
                logger.debug("request refused", metadata: ["path": "\(request.uri.path)", "error": "\(api)"])
            }
            return try api.response(from: request, context: context)
        }
    }
}

/// Response helpers.
enum Reply {
    static func json<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data: Data
        do {
            data = try encoder.encode(value)
        } catch {
            data = Data(#"{"error":{"code":"internal","message":"response encoding failed"}}"#.utf8)
            return Response(status: .internalServerError, headers: [.contentType: "application/json; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
        return Response(status: status, headers: [.contentType: "application/json; charset=utf-8"],
                        body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// Built once: a field list from a literal per reply showed in the flood's profile.
    private static let textHeaders: HTTPFields = [.contentType: "text/plain; charset=utf-8"]

    static func text(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: textHeaders, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func raw(_ bytes: [UInt8], contentType: String) -> Response {
        Response(status: .ok, headers: [.contentType: contentType], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
