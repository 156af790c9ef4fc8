import Bus

// The typed face of `RPCRouter` and `RPCClient`: a service's router registers its `BusMethod`
// enum's cases (Sources/CairnContract/BusMethods.swift) and callers name a case, so a misspelt
// method does not compile. The String forms stay for tests and tools that speak to any service.

extension RPCRouter {
    /// A router for `service`'s methods: `RPCRouter(ChainMethod.self, [.getchaininfo: …])`.
    public convenience init<M: BusMethod>(_ service: M.Type, _ routes: [M: Raw], inline: [M: Inline] = [:]) {
        self.init(Dictionary(uniqueKeysWithValues: routes.map { ($0.key.rawValue, $0.value) }),
                  inline: Dictionary(uniqueKeysWithValues: inline.map { ($0.key.rawValue, $0.value) }))
    }

    /// The method names it answers, sorted (tests check a service's against its enum).
    public var methodNames: [String] { (Array(routes.keys) + Array(inlineRoutes.keys)).sorted() }
}

extension RPCClient {
    /// Calls `method`: throws `RPCError` for a refusal, `BusError` when the service can't be reached.
    public func call<M: BusMethod, P: Encodable, R: Codable>(_ method: M, _ params: P, as: R.Type = R.self) async throws -> R {
        try await call(method.rawValue, params, as: R.self)
    }

    /// Calls a binary method (`RPCRouter.binaryMethod`): returns the reply's payload.
    public func callBinary<M: BusMethod>(_ method: M, _ payload: [UInt8]) async throws -> [UInt8] {
        try await callBinary(method.rawValue, payload)
    }
}
