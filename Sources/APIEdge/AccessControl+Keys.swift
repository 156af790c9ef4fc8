import ChainCore
import Hummingbird
import NodeKit

// Keys: a key's record from the short cache or the accounts service, its secret checked (the
// verified-key cache is the hot path), and the key's origin and method allowlists.
extension AccessControl {
    /// The key's record, from the cache or the accounts service; 401 for an unknown, revoked or wrong key.
    func authenticate(_ text: String) async throws -> KeyRecord {
        let start = clock.now
        // The hot path: this exact key was checked against the cached record, which is still fresh.
        let hit = state.withLock { s -> KeyRecord? in
            guard let id = s.verified[text], let c = s.cache[id], c.until > start, let r = c.record, r.info.revoked == nil else { return nil }
            return r
        }
        if let hit { return hit }
        guard let (id, secret) = APIKeyFormat.parse(text) else {
            throw Self.unauthorized("'\(text.prefix(24))…' is not an API key (ck_<16 hex>_<43 base64url>)")
        }
        let now = clock.now
        let (cached, epoch) = state.withLock { s in (s.cache[id].flatMap { $0.until > now ? $0 : nil }, s.epoch) }
        let record: KeyRecord?
        if let cached {
            record = cached.record
        } else {
            do {
                record = try await client.call(AccountsMethod.lookupkey, KeyRef(id: id), as: KeyRecord.self)
            } catch let e as RPCError where e.code == "not-found" {
                record = nil
            } catch {
                throw APIError(.serviceUnavailable, "accounts-unavailable", "the accounts service does not answer; retry shortly")
            }
            state.withLock { s in
                if s.epoch == epoch {
                    s.cache[id] = Cached(record: record, until: now + (record == nil ? Self.negativeTTL : Self.cacheTTL))
                }
            }
        }
        guard let record else { throw Self.unauthorized("unknown API key \(id)") }
        guard record.info.revoked == nil else { throw Self.unauthorized("API key \(id) is revoked") }
        // SHA-256 of a high-entropy secret, compared as digests (time independent of where they differ).
        let given = Hex.encode(Hash256.sha256(Array(secret.utf8)).bytes)
        guard OperatorAuth.matches(Array(given.utf8), Array(record.secretHash.utf8)) else {
            throw Self.unauthorized("wrong secret for API key \(id)")
        }
        state.withLock { s in
            // Only while the cache holds this same record (a notice since then emptied both).
            guard s.cache[id]?.record?.secretHash == record.secretHash else { return }
            if s.verified.count > 10_000 { s.verified.removeAll() }
            s.verified[text] = id
        }
        return record
    }

    static func unauthorized(_ message: String) -> APIError {
        APIError(.unauthorized, "invalid-api-key", message, headers: [.wwwAuthenticate: "ApiKey realm=\"cairn\""])
    }

    /// 403 unless the key allows the Origin (keys without an origin allowlist allow any).
    static func checkOrigin(_ record: KeyRecord, origin: String?) throws {
        let allowed = record.info.origins
        guard !allowed.isEmpty else { return }
        guard let origin, allowed.contains(origin) else {
            throw APIError(.forbidden, "origin-not-allowed",
                           "API key \(record.info.id) allows only the origins \(allowed.joined(separator: ", ")); this request's is \(origin ?? "absent")")
        }
    }

    /// 403 unless the key allows the method: a JSON-RPC method name, or a REST path under one of the
    /// allowlist's `/…` prefixes (keys without a method allowlist allow everything).
    static func checkMethod(_ record: KeyRecord, rpcMethods: [String] = [], restPath: String? = nil) throws {
        let allowed = record.info.methods
        guard !allowed.isEmpty else { return }
        if let restPath {
            guard allowed.contains(where: { $0.hasPrefix("/") && (restPath == $0 || restPath.hasPrefix($0.hasSuffix("/") ? $0 : $0 + "/")) }) else {
                throw APIError(.forbidden, "method-not-allowed-for-key", "API key \(record.info.id) does not allow \(restPath)")
            }
        }
        if let m = rpcMethods.first(where: { !allowed.contains($0) }) {
            throw APIError(.forbidden, "method-not-allowed-for-key", "API key \(record.info.id) does not allow the method \(m)")
        }
    }
}
