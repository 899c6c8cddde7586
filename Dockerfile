# Build a static binary, then ship it alone in a minimal non-root image.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/charlize ./cmd/charlize \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/charlize /charlize
# The embedded store's folder, writable by the non-root user; mount a volume
# here to keep state across container restarts (or set REDIS_URL).
COPY --from=build --chown=nonroot:nonroot /out/data /data
ENV CHARLIZE_DATA_DIR=/data CHARLIZE_ADDR=:3000
USER nonroot:nonroot
EXPOSE 3000
ENTRYPOINT ["/charlize"]
CMD ["serve"]
