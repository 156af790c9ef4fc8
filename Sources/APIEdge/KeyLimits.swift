import HTTPTypes
import Hummingbird
import NodeKit

extension HTTPField.Name {
    static let rateLimitPolicy = HTTPField.Name("RateLimit-Policy")!
    static let rateLimit = HTTPField.Name("RateLimit")!
}

/// What a key's limits look like in headers and errors (IETF draft-ietf-httpapi-ratelimit-headers:
/// `RateLimit-Policy: "burst";q=20;w=1, "daily";q=10000;w=86400` and, on a refusal,
/// `RateLimit: "burst";r=0;t=1` with `Retry-After`).
enum KeyLimits {
    static func seconds(_ s: Double) -> Int { max(1, Int(s.rounded(.up))) }

    static func policy(_ info: KeyInfo) -> String? {
        var parts: [String] = []
        if info.rps > 0 { parts.append("\"burst\";q=\(info.rps);w=1") }
        if info.daily > 0 { parts.append("\"daily\";q=\(info.daily);w=86400") }
        return parts.isEmpty ? nil : parts.joined(separator: ", ")
    }

    static func tooMany(code: String, message: String, policy: String?, limit: String, retryAfter: Double) -> APIError {
        var headers: HTTPFields = [.retryAfter: String(seconds(retryAfter)), .rateLimit: limit]
        if let policy { headers[.rateLimitPolicy] = policy }
        return APIError(.tooManyRequests, code, message, headers: headers)
    }

    /// The error for a refused admission of `cost` credits: 429 (rate or daily quota, or more credits
    /// than the key's per-second limit) or 503 (no lease: the accounts service is down).
    static func refusal(_ admission: AccessControl.Admission, info: KeyInfo, cost: Int = 1) -> APIError {
        guard case .refused(let kind, let retryAfter, _, _) = admission else {
            return APIError(.internalServerError, "internal", "refusal of an admitted request")
        }
        switch kind {
        case "daily":
            return tooMany(code: "daily-quota-exceeded",
                           message: "API key \(info.id) used its daily quota of \(info.daily) credits (policy \"daily\"); it renews at 00:00 UTC",
                           policy: policy(info), limit: "\"daily\";r=0;t=\(seconds(retryAfter))", retryAfter: retryAfter)
        case "cost":
            return tooMany(code: "rate-limited",
                           message: "this request costs \(cost) credits, more than API key \(info.id)'s limit of \(info.rps) a second (policy \"burst\"): split it, or ask for a higher limit",
                           policy: policy(info), limit: "\"burst\";r=0;t=1", retryAfter: 1)
        case "unavailable":
            return APIError(.serviceUnavailable, "accounts-unavailable", "the accounts service does not answer; retry shortly",
                            headers: [.retryAfter: "1"])
        default:
            return tooMany(code: "rate-limited",
                           message: "API key \(info.id) is over its limit of \(info.rps) credits a second (policy \"burst\")",
                           policy: policy(info), limit: "\"burst\";r=0;t=\(seconds(retryAfter))", retryAfter: retryAfter)
        }
    }
}
