# Operator image from the release binary. Not built in CI (no container engine there):
#   docker build -t pinot-operator:dev .
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
