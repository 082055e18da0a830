# Sourced by the *_vs_torch.sh benchmarks: checks that the vlbench binaries they run were built,
# and installs Debian's python3-torch and python3-numpy (the PyTorch peer; a benchmark
# dependency only) when missing.
#
#   require_binaries NAME BINARY...   exits 1 naming the first missing one
#   ensure_torch

require_binaries() {
  local name=$1
  shift
  for binary in "$@"; do
    if [[ ! -x $binary ]]; then
      echo "$name: $binary not found: build first (scripts/build.sh)" >&2
      exit 1
    fi
  done
}

ensure_torch() {
  if ! /usr/bin/python3 -c 'import torch, numpy' 2>/dev/null; then
    echo "installing python3-torch and python3-numpy (Debian packages) for the PyTorch reference"
    local sudo=()
    [[ $(id -u) -ne 0 ]] && sudo=(sudo)
    "${sudo[@]}" apt-get install -y python3-torch python3-numpy
  fi
}
