# Builds the zikao-cert service. Used by docker-compose.yml.
FROM rust:1.95-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends libpq-dev && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin zikao-cert

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpq5 ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /var/lib/zikao-cert --create-home zikao
COPY --from=build /src/target/release/zikao-cert /usr/local/bin/zikao-cert
COPY data /usr/share/zikao-cert/data
USER zikao
WORKDIR /usr/share/zikao-cert
ENV BIND_ADDR=0.0.0.0:8080 \
    ZIKAO_DATA_DIR=/var/lib/zikao-cert \
    LOG_FORMAT=json
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD curl -fsS http://127.0.0.1:8080/readyz || exit 1
ENTRYPOINT ["zikao-cert"]
