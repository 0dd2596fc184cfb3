# Multi-stage build on Debian 12, from the project's own install script:
# the build stage builds and runs the unit tests; the runtime image holds the
# binary, the runtime libraries and nothing else, and runs as a non-root user.
FROM debian:bookworm-slim AS build
WORKDIR /src
COPY . .
# Portable binary (no -march=native): the image may run on another CPU.
RUN bash scripts/install-deps.sh \
 && cmake --preset release -DLSTMAD_NATIVE=OFF -DLSTMAD_BUILD_BENCH=OFF \
 && cmake --build build/release -j "$(nproc)" \
 && ctest --test-dir build/release --output-on-failure -L unit \
 && cmake --install build/release --prefix /opt/lstmad

FROM debian:bookworm-slim
COPY scripts/install-deps.sh /tmp/install-deps.sh
RUN bash /tmp/install-deps.sh --runtime && rm -rf /var/lib/apt/lists/* /tmp/install-deps.sh
COPY --from=build /opt/lstmad/ /usr/local/
USER 65534:65534
EXPOSE 7878 9108
ENTRYPOINT ["/usr/local/bin/lstmad"]
CMD ["serve", "--config", "/etc/lstmad/lstmad.yaml"]
