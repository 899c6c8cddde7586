# Build a static binary, then ship it alone in a minimal non-root image.
#
# Base images are pinned by digest so a rebuild gives the same image; the
# tag beside each digest says what it is. Refresh both together (Renovate
# or Dependabot do it; by hand: docker buildx imagetools inspect IMAGE:TAG).
#
# Multi-arch: the build stage runs on the builder's own platform and
# cross-compiles (CGO_ENABLED=0), so no emulation is needed:
#   docker buildx build --platform linux/amd64,linux/arm64 \
#     --build-arg VERSION=v0.2.0 -t ghcr.io/charlize-app/charlize:v0.2.0 --push .
FROM --platform=$BUILDPLATFORM golang:1.26@sha256:3aff6657219a4d9c14e27fb1d8976c49c29fddb70ba835014f477e1c70636647 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG TARGETOS TARGETARCH
# VERSION is what charlize version, /metrics (charlize_build_info) and the
# User-Agent of Slack and AWS calls show; empty means the build info's.
ARG VERSION=""
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/charlize ./cmd/charlize \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot@sha256:afa5c872c891853ca7fcf1f12c3edb23f7eeef36189728842dd51042ff57f7ab
COPY --from=build /out/charlize /charlize
# The embedded store's folder, writable by the non-root user; mount a volume
# here to keep state across container restarts (or set REDIS_URL).
COPY --from=build --chown=nonroot:nonroot /out/data /data
ENV CHARLIZE_DATA_DIR=/data CHARLIZE_ADDR=:3000
USER nonroot:nonroot
EXPOSE 3000
# Distroless has no shell or curl: the binary asks its own /healthz.
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 CMD ["/charlize", "healthcheck"]
ENTRYPOINT ["/charlize"]
CMD ["serve"]
