#!/usr/bin/env python3
"""A second implementation of Cairn's genesis recipe (docs/PROTOCOL.md), in
plain Python: encodes the genesis coinbase and header, finds each network's
nonce, prints hashes. The Swift tests pin the same values, so this script and
ChainCore agree byte for byte on the encoding."""
import hashlib, struct, sys

TIME = 1795564800  # 2026-11-25 00:00:00 UTC
NETS = {"main": 0x1e0fffff, "testnet": 0x1f00ffff, "regtest": 0x207fffff}

def sha256d(b): return hashlib.sha256(hashlib.sha256(b).digest()).digest()

def compact_size(n):
    if n < 0xfd: return bytes([n])
    if n <= 0xffff: return b"\xfd" + struct.pack("<H", n)
    if n <= 0xffffffff: return b"\xfe" + struct.pack("<I", n)
    return b"\xff" + struct.pack("<Q", n)

def coinbase(net):
    payload = struct.pack("<I", 0) + f"Cairn {net} genesis 2026-11-25: keys stay in the browser".encode()
    tx = struct.pack("<I", 1) + compact_size(1)
    tx += b"\x00" * 32 + struct.pack("<I", 0xffffffff) + compact_size(len(payload)) + payload
    tx += compact_size(1) + struct.pack("<Q", 0) + b"\x00" * 32
    return tx

def target(bits):
    size, word = bits >> 24, bits & 0x007fffff
    return word >> (8 * (3 - size)) if size <= 3 else word << (8 * (size - 3))

def main():
    for net, bits in NETS.items():
        tx = coinbase(net)
        txid = sha256d(tx)  # one transaction: the merkle root is its txid
        t = target(bits)
        for nonce in range(2**32):
            header = struct.pack("<i", 1) + b"\x00" * 32 + txid + struct.pack("<III", TIME, bits, nonce)
            h = sha256d(header)
            if int.from_bytes(h, "little") <= t:
                print(f"{net} nonce={nonce} hash={h[::-1].hex()} txid={txid[::-1].hex()} coinbase={tx.hex()}")
                break

if __name__ == "__main__":
    sys.exit(main())
