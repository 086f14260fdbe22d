# Build: docker build --build-arg REVISION=$(git rev-parse --short=12 HEAD) -t psyche-exporter .
# Run:   docker run -p 10580:10580 psyche-exporter
# The build context has no .git (.dockerignore), so the revision that
# psyche_exporter_build_info{revision} and `--version` report comes from the
# REVISION argument (build.rs reads it as PSYCHE_EXPORTER_REVISION); without
# it they say "unknown".
FROM rust:1.95-bookworm AS build
ARG REVISION=unknown
WORKDIR /src
COPY . .
RUN PSYCHE_EXPORTER_REVISION="$REVISION" cargo build --release --locked --bin psyche-exporter

FROM debian:bookworm-slim
ARG REVISION=unknown
# The crate's version (Cargo.toml); a test keeps them equal.
ARG VERSION=0.1.0
ARG CREATED=""
LABEL org.opencontainers.image.title="psyche-exporter" \
      org.opencontainers.image.description="Prometheus exporter for the Psyche decentralized training network (Solana + HuggingFace)" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="$VERSION" \
      org.opencontainers.image.revision="$REVISION" \
      org.opencontainers.image.created="$CREATED"
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/psyche-exporter /usr/local/bin/psyche-exporter
USER 65534:65534
EXPOSE 10580
ENTRYPOINT ["/usr/local/bin/psyche-exporter"]
