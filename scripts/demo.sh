#!/usr/bin/env bash
# `make demo`: the main job end to end on the embedded default (the bundled demo
# marketplace on loopback, a local ./data store). Grows with each capability.
set -euo pipefail
STORE=${STORE:-./data}
echo "street2shop demo: store=$STORE"
