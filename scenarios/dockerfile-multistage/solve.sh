#!/bin/bash
# The reference solution.
set -e
cat > /workspace/app/Dockerfile <<'DOCKERFILE'
FROM proctor/base:bookworm AS builder
WORKDIR /build
COPY . .
RUN ./build.sh

FROM proctor/base:bookworm
WORKDIR /app
COPY --from=builder /build/app.pyz /app/app.pyz
EXPOSE 8080
CMD ["python3", "/app/app.pyz"]
DOCKERFILE
