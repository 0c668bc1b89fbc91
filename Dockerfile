# ardoise in a container: build with the Rust toolchain, run on a small Debian image as a
# non-root user, data in the /data volume.
#   docker build -t ardoise .
#   docker run -d -p 8080:8080 -v ardoise-data:/data ardoise
# The web client bundle (web/dist) is committed and embedded at build time: no Node needed.

FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin ardoise

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin ardoise \
    && mkdir -p /data && chown ardoise:ardoise /data
COPY --from=build /src/target/release/ardoise /usr/local/bin/ardoise
USER ardoise
VOLUME ["/data"]
EXPOSE 8080
ENV ARDOISE_LISTEN=0.0.0.0:8080 \
    ARDOISE_DATA=/data \
    ARDOISE_LOG=info
# SIGTERM (docker stop) persists every document and exits cleanly; allow it time.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/ardoise"]
