# The proxy's and the worker's image: docker build --target proxy . (or
# --target worker). Build context: the repository root.
# Plain Dockerfile syntax, no "# syntax=" line and no BuildKit-only flags
# (COPY --exclude, RUN --mount): it builds with BuildKit/buildx, podman and
# buildah alike. make images builds the same images without any of them (ko;
# infra/images/build.sh). What stays out of the context: .dockerignore.

# ---- build: static binaries, cross-compiled on the build machine's platform ----
# Both binaries in one stage: building the second image reuses it.
FROM --platform=$BUILDPLATFORM golang:1.27.3-bookworm AS build
ARG TARGETOS=linux
ARG TARGETARCH
ENV GOTOOLCHAIN=local CGO_ENABLED=0
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath -ldflags="-s -w" -o /out/ ./proxy ./worker

# ---- run: distroless static, non-root (uid 65532) ----
# Nothing is written to the root filesystem: run it read-only (ECS
# readonlyRootFilesystem, docker run --read-only).
FROM gcr.io/distroless/static-debian12:nonroot AS run
# The RDS certificate authorities, for PGSSLMODE=verify-full (PGSSLROOTCERT).
COPY infra/images/rds-global-bundle.pem /etc/ssl/certs/rds-global-bundle.pem
USER 65532:65532

# No HTTP port and no HEALTHCHECK (no shell in the image): ECS restarts the
# task when the process exits; the oldest-message-age alarm catches a worker
# that runs but does not consume.
FROM run AS worker
COPY --from=build /out/worker /worker
ENTRYPOINT ["/worker"]

# No HEALTHCHECK: the image has no shell or HTTP client to run one, and the
# proxy has no self-check flag. Health comes from outside: the ALB target
# group checks GET /healthz (and docker-compose checks nothing for this
# container). Liveness is GET /healthz for whoever can call it.
# Last, so that a build without --target gives the proxy, as before.
FROM run AS proxy
COPY --from=build /out/proxy /proxy
ENV HTTP_ADDR=0.0.0.0:8080
EXPOSE 8080
ENTRYPOINT ["/proxy"]
