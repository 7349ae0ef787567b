#!/usr/bin/env bash
# Executes the tutorial notebooks twice, with two independent tools, and fails
# on any cell error:
#   1. `gplab run` (the kernel's own headless runner);
#   2. Jupyter's `nbconvert --execute` (nbclient) with the gplab kernelspec
#      installed into a temporary prefix on JUPYTER_PATH, as a fresh CI
#      machine (root, no ~/.local) would have it.
#
#   scripts/run-notebooks.sh [--tool gplab|nbconvert|both] [--out DIR] [--update] [NOTEBOOK.ipynb ...]
#
# Default: both tools, every notebooks/*.ipynb, executed copies in a temporary
# directory (printed at the end). --update writes the `gplab run` results
# back into notebooks/ (how the committed outputs are produced). Needs dist/
# (npm run build); nbconvert needs Debian's jupyter-nbconvert + python3-nbclient.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

tool=both
out=""
update=0
timeout="${NOTEBOOK_TIMEOUT:-300}"
notebooks=()
while [ $# -gt 0 ]; do
  case "$1" in
    --tool) tool="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --update) update=1; shift ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    -*) echo "unknown option $1" >&2; exit 2 ;;
    *) notebooks+=("$1"); shift ;;
  esac
done
case "$tool" in gplab|nbconvert|both) ;; *) echo "--tool must be gplab, nbconvert or both" >&2; exit 2 ;; esac
if [ ${#notebooks[@]} -eq 0 ]; then
  for nb in notebooks/*.ipynb; do
    case "$nb" in *.executed.ipynb) ;; *) notebooks+=("$nb") ;; esac
  done
fi
if [ ! -f dist/kernel/cli.js ]; then
  echo "dist/ is missing: run npm run build first" >&2
  exit 1
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/gplab-notebooks.XXXXXX")"
[ -n "$out" ] || out="$work/out"
mkdir -p "$out"
failed=()

if [ "$tool" != nbconvert ]; then
  mkdir -p "$out/gplab"
  for nb in "${notebooks[@]}"; do
    name="$(basename "$nb")"
    start=$(date +%s%N)
    if npx --no-install gplab run "$nb" --out "$out/gplab/$name" --timeout "$timeout"; then
      printf 'gplab run  %-32s %6d ms\n' "$name" $(( ($(date +%s%N) - start) / 1000000 ))
      [ "$update" = 1 ] && cp "$out/gplab/$name" "$nb"
    else
      failed+=("gplab run $name")
    fi
  done
fi

if [ "$tool" != gplab ]; then
  nbconvert="${JUPYTER_NBCONVERT:-$(command -v jupyter-nbconvert || true)}"
  if [ -z "$nbconvert" ]; then
    echo "jupyter-nbconvert not found (apt-get install jupyter-nbconvert python3-nbclient)" >&2
    exit 1
  fi
  # A private Jupyter tree: the kernelspec in a temporary prefix, nothing from ~.
  export JUPYTER_PATH="$work/share/jupyter"
  export JUPYTER_DATA_DIR="$work/data"
  export JUPYTER_CONFIG_DIR="$work/config"
  export JUPYTER_RUNTIME_DIR="$work/runtime"
  export JUPYTER_PLATFORM_DIRS=1
  export PYTHONWARNINGS=ignore
  node bin/gplab.js install --prefix "$work" >/dev/null
  mkdir -p "$out/nbconvert"
  for nb in "${notebooks[@]}"; do
    name="$(basename "$nb")"
    start=$(date +%s%N)
    # allow_errors is off by default: a cell error makes nbconvert exit non-zero.
    if "$nbconvert" --to notebook --execute --ExecutePreprocessor.kernel_name=gplab \
      --ExecutePreprocessor.timeout="$timeout" --output-dir "$out/nbconvert" "$nb" 2>"$work/nbconvert.log"; then
      printf 'nbconvert  %-32s %6d ms\n' "$name" $(( ($(date +%s%N) - start) / 1000000 ))
    else
      tail -n 30 "$work/nbconvert.log" >&2
      failed+=("nbconvert $name")
    fi
  done
fi

echo "executed notebooks: $out"
if [ ${#failed[@]} -gt 0 ]; then
  printf 'FAILED: %s\n' "${failed[@]}" >&2
  exit 1
fi
