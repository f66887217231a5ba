#!/bin/bash
# The reference solution.
set -e
cd /workspace/app
printf 'node_modules\nvenv\n' > .dockerignore
cat > Dockerfile <<'DOCKERFILE'
FROM proctor/base:bookworm
WORKDIR /app
COPY . .
EXPOSE 8080
CMD ["python3", "app.py"]
DOCKERFILE
