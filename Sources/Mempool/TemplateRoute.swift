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
        RPCRouter.binaryMethod { (payload: [UInt8]) async throws(RPCError) -> [UInt8] in
            let request: TemplateRequest
            do {
                request = try JSON.decode(TemplateRequest.self, payload)
            } catch {
                throw RPCError.badParams("the payload is a TemplateRequest as JSON: \(error)")
            }
            do {
                return try await templates.binaryReply(for: request, pace: await pacer.pace)
            } catch let e as RPCError {
                throw e
            } catch {
                throw RPCError("internal", "\(error)")
            }
        }
    }

    /// getblocktemplaterpc (binary; docs/PROTOCOL.md): the request's payload is a `TemplateRequest`
    /// as JSON, the reply's `TemplateRPC.payload` from `TemplateGenerator.rpcPayload`: what the
    /// edge's JSON-RPC getblocktemplate hands out, rendered here once per template.
    static func rpcTemplateRoute(templates: TemplateGenerator, pacer: Pacer) -> RPCRouter.Raw {
        RPCRouter.binaryMethod { (payload: [UInt8]) async throws(RPCError) -> [UInt8] in
            let request: TemplateRequest
            do {
                request = try JSON.decode(TemplateRequest.self, payload)
            } catch {
                throw RPCError.badParams("the payload is a TemplateRequest as JSON: \(error)")
            }
            do {
                return try await templates.rpcPayload(for: request, pace: await pacer.pace)
            } catch let e as RPCError {
                throw e
            } catch {
                throw RPCError("internal", "\(error)")
            }
        }
    }
}
