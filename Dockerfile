# syntax=docker/dockerfile:1.7
#
# The LaneRunner image: one binary, `lanerunner`, that runs any set of its services
# (`serve --services identity,loads,...`), migrates (`migrate`) and runs the operator
# commands (`keys`, `audit`, `dlq`, `backup`, ...). Built and pushed by
# .github/workflows/release.yml; run on Kubernetes with deploy/kubernetes/ (docs/operations.md).
#
#   docker build -t lanerunner .
#   docker run --rm -p 8080:8080 -p 9090:9090 lanerunner     # embedded defaults (SQLite)
#
# Checked by scripts/deploy-check.sh (hadolint, checkov).

# The toolchain the project builds with (rust-toolchain: none; the machines run 1.95).
# Pin by digest in your registry mirror if you need byte-for-byte rebuilds; a tag is what
# Dependabot/Renovate can keep current.
ARG RUST_VERSION=1.95
ARG DEBIAN_SUITE=bookworm

# ---------------------------------------------------------------------------------------
# Build stage
# ---------------------------------------------------------------------------------------
# The *slim* Rust image on purpose. rdkafka-sys builds librdkafka from source with its own
# ./configure (mklove; not cmake: the `cmake-build` feature is not enabled, see Cargo.lock),
# and that script links every optional library it finds: in the full image (which carries
# libcurl, libsasl2, libzstd and others for buildpack users) the binary would come out
# linked against shared libraries the runtime image does not have. Here it finds exactly
# what is installed below: OpenSSL (the `ssl` feature; TLS to Kafka brokers) and zlib.
FROM rust:${RUST_VERSION}-slim-${DEBIAN_SUITE} AS build

# Pipes fail the step when any stage of them fails (the shared-library check below).
SHELL ["/bin/bash", "-o", "pipefail", "-c"]

# Versions are Debian bookworm's own (security updates come through the suite), hence no
# `pkg=version` pins: DL3008 would otherwise ask for them.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        # cc, c++ (librdkafka's configure requires a C++ compiler even for the C library), make
        build-essential \
        # openssl-sys finds OpenSSL through pkg-config; libz-sys likewise finds zlib
        pkg-config libssl-dev zlib1g-dev \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY . .

# Cache mounts: the crates.io index and sources, and the target directory, survive between
# builds on the same builder (BuildKit), so a code change recompiles only the workspace.
# The binary is copied out of the cache mount, which does not outlive this RUN.
# `--locked`: Cargo.lock is the truth (scripts/supply-chain.sh checks it with cargo deny).
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    cargo build --release -p lanerunner --locked \
    && install -D -m 0755 target/release/lanerunner /out/lanerunner

# The binary must need nothing the runtime image lacks: list its shared libraries and fail
# the build on anything but glibc's, libgcc's, OpenSSL 3 and zlib (a new -sys crate or an
# autodetected library would otherwise be found only when a pod crashes on start).
RUN set -eu; \
    ldd /out/lanerunner; \
    unexpected="$(ldd /out/lanerunner | awk '{print $1}' \
        | grep -Ev '^(linux-vdso\.so\.1|/lib64/ld-linux-x86-64\.so\.2|/lib/ld-linux-aarch64\.so\.1|libc\.so\.6|libm\.so\.6|libdl\.so\.2|librt\.so\.1|libpthread\.so\.0|libgcc_s\.so\.1|libssl\.so\.3|libcrypto\.so\.3|libz\.so\.1)$' || true)"; \
    if [ -n "$unexpected" ]; then echo "unexpected shared libraries: $unexpected" >&2; exit 1; fi; \
    /out/lanerunner version

# ---------------------------------------------------------------------------------------
# Runtime stage
# ---------------------------------------------------------------------------------------
# Debian slim rather than distroless: the binary needs glibc, libssl3 and zlib (zlib1g is
# part of every Debian base), and the health check below needs bash, which Debian ships
# as an essential package; no other tool is added.
FROM debian:${DEBIAN_SUITE}-slim AS runtime

ARG DEBIAN_SUITE
ARG VERSION=dev
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="lanerunner" \
      org.opencontainers.image.description="LaneRunner, the freight platform: one binary that runs any set of its services" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.documentation="docs/operations.md" \
      org.opencontainers.image.base.name="docker.io/library/debian:${DEBIAN_SUITE}-slim"

# ca-certificates: the system roots (amqps:// brokers, S3, SMTP, provider APIs use them
# besides rustls' bundled Mozilla roots); libssl3: librdkafka's TLS to the brokers.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates libssl3 \
    && rm -rf /var/lib/apt/lists/*

# A fixed numeric user and group (Kubernetes' runAsNonRoot can check a number, not a name;
# above 10000 so it collides with no host account). The state directory is theirs.
RUN groupadd --system --gid 10001 lanerunner \
    && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/lanerunner \
        --no-create-home --shell /usr/sbin/nologin lanerunner \
    && install -d -o 10001 -g 10001 -m 0750 /var/lib/lanerunner

COPY --from=build /out/lanerunner /usr/local/bin/lanerunner

# The container defaults: listen on every interface (the binary's default is loopback),
# keep embedded state under the working directory (SQLite files, spools, blobs and the
# keyring when no engine is configured: a volume, or nothing survives the container),
# and serve /metrics, /healthz and /readyz on their own port, off the API.
ENV LANERUNNER_LISTEN=0.0.0.0:8080 \
    LANERUNNER_HTTP__OPS_LISTEN=0.0.0.0:9090 \
    LANERUNNER_DATA_DIR=/var/lib/lanerunner \
    LANERUNNER_LOG_FORMAT=json

WORKDIR /var/lib/lanerunner
USER 10001:10001

# 8080: the API and the console; 9090: metrics and probes (keep it off the public network).
EXPOSE 8080 9090

# The binary has no probe subcommand and the image has no curl: bash (essential in Debian)
# speaks just enough HTTP/1.1 over /dev/tcp to ask the operations listener for /healthz and
# check the status line. The ops listener is bound only after migrations and start-up, so
# "healthy" also means "started". Kubernetes ignores HEALTHCHECK (it has its own probes).
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/9090 && printf 'GET /healthz HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n' >&3 && read -r -t 4 _ status _ <&3 && [ \"$status\" = 200 ]"]

ENTRYPOINT ["lanerunner"]
CMD ["serve"]
