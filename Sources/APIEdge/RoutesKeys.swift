import Foundation
import Hummingbird
import NodeKit

/// The operator's key administration and usage (operator credentials), and a key's own usage.
enum KeyRoutes {
    struct CreateBody: Codable, Sendable {
        var name: String
        var account: String?
        var accountName: String?
        var rps: Int?
        var daily: Int?
        var origins: [String]?
        var methods: [String]?
    }

    /// A key's usage (`UsageReply`, CairnContract/EdgeShapes.swift): rows per method and hour, and totals per UTC day.
    static func summarize(_ rows: [UsageRow]) -> UsageReply {
        var days: [String: UsageReply.Day] = [:]
        let f = DateFormatter()
        f.dateFormat = "yyyy-MM-dd"
        f.timeZone = TimeZone(identifier: "UTC")
        f.locale = Locale(identifier: "en_US_POSIX")
        for r in rows {
            let day = f.string(from: Date(timeIntervalSince1970: Double(r.hour)))
            var d = days["\(r.key) \(day)"] ?? .init(day: day, key: r.key, requests: 0, errors: 0, refused: 0)
            d.requests += r.requests
            d.errors += r.errors
            d.refused += r.refused
            d.credits += r.credits
            days["\(r.key) \(day)"] = d
        }
        return UsageReply(hours: rows, days: days.values.sorted { ($0.key, $0.day) < ($1.key, $1.day) })
    }

    static let keyInfo = Schema.object(["id": ["type": "string"], "account": ["type": "string"], "name": ["type": "string"],
                                        "rps": ["type": "integer"], "daily": ["type": "integer"],
                                        "origins": Schema.array(["type": "string"]), "methods": Schema.array(["type": "string"]),
                                        "created": ["type": "number"], "revoked": ["type": "number", "nullable": true]],
                                       required: ["id", "account", "name", "rps", "daily", "origins", "methods", "created"])
    static let created = Schema.object(["info": keyInfo, "key": ["type": "string", "description": "ck_<id>_<secret>, shown once"]])
    static let usage = Schema.object(["hours": Schema.array(["type": "object"]), "days": Schema.array(["type": "object"])])

    static func since(_ request: Request) throws -> Int? {
        guard let text = request.uri.queryParameters["since"].map(String.init) else { return nil }
        guard let n = Int(text), n >= 0 else { throw APIError.badRequest("bad-request", "since must be a Unix time") }
        return n
    }

    static func keyID(_ context: EdgeContext) throws -> String {
        let id = try Param.raw(context, "id")
        guard APIKeyFormat.isID(id) else { throw APIError.badRequest("bad-key-id", "'\(id.prefix(40))' is not a key id (16 hex digits)") }
        return id
    }

    static func routes(_ edge: Edge) -> [Route] {
        let access = edge.access, auth = edge.rpc.auth
        return [
            Route(.get, "/api/usage",
                  RouteDoc(summary: "The calling key's usage (also /v1/{key}/usage): per method and hour, and per UTC day; `since` a Unix time (default the last 24 hours)",
                           tag: "keys", response: .json(usage), errors: [400, 401, 403, 429, 503])) { request, _ in
                guard let grant = KeyGrant.current else { throw AccessControl.unauthorized("/api/usage needs an API key") }
                return Reply.json(summarize(try await access.usage(key: grant.record.info.id, since: try since(request))))
            },
            Route(.get, "/api/operator/keys",
                  RouteDoc(summary: "Operator only: every API key (never the secrets)", tag: "keys",
                           response: .json(Schema.array(keyInfo)), errors: [401, 503])) { request, _ in
                try await OperatorRoutes.authorize(request, auth: auth)
                return Reply.json(try await access.call(.listkeys, KeyFilter(), as: [KeyInfo].self))
            },
            Route(.post, "/api/operator/keys",
                  RouteDoc(summary: "Operator only: create an API key (the secret is in this answer only)", tag: "keys",
                           response: .json(created), errors: [400, 401, 503],
                           jsonBody: Schema.object(["name": ["type": "string"], "rps": ["type": "integer"], "daily": ["type": "integer"],
                                                    "origins": Schema.array(["type": "string"]), "methods": Schema.array(["type": "string"]),
                                                    "account": ["type": "string"], "accountName": ["type": "string"]], required: ["name"]))) { request, _ in
                try await OperatorRoutes.authorize(request, auth: auth)
                var request = request
                let buffer = try await request.collectBody(upTo: 64 * 1024)
                let body: CreateBody
                do { body = try JSONDecoder().decode(CreateBody.self, from: Data(buffer: buffer)) } catch {
                    throw APIError.badRequest("bad-request", "the body must be JSON {name, rps?, daily?, origins?, methods?, account?}")
                }
                let key = NewKey(name: body.name, account: body.account, accountName: body.accountName, rps: body.rps ?? 0,
                                 daily: body.daily ?? 0, origins: body.origins ?? [], methods: body.methods ?? [])
                return Reply.json(try await access.call(.createkey, key, as: CreatedKey.self), status: .created)
            },
            Route(.post, "/api/operator/keys/:id/revoke",
                  RouteDoc(summary: "Operator only: revoke a key (every edge refuses it at once)", tag: "keys",
                           params: [("id", ["type": "string"], "key id")], response: .json(keyInfo), errors: [400, 401, 404, 503])) { request, context in
                try await OperatorRoutes.authorize(request, auth: auth)
                return Reply.json(try await access.call(.revokekey, KeyRef(id: try keyID(context)), as: KeyInfo.self))
            },
            Route(.post, "/api/operator/keys/:id/rotate",
                  RouteDoc(summary: "Operator only: a new secret for a key (same id, limits and usage; the old secret stops at once)", tag: "keys",
                           params: [("id", ["type": "string"], "key id")], response: .json(created), errors: [400, 401, 404, 503])) { request, context in
                try await OperatorRoutes.authorize(request, auth: auth)
                return Reply.json(try await access.call(.rotatekey, KeyRef(id: try keyID(context)), as: CreatedKey.self))
            },
            Route(.get, "/api/operator/usage",
                  RouteDoc(summary: "Operator only: every key's usage per method and hour, and per UTC day; `since` a Unix time", tag: "keys",
                           response: .json(usage), errors: [400, 401, 503])) { request, _ in
                try await OperatorRoutes.authorize(request, auth: auth)
                return Reply.json(summarize(try await access.usage(key: nil, since: try since(request))))
            },
        ]
    }
}
