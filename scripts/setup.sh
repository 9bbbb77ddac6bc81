#!/usr/bin/env bash
# One-time system set-up for building ewtune on a fresh Debian machine as root.
# rug builds GMP and MPFR from source, and GMP's build needs m4, which a fresh machine lacks.
set -euo pipefail
if ! command -v m4 >/dev/null 2>&1; then
  echo "setup: installing m4 (needed by the GMP build inside rug)" >&2
  if command -v apt-get >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null || true
    apt-get install -y -qq m4 >/dev/null
  else
    echo "setup: m4 is missing and apt-get is unavailable; install m4 and rerun" >&2
    exit 1
  fi
fi
command -v cargo >/dev/null 2>&1 || { echo "setup: cargo not found (install Rust via rustup)" >&2; exit 1; }
