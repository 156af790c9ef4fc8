#!/usr/bin/env bash
# Builds every Cairn executable and copies them, with the Swift runtime libraries
# they load and the wallet page's resource bundle, into one folder for the
# Dockerfile's runtime stage. The Dockerfile's build stage runs it (OUT=/out); on
# a machine that cannot pull swift:6.3-bookworm, run it on the host and build with
# --build-arg BINARIES=prebuilt (it fills docker/prebuilt/).
#   CONFIG=release|debug (default release), OUT=folder (default docker/prebuilt)
#
# The executables keep the toolchain's dynamic Swift runtime: its .so files go next
# to them (their RUNPATH includes $ORIGIN), so the runtime stage needs no Swift
# toolchain. (A --static-swift-stdlib link of these products fails on this
# toolchain with undefined CoreFoundation symbols, while a small Foundation program
# links statically: not worth a second build configuration.)
set -euo pipefail
cd "$(dirname "$0")/.."
CONFIG="${CONFIG:-release}"
OUT="${OUT:-docker/prebuilt}"
PRODUCTS=(cairn cairn-chainstore cairn-mempool cairn-miner cairn-edge cairn-peerbridge cairn-walletfront cairn-accounts)
# One plan for every product (swift build takes a single --product).
swift build -c "$CONFIG"
bin="$(swift build -c "$CONFIG" --show-bin-path)"
runtime="$(cd "$(dirname "$(readlink -f "$(command -v swift)")")/../lib/swift/linux" && pwd)"
mkdir -p "$OUT"
find "$OUT" -mindepth 1 -maxdepth 1 ! -name .gitignore -exec rm -rf {} +
for p in "${PRODUCTS[@]}"; do
    install -m 0755 "$bin/$p" "$OUT/$p"
    # Debug information is for the build machine, not the image (a debug build's is most of it).
    strip --strip-debug "$OUT/$p"
    # The Swift runtime libraries it loads (ldd lists them transitively).
    ldd "$bin/$p" | awk -v dir="$runtime/" 'index($3, dir) == 1 { print $3 }' | while read -r lib; do
        [ -e "$OUT/$(basename "$lib")" ] || install -m 0644 "$lib" "$OUT/"
    done
done
cp -R "$bin/Cairn_WalletFront.resources" "$OUT/"
echo "prebuilt ($CONFIG, Swift runtime from $runtime): $OUT ($(du -sh "$OUT" | cut -f1))"
