# syntax=docker/dockerfile:1
# foldboard as one static binary on distroless, with its SQLite store in /data.
#
#   docker build -t foldboard .
#   docker run -p 8080:8080 -v foldboard-data:/data foldboard
#   docker run --rm -v foldboard-data:/data foldboard seed    # demo data
#
# compose.yaml runs it on the DynamoDB store beside DynamoDB Local instead.
#
# A bind mount (-v "$PWD/data:/data") must be writable by uid 65532.

ARG GO_VERSION=1.26

# Build on the builder's own platform and cross-compile: no emulation.
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
ARG TARGETOS
ARG TARGETARCH
WORKDIR /src
# Modules first: a change to the code alone reuses this layer.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
# modernc.org/sqlite is pure Go, so no cgo is needed; static files and
# templates are compiled in (go:embed, templ).
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags='-s -w' -o /foldboard .
# The volume's mount point, owned by the user that runs foldboard: a new named
# volume takes this ownership, where one Docker creates itself is root's.
RUN mkdir /data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /foldboard /foldboard
COPY --from=build --chown=65532:65532 /data /data
USER nonroot:nonroot
ENV FOLDBOARD_ADDR=:8080 \
    FOLDBOARD_DB=/data/foldboard.db
VOLUME /data
EXPOSE 8080
# distroless has no shell or curl: foldboard checks itself, with a GET of
# http://127.0.0.1:$PORT/healthz (the port of FOLDBOARD_ADDR), exiting 0 or 1.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["/foldboard", "healthcheck"]
ENTRYPOINT ["/foldboard"]
