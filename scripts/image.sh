#!/usr/bin/env bash
# Builds the repository's Dockerfile, unchanged, on a machine without a Docker engine or a registry: with Debian's
# podman, on base images made here from Debian's packages (docs/operations.md#the-image-without-docker). Prints the
# build time and the size of each layer the Dockerfile adds.
#
#   scripts/image.sh [TAG]     # default tag: ds-agent:local
#
# Made once and kept in podman's storage (see `podman images`):
#   - debian:bookworm-slim, the runtime base: `debootstrap --variant=minbase bookworm`, imported;
#   - rust:1-bookworm, the builder base: that base with gcc, libc6-dev, pkg-config and ca-certificates, and this
#     machine's own Rust toolchain (`rustc --print sysroot`) and CA bundle (`SSL_CERT_FILE`, the one this machine
#     reaches the crate registry through). The bundle stays in the builder: the runtime image never carries it.
# Remove either (`podman rmi`) to make it again. Other scripts source `scripts/podman.env` for the same settings.
set -euo pipefail
cd "$(dirname "$0")/.."
tag=${1:-ds-agent:local}
# shellcheck source=scripts/podman.env
. scripts/podman.env

missing=()
for tool in podman runc debootstrap; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "image.sh: installing ${missing[*]} (Debian packages)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman runc debootstrap uidmap >/dev/null
fi

work=.cache/podman
mkdir -p "$work"

if ! podman image exists docker.io/library/debian:bookworm-slim; then
  echo "image.sh: making the base debian:bookworm-slim (debootstrap, about a minute)"
  rm -rf "$work/rootfs"
  debootstrap --variant=minbase bookworm "$work/rootfs" http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 ||
    { tail -20 "$work/debootstrap.log" >&2; exit 1; }
  tar -C "$work/rootfs" -c . | podman import --quiet - docker.io/library/debian:bookworm-slim >/dev/null
  rm -rf "$work/rootfs"
fi

if ! podman image exists docker.io/library/rust:1-bookworm; then
  echo "image.sh: making the builder base rust:1-bookworm from this machine's toolchain"
  sysroot=$(rustc --print sysroot)
  context="$work/builder"
  rm -rf "$context"
  mkdir -p "$context/rust/bin"
  cp -a "$sysroot/bin/cargo" "$sysroot/bin/rustc" "$context/rust/bin/"
  cp -a "$sysroot/lib" "$context/rust/lib"
  cp "${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}" "$context/registry-ca.pem"
  cat >"$context/Containerfile" <<'EOF'
FROM docker.io/library/debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev pkg-config ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY rust /usr/local/rust
COPY registry-ca.pem /usr/local/share/registry-ca.pem
ENV PATH=/usr/local/rust/bin:$PATH CARGO_HOME=/usr/local/cargo CARGO_HTTP_CAINFO=/usr/local/share/registry-ca.pem \
    SSL_CERT_FILE=/usr/local/share/registry-ca.pem
EOF
  podman build --quiet "${build_flags[@]}" -t docker.io/library/rust:1-bookworm "$context" >/dev/null
  rm -rf "$context"
fi

echo "image.sh: podman build -t $tag . (the first build compiles every dependency: about 10 minutes on 2 cores)"
started=$(date +%s)
podman build "${build_flags[@]}" -t "$tag" . 2>&1 | grep -E '^(STEP|COMMIT|Successfully|Error|error)' || true
podman image exists "$tag" || { echo "image.sh: the build failed" >&2; exit 1; }
echo "image.sh: built $tag in $(($(date +%s) - started)) s"

echo "image.sh: the layers the Dockerfile adds to debian:bookworm-slim (newest first)"
base_layers=$(podman image inspect --format '{{len .RootFS.Layers}}' docker.io/library/debian:bookworm-slim)
podman history --format '{{.Size}}\t{{.CreatedBy}}' "$tag" | grep -v -e '^ *0 *B' |
  head -n "-$base_layers" | cut -c1-150 | sed 's/^/  /'
podman image inspect --format '  whole image: {{.Size}} bytes' "$tag"
