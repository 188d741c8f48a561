# Operator image from the release binary:
#   docker build -t pinot-operator:dev .
# CI has no container engine: `tools/build-images.sh --operator <release binary>` builds an
# image of the same layout (/usr/local/bin/pinot-operator, user 65532, port 8080,
# `pinot-operator run`) on a Debian base, which crates/operator/tests/real_pods.rs installs
# with the Helm chart.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p pinot-operator

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/pinot-operator /usr/local/bin/pinot-operator
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/pinot-operator"]
CMD ["run"]
