# The image-generation server on a GPU host (WebGPU through Vulkan), falling back to wasm on CPU.
#
#   docker build -t gag-server .
#   docker run --gpus all -e NVIDIA_DRIVER_CAPABILITIES=compute,utility,graphics \
#     -p 8000:8000 --stop-timeout 30 gag-server
#
# Put a reverse proxy in front (docs/deployment.md, docs/security.md): the image binds 0.0.0.0, and Deno's
# HTTP server has no header-read timeout and no connection cap, so on its own a client that sends half a
# request holds a connection for as long as it likes. Behind the proxy, give the page's public origin in
# WS_ORIGINS (-e WS_ORIGINS=https://gen.example.com); without it only loopback origins may open /ws.
#
# The NVIDIA container toolkit mounts the driver and its Vulkan ICD (nvidia_icd.json) at run time when
# the `graphics` capability is requested; the image only carries the Vulkan loader. Without a GPU,
# BACKEND=auto picks wasm and says why in /healthz (`backendReason`).

ARG DENO_VERSION=2.9.6

FROM denoland/deno:bin-${DENO_VERSION} AS deno

FROM debian:bookworm-slim

# libvulkan1: the Vulkan loader WebGPU (wgpu) opens; mesa-vulkan-drivers: lavapipe, so `BACKEND=webgpu`
# still starts on a host without a GPU ICD (auto rejects this software adapter and uses wasm).
RUN apt-get update \
  && apt-get install -y --no-install-recommends ca-certificates libvulkan1 mesa-vulkan-drivers \
  && rm -rf /var/lib/apt/lists/*

COPY --from=deno /deno /usr/local/bin/deno

ENV DENO_DIR=/deno-dir \
  DENO_NO_UPDATE_CHECK=1 \
  NVIDIA_VISIBLE_DEVICES=all \
  NVIDIA_DRIVER_CAPABILITIES=compute,utility,graphics \
  XDG_RUNTIME_DIR=/tmp/runtime-app \
  HOST=0.0.0.0 \
  PORT=8000 \
  BACKEND=auto \
  LOG_LEVEL=info \
  SHUTDOWN_GRACE_MS=20000

WORKDIR /app

# A non-root user. It owns only DENO_DIR (filled below, also its V8 code cache), the patched-model
# cache (CACHE_DIR, default /app/.cache) and its runtime dir; the code and models stay root-owned.
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin app \
  && mkdir -p /app/.cache /tmp/runtime-app "$DENO_DIR" \
  && chown app:app /app/.cache /tmp/runtime-app "$DENO_DIR" \
  && chmod 700 /tmp/runtime-app

# Dependencies first, so code edits do not refetch npm packages.
COPY deno.json deno.lock ./
COPY main.ts ./
COPY routes/ routes/
COPY sampler/ sampler/
COPY guidance/ guidance/
USER app
RUN deno cache --frozen main.ts

COPY static/ static/
COPY models/ models/

EXPOSE 8000

# Readiness: 200 once the models are loaded and warmed (503 while starting or draining).
HEALTHCHECK --interval=15s --timeout=5s --start-period=120s --retries=3 \
  CMD ["deno", "eval", "--no-config", "--cached-only", "const r = await fetch(`http://127.0.0.1:${Deno.env.get('PORT') ?? 8000}/healthz`).catch(() => null); Deno.exit(r?.ok ? 0 : 1);"]

# The permissions of `deno task serve`, not -A; --cached-only --frozen: no downloads, no lockfile writes.
# SIGTERM drains for SHUTDOWN_GRACE_MS: give the container more (docker --stop-timeout, Kubernetes
# terminationGracePeriodSeconds) than that.
STOPSIGNAL SIGTERM
CMD ["deno", "run", "--cached-only", "--frozen", "--allow-net", "--allow-env", "--allow-read", "--allow-write=.cache", \
  "--allow-ffi", "--allow-sys", "main.ts"]
