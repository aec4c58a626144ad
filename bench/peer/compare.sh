#!/usr/bin/env bash
# callsight's processor and the same windowed join written with Quix Streams, on one embedded
# broker with the same generated input: throughput and leg latency side by side.
#   bench/peer/compare.sh [CLIENTS] [MINUTES] [LEGS]     (defaults 4000 60 200)
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/callsight/target}"
QUIXSTREAMS_VERSION=3.28.1
FASTAVRO_VERSION=1.13.1
if ! python3 -c "import quixstreams, fastavro" 2>/dev/null; then
  python3 -m pip install --quiet "quixstreams==${QUIXSTREAMS_VERSION}" "fastavro==${FASTAVRO_VERSION}" 2>/dev/null \
    || python3 -m pip install --quiet --break-system-packages "quixstreams==${QUIXSTREAMS_VERSION}" "fastavro==${FASTAVRO_VERSION}"
fi
exec cargo run --release -p callsight-lab -- bench peer "${1:-4000}" "${2:-60}" "${3:-200}"
