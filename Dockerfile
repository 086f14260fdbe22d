# Build: docker build -t psyche-exporter .
# Run:   docker run -p 10580:10580 psyche-exporter
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin psyche-exporter

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/psyche-exporter /usr/local/bin/psyche-exporter
USER 65534:65534
EXPOSE 10580
ENTRYPOINT ["/usr/local/bin/psyche-exporter"]
