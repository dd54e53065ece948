#!/usr/bin/env bash
# Builds the pinned Hyperledger Fabric commands (network/tools/go.mod) into
# .edossier/tools/bin and copies the matching sample configuration into
# .edossier/tools/config. Skips the build when the pinned versions are already built.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tools_mod="$root/network/tools"
out="${EDOSSIER_TOOLS_DIR:-$root/.edossier/tools}"
# The stamp covers the pins and our own patches of them (network/tools/patches).
stamp_want=$(cat "$tools_mod/go.mod" "$tools_mod/go.sum" "$tools_mod"/patches/*.patch | sha256sum | cut -c1-16)-$(go env GOVERSION)
if [[ -f "$out/stamp" && "$(cat "$out/stamp")" == "$stamp_want" ]]; then
  echo "fabric tools: pinned versions already built in $out/bin (stamp $stamp_want)"
  exit 0
fi
echo "fabric tools: building peer, orderer, configtxgen, configtxlator, osnadmin, fabric-ca-server, fabric-ca-client"
echo "fabric tools: pinned in network/tools/go.mod; the first build downloads and compiles Fabric and takes 2-5 minutes"
rm -rf "$out.tmp" && mkdir -p "$out.tmp/bin" "$out.tmp/config"
cd "$tools_mod"
export GOFLAGS=-mod=mod
start=$(date +%s)
go mod download
# Fabric is built from a copy of the pinned module with our own fixes applied
# (network/tools/patches/*.patch, each explains itself), through a build-time go.mod
# that replaces the module with that copy; the pins in go.mod stay as they are.
fabric_dir=$(go list -m -f '{{.Dir}}' github.com/hyperledger/fabric)
src="$out.tmp/src/fabric"
mkdir -p "$out.tmp/src" && cp -r "$fabric_dir" "$src" && chmod -R u+w "$src"
for p in "$tools_mod"/patches/*.patch; do
  echo "fabric tools: applying $(basename "$p")"
  (cd "$src" && git apply -p1 "$p")
done
cp go.mod "$out.tmp/build.mod" && cp go.sum "$out.tmp/build.sum"
go mod edit -modfile="$out.tmp/build.mod" -replace "github.com/hyperledger/fabric=$src"
go build -modfile="$out.tmp/build.mod" -o "$out.tmp/bin/" \
  github.com/hyperledger/fabric/cmd/peer \
  github.com/hyperledger/fabric/cmd/orderer \
  github.com/hyperledger/fabric/cmd/configtxgen \
  github.com/hyperledger/fabric/cmd/configtxlator \
  github.com/hyperledger/fabric/cmd/osnadmin \
  github.com/hyperledger/fabric-ca/cmd/fabric-ca-server \
  github.com/hyperledger/fabric-ca/cmd/fabric-ca-client
cp "$fabric_dir/sampleconfig/core.yaml" "$fabric_dir/sampleconfig/orderer.yaml" "$out.tmp/config/"
chmod u+w "$out.tmp/config/"*
rm -rf "$out.tmp/src" "$out.tmp/build.mod" "$out.tmp/build.sum"
echo "$stamp_want" > "$out.tmp/stamp"
rm -rf "$out" && mv "$out.tmp" "$out"
echo "fabric tools: built in $(( $(date +%s) - start )) s into $out/bin"
