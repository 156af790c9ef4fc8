import ChainCore
import Foundation
import NodeKit

/// Builds block templates from a `TxSource` (btcd's `mining.BlkTmplGenerator`), on its own
/// actor: the pool's actor hands over its choice (`MiningSnapshot`, a read of its fee-rate index
/// as far as a block goes), and the template (the hex, the word back, the miners) is made here. Keeps the miners that asked (`MinerRegistry`, for `getminers`).
actor TemplateGenerator {
    let source: any TxSource
    let params: ChainParams
    private var miners = MinerRegistry()
    /// The hex of the last template's transactions, by txid (a txid names its bytes): the next
    /// template, mostly the same transactions, reuses it rather than encode each again. Holds one
    /// block's worth at most.
    private var encoded: [Hash256: BlockAssembler.Encoded] = [:]
    /// The last template and what it was made from (the source's state and the pace): given again,
    /// with the time brought forward, while both are unchanged, so several miners asking after one
    /// notice cost one selection.
    private var last: (state: TemplateState, pace: MiningPace, template: BlockTemplate)?
    /// Templates made afresh and given again from `last` (`getstatus`-style counters, and tests).
    private(set) var made = 0
    private(set) var reused = 0

    init(source: any TxSource, params: ChainParams) {
        self.source = source
        self.params = params
    }

    /// The template being made, and what from: a request arriving meanwhile for the same state
    /// and pace waits for it rather than make its own (the node's miner and JSON-RPC miners ask
    /// after the same notice; the source's awaits let them in together).
    private var making: (state: TemplateState, pace: MiningPace, task: Task<BlockTemplate, any Error>)?
    /// Requests that waited for a template being made (tests).
    private(set) var joined = 0

    /// A template for `request`, under the learning mode's `pace` (when it holds this height, no
    /// transaction is "in a template" while the miners wait).
    func template(for request: TemplateRequest, pace: MiningPace = .running) async throws -> BlockTemplate {
        miners.seen(request, at: ServiceSupport.now())
        let state = try await source.templateState()
        if let state, let last, last.state == state, last.pace == pace {
            var t = last.template
            t.time = max(UInt32(Date().timeIntervalSince1970), t.minTime)
            reused += 1
            return t
        }
        if let state, let making, making.state == state, making.pace == pace {
            joined += 1
            var t = try await making.task.value
            t.time = max(UInt32(Date().timeIntervalSince1970), t.minTime)
            reused += 1
            return t
        }
        let minerID = request.minerID
        let task = Task { try await self.make(state: state, pace: pace, minerID: minerID) }
        if let state { making = (state, pace, task) }
        defer { if making?.task == task { making = nil } }
        return try await task.value
    }

    /// A template made afresh from the source's snapshot (`state`: the source's state read before).
    private func make(state: TemplateState?, pace: MiningPace, minerID: String) async throws -> BlockTemplate {
        let snapshot = try await source.miningSnapshot()
        let began = StageTimes.now()
        var kept = [Hash256: BlockAssembler.Encoded](minimumCapacity: snapshot.chosen.count)
        let (template, chosen) = BlockAssembler.template(from: snapshot, pace: pace, params: params,
                                                         now: UInt32(Date().timeIntervalSince1970)) { e in
            let hex = encoded[e.txid] ?? BlockAssembler.Encoded(e)
            kept[e.txid] = hex
            return hex
        }
        encoded = kept
        made += 1
        StageTimes.shared.record(.assemble, since: began)
        // Kept only when the state read before the snapshot is still the snapshot's (no change
        // in between, which reentrancy at the awaits above allows).
        if let state, (try? await source.templateState()) == state, template.mempoolSequence == snapshot.sequence {
            last = (state, pace, template)
        } else {
            last = nil
        }
        if !chosen.isEmpty {
            let told = StageTimes.now()
            await source.didTemplate(chosen.map(\.txid), height: template.height, minerID: minerID)
            StageTimes.shared.record(.didTemplate, since: told)
        }
        return template
    }

    /// The forms a template is handed out in, each rendered once per template.
    enum Form: Hashable, Sendable {
        /// getblocktemplate's JSON reply (`encodedReply`).
        case json
        /// getblocktemplaterpc's payload (`rpcPayload`).
        case rpc
        /// getblocktemplatebin's payload (`binaryReply`).
        case binary
    }

    /// A form's last rendering and the template it holds; renderings made, and given again as they were.
    struct Rendered: Sendable {
        var last: (template: BlockTemplate, bytes: [UInt8])?
        var made = 0
        var reused = 0
    }
    private(set) var rendered: [Form: Rendered] = [:]

    /// The template for `request` in `form`: rendered by `render` once per template, the same bytes
    /// given again while the template is the same one (`template(for:pace:)` gave the last one
    /// again, in the same second). A template is ~1.5 MB of JSON at 6,800 transactions; comparing
    /// it with the last costs little, as a template given again shares its arrays' storage with it.
    private func reply(for request: TemplateRequest, pace: MiningPace, in form: Form,
                       render: (BlockTemplate) async throws -> [UInt8]) async throws -> [UInt8] {
        let t = try await template(for: request, pace: pace)
        if let last = rendered[form]?.last, last.template == t {
            rendered[form, default: Rendered()].reused += 1
            return last.bytes
        }
        let began = StageTimes.now()
        let bytes = try await render(t)
        StageTimes.shared.record(.render, since: began)
        rendered[form, default: Rendered()].made += 1
        rendered[form, default: Rendered()].last = (t, bytes)
        return bytes
    }

    /// getblocktemplate's reply on the bus (`{"result": template}`, as `RPCRouter.method` encodes it).
    func encodedReply(for request: TemplateRequest, pace: MiningPace = .running) async throws -> [UInt8] {
        try await reply(for: request, pace: pace, in: .json) { try await Self.encodeApart($0) }
    }

    /// getblocktemplaterpc's payload (`TemplateRPC.payload`: a small header, then the JSON-RPC
    /// result in Bitcoin Core's shape, for the edge to splice into its reply unparsed; a new
    /// second's `curtime` renders again, ~1.5 MB written in a few ms).
    func rpcPayload(for request: TemplateRequest, pace: MiningPace = .running) async throws -> [UInt8] {
        try await reply(for: request, pace: pace, in: .rpc) { try await Self.renderApart($0) }
    }

    /// getblocktemplatebin's payload (`TemplateBinary`: the node's miner's template, its
    /// transactions as bytes). The transactions' bytes are those the last template made kept
    /// (`encoded`, by txid), decoded from the template's hex only for one made meanwhile by
    /// another request.
    func binaryReply(for request: TemplateRequest, pace: MiningPace = .running) async throws -> [UInt8] {
        try await reply(for: request, pace: pace, in: .binary) { t in
            var items = [TemplateBinary.Item]()
            items.reserveCapacity(t.transactions.count)
            for (hex, id) in zip(t.transactions, t.txids) {
                guard let txid = Hash256(hex: id) else { throw RPCError("internal", "template txid \(id) is not a hash") }
                if let kept = encoded[txid] {
                    items.append(kept.item)
                } else if let raw = Hex.decode(hex) {
                    items.append(TemplateBinary.Item(txid: txid, raw: raw))
                } else {
                    throw RPCError("internal", "template transaction \(id) is not hex")
                }
            }
            return try await Self.binaryApart(t, items: items)
        }
    }

    @concurrent nonisolated static func binaryApart(_ t: BlockTemplate, items: [TemplateBinary.Item]) async throws -> [UInt8] {
        try TemplateBinary.payload(t, items: items)
    }

    /// The encodings, off the actor (~1.5 MB of JSON each: a request for the template given again
    /// need not wait for them).
    @concurrent nonisolated static func encodeApart(_ t: BlockTemplate) async throws -> [UInt8] {
        try JSON.encode(ReplyEnvelope<BlockTemplate>(result: t, error: nil))
    }

    @concurrent nonisolated static func renderApart(_ t: BlockTemplate) async throws -> [UInt8] {
        try TemplateRPC.payload(t)
    }

    func activeMiners(within seconds: Double = 60) -> [MinerInfo] {
        miners.active(within: seconds, now: ServiceSupport.now())
    }
}
