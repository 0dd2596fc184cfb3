# Multi-stage build on Debian 12, from the project's own install script.
FROM debian:bookworm-slim AS build
WORKDIR /src
COPY . .
# Portable binary (no -march=native): the image may run on another CPU.
RUN bash scripts/install-deps.sh \
 && cmake --preset release -DLSTMAD_NATIVE=OFF -DLSTMAD_BUILD_BENCH=OFF \
 && cmake --build build/release -j "$(nproc)" \
 && ctest --test-dir build/release --output-on-failure -L unit

FROM debian:bookworm-slim
COPY --from=build /src/build/release/tools/lstmad /usr/local/bin/lstmad
COPY --from=build /src/examples /usr/share/lstmad/examples
USER 65534:65534
ENTRYPOINT ["/usr/local/bin/lstmad"]
CMD ["--help"]
