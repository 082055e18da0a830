#!/usr/bin/env bash
# Installs every Debian 12 package vlbench needs to build, test and benchmark.
# Safe to re-run. Needs root (or sudo).
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  clang libomp-dev     # the sanitizer build of the test suite (scripts/test.sh); omp.h for clang
  libopenblas-dev      # GEMM (OpenBLAS, pthread build)
  libdnnl-dev          # GEMM (oneDNN), compared against OpenBLAS in bench/
  nlohmann-json3-dev   # JSON
  libcli11-dev         # command line
  libfmt-dev           # formatting
  libssl-dev           # SHA-256 (libcrypto)
  libicu-dev           # Unicode normalization, case mapping and regex (tokenizers)
  libsentencepiece-dev # SentencePiece (SigLIP tokenizer)
  libjpeg62-turbo-dev  # JPEG decoding (libjpeg-turbo)
  libpng-dev           # PNG decoding
  libgif-dev           # GIF decoding (giflib)
  libtiff-dev          # TIFF decoding
  libwebp-dev          # WebP decoding (libwebp, libwebpdemux)
  libheif-dev          # HEIF/HEIC decoding
  libavif-dev          # AVIF decoding
  libzip-dev           # pytorch_model.bin (PyTorch's zip checkpoints)
  zlib1g-dev           # CRC-32 of the .bin entries read in place
  libgtest-dev         # tests
  libbenchmark-dev     # micro benchmarks
  libfaiss-dev         # ANN indexes (HNSW, IVF-Flat, IVF-PQ)
  libboost-dev         # HTTP server (Boost.Beast, Boost.Asio)
  libcpp-httplib-dev   # HTTP client of the server tests, the loopback hub of the pull tests
  libcurl4-openssl-dev # vlbench pull: downloads from the Hugging Face Hub (libcurl)
  chromium             # the headless-browser test of the HTML report
)

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  "${sudo_cmd[@]}" apt-get update
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
fi
