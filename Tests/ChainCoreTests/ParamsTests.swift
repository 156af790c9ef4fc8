import Foundation
import Testing
@testable import ChainCore
import TestSupport

@Suite struct Networks {
    /// Pinned to what scripts/genesis.py (an independent Python encoder) prints.
    @Test(arguments: [
        (Network.main, "00000263bef69afcd4f703beb002c503baf5f39df49caf242727aa0e2962771f", "6f593bb4457535be693f847b63b2f599eb0559b2be10b9d85fa2f773e3cb9ae5"),
        (.testnet, "000040a518eb2112e5b9a4b1359d5058043e96d2ce4d5221fb641334a14f2c2f", "e309da4557085f7c080e57cef1daebc635c007e83bd1c76f8e7433ca726585e6"),
        (.regtest, "6f6a28fdd80748f269ea86cdc8e2d7477125a6638ad28cfa3b95bc5cdd637a19", "4a483a12642221a96b59febf770bdc8e11c2714df41e75fd182129b98ee17cd8"),
    ])
    func genesisBlocks(network: Network, hash: String, coinbaseTxid: String) throws {
        let p = network.params
        #expect(p.genesisHash.hex == hash)
        #expect(p.genesis.transactions[0].txid.hex == coinbaseTxid)
        try BlockRules.checkBlock(p.genesis, params: p)
        #expect(BlockRules.coinbaseHeight(p.genesis.transactions[0]) == 0)
    }

    /// scripts/genesis.py is a second, independent encoder of the genesis blocks (Python, no shared code):
    /// run it and hold every network's hash, coinbase txid and coinbase bytes to what ChainCore builds.
    @Test func theIndependentPythonEncoderAgrees() async throws {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let (status, out) = try await runProgram(URL(fileURLWithPath: "/usr/bin/env"), ["python3", repo.appendingPathComponent("scripts/genesis.py").path])
        #expect(status == 0, "genesis.py: \(out)")
        var seen: Set<String> = []
        for line in out.split(separator: "\n") {
            let words = line.split(separator: " ")
            guard let name = words.first, let params = ChainParams.named(String(name)) else { continue }
            var fields: [String: String] = [:]
            for w in words.dropFirst() { let kv = w.split(separator: "=", maxSplits: 1); if kv.count == 2 { fields[String(kv[0])] = String(kv[1]) } }
            #expect(fields["hash"] == params.genesisHash.hex, "\(name) genesis hash")
            #expect(fields["txid"] == params.genesis.transactions[0].txid.hex, "\(name) coinbase txid")
            #expect(fields["coinbase"] == params.genesis.transactions[0].encoded.map { String(format: "%02x", $0) }.joined(), "\(name) coinbase bytes")
            #expect(fields["nonce"] == String(params.genesis.header.nonce), "\(name) nonce")
            seen.insert(String(name))
        }
        #expect(seen == Set(Network.allCases.map { "\($0)" }), "genesis.py prints every network")
    }

    @Test func eachNetworkHasItsOwnIdentity() {
        let all = Network.allCases.map(\.params)
        #expect(Set(all.map(\.magic)).count == 3)
        #expect(Set(all.map(\.addressPrefix)) == ["crn", "tcrn", "rcrn"])
        #expect(Set(all.map(\.genesisHash)).count == 3)
        #expect(ChainParams.named("regtest")?.network == .regtest)
        #expect(ChainParams.named("bogus") == nil)
        // regtest: minimal difficulty, short maturity
        #expect(ChainParams.regtest.powLimit > ChainParams.testnet.powLimit)
        #expect(ChainParams.regtest.coinbaseMaturity < ChainParams.main.coinbaseMaturity)
    }

    @Test func subsidyHalvesAndSupplyIsCapped() {
        for p in Network.allCases.map(\.params) {
            #expect(p.subsidy(height: 1) == 50 * Units.perCoin)
            #expect(p.subsidy(height: p.halvingInterval) == 25 * Units.perCoin)
            #expect(p.subsidy(height: p.halvingInterval * 64) == 0)
            #expect(p.maxSupply <= ChainParams.maxMoney)
        }
        #expect(ChainParams.main.maxSupply > 20_999_000 * Units.perCoin)
    }

    @Test func amountsFormatAndParseWithEightPlaces() {
        #expect(Units.format(1_250_000_000) == "12.50000000")
        #expect(Units.format(1) == "0.00000001")
        #expect(Units.parse("12.5") == 1_250_000_000)
        #expect(Units.parse("0.00000001") == 1)
        #expect(Units.parse("1") == Units.perCoin)
        for bad in ["", ".5", "1.", "1.123456789", "-1", "1e3", "abc", "184467440737.09551616"] {
            #expect(Units.parse(bad) == nil, "\(bad)")
        }
    }
}
