import NodeKit

extension MempoolRPC {
    /// getblocktemplate as a raw route: the params decoded by `RPCRouter.params` (as `RPCRouter.method` does), the reply
    /// from `TemplateGenerator.encodedReply` (encoded once per template, the same bytes given again
    /// to every miner asking while nothing changed). The reply is the one `RPCRouter.method` would
    /// encode for the same template (TemplateReuseTests).
    static func templateRoute(templates: TemplateGenerator, pacer: Pacer) -> RPCRouter.Raw {
        { (request: [UInt8]) async throws(RPCError) -> [UInt8] in
            let p = try RPCRouter.params(TemplateRequest.self, of: request)
            do {
                return try await templates.encodedReply(for: p, pace: await pacer.pace)
            } catch let e as RPCError {
                throw e
            } catch {
                throw RPCError("internal", "\(error)")
            }
        }
    }

    /// getblocktemplatebin (binary; docs/PROTOCOL.md "Bus: the miner's template"): the request's
    /// payload is a `TemplateRequest` as JSON, the reply's `TemplateBinary.payload` from
    /// `TemplateGenerator.binaryReply`: the node's miner's template, its transactions as bytes.
    static func binaryTemplateRoute(templates: TemplateGenerator, pacer: Pacer) -> RPCRouter.Raw {
        binaryRoute(pacer: pacer) { try await templates.binaryReply(for: $0, pace: $1) }
    }

    /// getblocktemplaterpc (binary; docs/PROTOCOL.md): the request's payload is a `TemplateRequest`
    /// as JSON, the reply's `TemplateRPC.payload` from `TemplateGenerator.rpcPayload`: what the
    /// edge's JSON-RPC getblocktemplate hands out, rendered here once per template.
    static func rpcTemplateRoute(templates: TemplateGenerator, pacer: Pacer) -> RPCRouter.Raw {
        binaryRoute(pacer: pacer) { try await templates.rpcPayload(for: $0, pace: $1) }
    }

    /// A binary template method: the payload decoded as a `TemplateRequest` (else `bad-params`), the
    /// reply `render`'s bytes under the pacer's pace.
    private static func binaryRoute(pacer: Pacer, _ render: @escaping @Sendable (TemplateRequest, MiningPace) async throws -> [UInt8]) -> RPCRouter.Raw {
        RPCRouter.binaryMethod { (payload: [UInt8]) async throws(RPCError) -> [UInt8] in
            let request: TemplateRequest
            do {
                request = try JSON.decode(TemplateRequest.self, payload)
            } catch {
                throw RPCError.badParams("the payload is a TemplateRequest as JSON: \(error)")
            }
            do {
                return try await render(request, await pacer.pace)
            } catch let e as RPCError {
                throw e
            } catch {
                throw RPCError("internal", "\(error)")
            }
        }
    }
}
