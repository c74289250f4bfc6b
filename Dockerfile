# syntax=docker/dockerfile:1
#
# ds-agent image.
#
#   docker build -t ocariot/ds-agent .
#
# Certificates are never baked into the image: mount them and point SSL_KEY_PATH and SSL_CERT_PATH at them
# (see docker-compose.yml). Relative paths such as .certs/server.key and logs resolve against /usr/src/ds.

############################
# Build stage
############################
FROM rust:1-bookworm AS builder

WORKDIR /usr/src/ds

# 1. Dependencies only: the manifest and the lock file with placeholder sources, so that this layer (the slow
#    part of the build) is reused as long as Cargo.toml and Cargo.lock do not change. Every other target the
#    manifest names by path (src/bin/*.rs, tests, benches, examples) gets a placeholder too.
#    The workspace's other member, the provider simulator, comes whole: cargo reads its manifest to resolve the
#    workspace, and it is small.
COPY Cargo.toml Cargo.lock ./
COPY crates ./crates
RUN set -eux; \
    mkdir -p src; \
    echo 'fn main() {}' > src/main.rs; \
    touch src/lib.rs; \
    for target in $(grep -oE '"(src|tests|benches|examples)/[^"]+\.rs"' Cargo.toml | tr -d '"'); do \
        if [ ! -e "$target" ]; then mkdir -p "$(dirname "$target")"; echo 'fn main() {}' > "$target"; fi; \
    done; \
    cargo build --release --locked --bin ds-agent; \
    rm -rf src

# 2. The real sources, plus the files embedded at compile time (include_bytes!).
COPY src ./src
COPY assets ./assets
COPY openapi.yaml ./openapi.yaml
# The placeholder build left newer timestamps behind: touch the sources so that cargo rebuilds the crate.
RUN set -eux; \
    find src -name '*.rs' -exec touch {} +; \
    cargo build --release --locked --bin ds-agent; \
    cp target/release/ds-agent /usr/local/bin/ds-agent

############################
# Runtime stage
############################
FROM debian:bookworm-slim

# bash, curl and grep are needed by the platform's Vault bootstrap script; curl also serves the health check. The
# package lists, the downloaded packages and apt's and dpkg's logs go in the same layer: a base without Docker's own
# clean-up hook would otherwise keep about 100 MB of them.
RUN set -eux; \
    apt-get update; \
    apt-get install -y --no-install-recommends bash curl grep ca-certificates; \
    apt-get clean; \
    rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/apt/archives/*.deb /var/log/apt /var/log/dpkg.log \
        /var/cache/debconf/*-old

RUN set -eux; \
    groupadd --system --gid 10001 ds; \
    useradd --system --uid 10001 --gid ds --home-dir /usr/src/ds --shell /usr/sbin/nologin ds; \
    mkdir -p /usr/src/ds/logs; \
    chown -R ds:ds /usr/src/ds

COPY --from=builder /usr/local/bin/ds-agent /usr/local/bin/ds-agent

WORKDIR /usr/src/ds
USER ds

# 5000: plain HTTP (redirects to HTTPS); 5001: HTTPS API.
EXPOSE 5000
EXPOSE 5001

HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD curl -kfsS "https://127.0.0.1:${PORT_HTTPS:-5001}/health/live" > /dev/null || exit 1

CMD ["ds-agent"]
