#!/usr/bin/env bash
# Build llama.cpp's `llama-server` from the llama.cpp sources vendored in the llama-cpp-python sdist
# (the same llama.cpp version as the in-process engine), for the remote-engine tests and for anyone who
# wants a local OpenAI-compatible server. Needs cmake and a C++ compiler; about 10 minutes on 2 cores.
#
#   bash scripts/build_llama_server.sh            # -> ~/.cache/verity/llama-server/bin/llama-server
#   CMAKE_ARGS="-DGGML_CUDA=on" bash scripts/build_llama_server.sh   # the CUDA build
#
# The tests find the binary there (or at $VERITY_LLAMA_SERVER) and skip the llama-server cases when
# there is none.
set -euo pipefail

version="$(.venv/bin/python -c 'import importlib.metadata as m; print(m.version("llama-cpp-python"))')"
prefix="${VERITY_LLAMA_SERVER_PREFIX:-$HOME/.cache/verity/llama-server}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "llama-server: fetching the llama-cpp-python ${version} sources (pip cache or registry)"
.venv/bin/python -m pip download "llama-cpp-python==${version}" --no-binary :all: --no-deps -q -d "$work"
tar xzf "$work"/llama_cpp_python-*.tar.gz -C "$work"
src="$(echo "$work"/llama_cpp_python-*/vendor/llama.cpp)"

echo "llama-server: building (${CMAKE_ARGS:-CPU})"
# shellcheck disable=SC2086
cmake -S "$src" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DLLAMA_CURL=OFF \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DBUILD_SHARED_LIBS=OFF ${CMAKE_ARGS:-} >/dev/null
cmake --build "$work/build" --target llama-server -j "${JOBS:-$(nproc)}"

mkdir -p "$prefix/bin"
install -m 755 "$work/build/bin/llama-server" "$prefix/bin/llama-server.tmp"
mv "$prefix/bin/llama-server.tmp" "$prefix/bin/llama-server"
echo "llama-server: installed $prefix/bin/llama-server"
