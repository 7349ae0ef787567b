#!/usr/bin/env bash
# Prepares .gpu/carry/ on a build machine (with the npm registry) for a GPU
# host that has no network: the optional WebGPU packages and the few runtime
# modules gplab's reductions load, as one xz tarball, plus this machine's
# Node binary. .gpu/ is git-ignored locally (.git/info/exclude); carry it.
# Usage: bench/gpu/pack.sh   (from the repository root, after npm ci + npm run build)
set -euo pipefail
root=$(pwd)
carry=$root/.gpu/carry
mkdir -p "$carry"
# The optional WebGPU packages come with npm ci (optionalDependencies).
[ -d node_modules/webgpu ] || { echo "node_modules/webgpu is missing: run npm ci first" >&2; exit 1; }
stage=$(mktemp -d)
nm=$stage/node_modules
copy() { # copy PACKAGE_DIR FILE... : keep only the files a Node require needs
  local src=$1; shift
  for f in package.json "$@"; do mkdir -p "$nm/${src#*node_modules/}/$(dirname "$f")"; cp -r "$src/$f" "$nm/${src#*node_modules/}/$f"; done
}
copy node_modules/@tensorflow/tfjs-core dist/tf-core.node.js
copy node_modules/@tensorflow/tfjs-backend-cpu dist/tf-backend-cpu.node.js
copy node_modules/@tensorflow/tfjs-backend-webgpu dist/tf-backend-webgpu.node.js
copy node_modules/webgpu index.js dist/linux-x64/dawn.node
for p in seedrandom node-fetch whatwg-url tr46 webidl-conversions long; do
  [ -d node_modules/$p ] && cp -r node_modules/$p "$nm/$p"
done
tar -C "$stage" -cJf "$carry/modules.tar.xz" node_modules
rm -rf "$stage"
# Node for hosts without it (GPU images often have Python only).
[ -f "$carry/node.xz" ] || xz -T0 -c "$(command -v node)" > "$carry/node.xz"
ls -la "$carry"
