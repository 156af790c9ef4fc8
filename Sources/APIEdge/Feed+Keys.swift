import Hummingbird
import NodeKit

// A keyed feed socket (`/v1/<key>/api/ws`, or `/api/ws` with an X-API-Key header): its key checked
// again at each message and at each notice, and each message it sends charged one credit.
extension Feed {
    /// A keyed client's key checked again: nil while valid (or when the accounts service does not
    /// answer: the next message tries again), else the error message it gets before the socket closes.
    static func invalid(_ key: SocketKey) async -> String? {
        do {
            let record = try await key.access.authenticate(key.text)
            try AccessControl.checkOrigin(record, origin: key.origin)
            return nil
        } catch {
            let api = APIError.from(error)
            guard api.status == .unauthorized || api.status == .forbidden else { return nil }
            return Self.error(api.code, api.message)
        }
    }

    /// Charges a keyed client's message one credit: nil when admitted, else the error message (rate,
    /// daily quota, with the seconds to wait; or the accounts service unavailable).
    static func charge(_ key: SocketKey) async -> String? {
        do {
            let record = try await key.access.authenticate(key.text)
            let admission = await key.access.take(record, count: 1)
            guard admission == .admitted else {
                key.access.count(key: key.id, method: "feed message", refused: 1)
                let api = KeyLimits.refusal(admission, info: record.info)
                let wait = api.headers[.retryAfter].map { " (retry after \($0) s)" } ?? ""
                return Self.error(api.code, api.message + wait)
            }
            key.access.count(key: key.id, method: "feed message", requests: 1, credits: 1)
            return nil
        } catch {
            let api = APIError.from(error)
            return Self.error(api.code, api.message)
        }
    }
}
