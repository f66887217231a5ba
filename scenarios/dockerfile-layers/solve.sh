#!/bin/bash
# The reference solution.
set -e
cat > /workspace/app/Dockerfile <<'DOCKERFILE'
FROM proctor/base:bookworm
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
EXPOSE 8080
CMD ["python3", "app.py"]
DOCKERFILE
