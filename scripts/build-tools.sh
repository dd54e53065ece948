#!/usr/bin/env bash
# Builds the pinned Hyperledger Fabric commands (network/tools/go.mod) into
# .edossier/tools/bin and copies the matching sample configuration into
# .edossier/tools/config. Skips the build when the pinned versions are already built.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tools_mod="$root/network/tools"
out="${EDOSSIER_TOOLS_DIR:-$root/.edossier/tools}"
stamp_want=$(cat "$tools_mod/go.mod" "$tools_mod/go.sum" | sha256sum | cut -c1-16)-$(go env GOVERSION)
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
go build -o "$out.tmp/bin/" \
  github.com/hyperledger/fabric/cmd/peer \
  github.com/hyperledger/fabric/cmd/orderer \
  github.com/hyperledger/fabric/cmd/configtxgen \
  github.com/hyperledger/fabric/cmd/configtxlator \
  github.com/hyperledger/fabric/cmd/osnadmin \
  github.com/hyperledger/fabric-ca/cmd/fabric-ca-server \
  github.com/hyperledger/fabric-ca/cmd/fabric-ca-client
fabric_dir=$(go list -m -f '{{.Dir}}' github.com/hyperledger/fabric)
cp "$fabric_dir/sampleconfig/core.yaml" "$fabric_dir/sampleconfig/orderer.yaml" "$out.tmp/config/"
chmod u+w "$out.tmp/config/"*
echo "$stamp_want" > "$out.tmp/stamp"
rm -rf "$out" && mv "$out.tmp" "$out"
echo "fabric tools: built in $(( $(date +%s) - start )) s into $out/bin"
