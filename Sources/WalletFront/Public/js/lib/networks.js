// The three networks' parameters (docs/PROTOCOL.md §7; Sources/ChainCore/Consensus/ChainParams.swift):
// magic, address prefix, coinbase maturity, target spacing, genesis hash. Pure; tested by encoding.test.mjs
// (the genesis hashes) and liveness.test.mjs (the spacings).

export const NETWORKS = {
  main: {
    name: "main", magic: [0xc4, 0x1e, 0x52, 0x4e], prefix: "crn", coinbaseMaturity: 100, targetSpacing: 60,
    genesisHash: "00000263bef69afcd4f703beb002c503baf5f39df49caf242727aa0e2962771f",
  },
  testnet: {
    name: "testnet", magic: [0xc4, 0x1e, 0x54, 0x4e], prefix: "tcrn", coinbaseMaturity: 20, targetSpacing: 30,
    genesisHash: "000040a518eb2112e5b9a4b1359d5058043e96d2ce4d5221fb641334a14f2c2f",
  },
  regtest: {
    name: "regtest", magic: [0xc4, 0x1e, 0x72, 0x4e], prefix: "rcrn", coinbaseMaturity: 10, targetSpacing: 1,
    genesisHash: "6f6a28fdd80748f269ea86cdc8e2d7477125a6638ad28cfa3b95bc5cdd637a19",
  },
};

export function networkParams(name) {
  const p = NETWORKS[name];
  if (!p) throw new Error(`unknown network '${name}' (main, testnet or regtest)`);
  return p;
}
