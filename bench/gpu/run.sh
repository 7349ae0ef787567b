#!/usr/bin/env bash
# The GPU benchmarks, for a GPU host without network: brings up Vulkan and
# Node from what was carried, prints the device, then
#   PART=matvec (default): checks and times the WGSL K @ v kernel and PyTorch
#     on the same GPU (webgpu.jsonl, torch.jsonl, test.txt);
#   PART=gp: the whole GP on GPLAB_BACKEND=webgpu (bench/gpu/gpSteps.ts: RBF
#     K @ v at 1e6 through the engine, SVGP step at M = 1,024, exact GP
#     iterations at 1e4, 1e5, 1e6) and GPyTorch on the same GPU
#     (bench/gpu/torch_gp.py) (gp.jsonl, torch-gp.jsonl);
#   PART=all: both (more than one 10-minute device command: run them apart).
# JSON lines go to $OUT, with env.txt naming the device.
#
# Before carrying (on a build machine): npm ci && npm run build && bench/gpu/pack.sh
# Carry: dist, .gpu/carry, and .gl (libvulkan1 etc. .debs, see the device notes).
# On the GPU host, from the repository root:  OUT=/dir PART=gp bench/gpu/run.sh
set -uo pipefail
OUT=${OUT:-$(pwd)/test-output/gpu}
PART=${PART:-matvec}
mkdir -p "$OUT"
step() { echo "== $*"; }

step "Vulkan loader"
if ! ldconfig -p | grep -q 'libvulkan.so.1'; then
  for f in .gl/*.deb; do [ -f "$f" ] && dpkg -x "$f" /; done
  ldconfig
fi
ldconfig -p | grep libvulkan || echo "no libvulkan.so.1: Dawn will find no adapter"
for icd in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json; do
  if [ -z "${VK_DRIVER_FILES:-}" ] && [ -f "$icd" ]; then export VK_DRIVER_FILES=$icd; fi
done
echo "VK_DRIVER_FILES=${VK_DRIVER_FILES:-unset}"

step "Node"
unxz() { if command -v xz >/dev/null; then xz -dc "$1"; else python3 -c 'import lzma,sys;sys.stdout.buffer.write(lzma.open(sys.argv[1]).read())' "$1"; fi; }
NODE=$(command -v node || true)
if [ -z "$NODE" ] || ! "$NODE" -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)'; then
  unxz .gpu/carry/node.xz > /tmp/gplab-node && chmod +x /tmp/gplab-node && NODE=/tmp/gplab-node
fi
echo "node $("$NODE" --version) at $NODE"
mkdir -p /tmp/gplab-gpu && unxz .gpu/carry/modules.tar.xz | tar -C /tmp/gplab-gpu -x
# The optional packages and gplab's runtime modules live outside the checkout.
export NODE_PATH=/tmp/gplab-gpu/node_modules GPLAB_WEBGPU_MODULES=/tmp/gplab-gpu/node_modules

step "Device"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader | tee "$OUT/env.txt"
"$NODE" -e '
  const { WebgpuStationary } = require("./dist/lib/reductions/webgpu/stationaryExecutor");
  WebgpuStationary.create().then((d) => { console.log("WebGPU adapter:", JSON.stringify(d.gpu)); process.exit(0); },
    (e) => { console.log("WebGPU: " + e.message); process.exit(1); });' 2>&1 | tee -a "$OUT/env.txt"
webgpu=${PIPESTATUS[0]}

if [ "$PART" = gp ] || [ "$PART" = all ]; then
  if [ "$webgpu" = 0 ]; then
    step "WebGPU: the whole GP (gpSteps)"
    GPLAB_BACKEND=webgpu timeout 420 "$NODE" dist/bench/gpu/gpSteps.js --kv 1e6 --svgp-m 1024 --exact 1e4,1e5,1e6 --repeats 3 --max-seconds 120 2>&1 | tee "$OUT/gp.jsonl"
  fi
  step "GPyTorch: the same GP steps"
  PYTHONUNBUFFERED=1 timeout 300 python3 bench/gpu/torch_gp.py --svgp-m 1024 --exact 1e4,1e5,1e6 --repeats 3 2>&1 | tee "$OUT/torch-gp.jsonl"
  step "Summary (median seconds)"
  grep -h -E '"case":"(exact-gp|svgp-step-summary|rbf-kv-engine-summary)"' "$OUT/gp.jsonl" "$OUT/torch-gp.jsonl" 2>/dev/null
  [ "$PART" = gp ] && exit 0
fi

if [ "$webgpu" = 0 ]; then
  step "WebGPU: checks and timings"
  timeout 300 "$NODE" dist/bench/gpu/webgpuMatvec.js --sizes 1e4,1e5,1e6 --repeats 5 --dump /tmp/gplab-dump 2>&1 | tee "$OUT/webgpu.jsonl"
  step "WebGPU: test file"
  timeout 300 "$NODE" --test --test-reporter=spec dist/test/reductions-webgpu.test.js dist/test/reductions-wgsl.test.js > "$OUT/test.txt" 2>&1
  echo "test exit $?"; grep -E "^ℹ (tests|pass|fail|skipped)" "$OUT/test.txt"
fi

step "PyTorch"
PYTHONUNBUFFERED=1 timeout 300 python3 bench/gpu/torch_matvec.py --sizes 1e4,1e5,1e6 --rhs 1,16 --repeats 5 \
  $([ -d /tmp/gplab-dump ] && echo --check /tmp/gplab-dump) 2>&1 | tee "$OUT/torch.jsonl"

step "Summary (median seconds)"
python3 - "$OUT" <<'PY'
import json, os, sys
rows = []
for name in ("webgpu.jsonl", "torch.jsonl"):
    path = os.path.join(sys.argv[1], name)
    if os.path.exists(path):
        rows += [json.loads(l) for l in open(path) if l.startswith("{")]
for r in rows:
    if r.get("case", "").startswith("check") or r.get("case") == "cross-check":
        print(r["case"], r.get("profile", ""), r.get("n"), r.get("t", ""), {k: v for k, v in r.items() if "Err" in k or k in ("pass", "error", "code")})
for r in rows:
    if "kernelMedianSeconds" in r:
        print(f'webgpu {r["case"]:18} R{r["rowsPerInvocation"]}U{r["unroll"]:<2} n={r["n"]:>8} t={r["t"]:>2} kernel {r["kernelMedianSeconds"]:.4f}  e2e {r.get("endToEndMedianSeconds", float("nan")):.4f}  bridge {r.get("bridgeMedianSeconds", float("nan")):.4f}  rows err {r["sampledRowsRelErrVsF64"]:.1e}')
    if "medianSeconds" in r:
        print(f'torch  {r["case"]:18} n={r["n"]:>8} t={r["t"]:>2} {r["medianSeconds"]:.4f}')
PY
