#!/bin/bash
# A Python service whose Dockerfile copies everything before installing
# the requirements, so every code change reinstalls them.
set -e
mkdir -p /workspace/app && cd /workspace/app
cat > app.py <<'PY'
"""A small web service: /health says it is healthy, / says hello."""
from http.server import BaseHTTPRequestHandler, HTTPServer


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"ok\n" if self.path == "/health" else b"hello from the app\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


if __name__ == "__main__":
    HTTPServer(("0.0.0.0", 8080), Handler).serve_forever()
PY
cat > requirements.txt <<'REQ'
# Third-party packages the service needs, one per line. None yet: the
# standard library serves HTTP. (Builds here have no network, so a package
# listed here would have to be vendored.)
REQ
cat > Dockerfile <<'DOCKERFILE'
FROM proctor/base:bookworm
WORKDIR /app
COPY . .
RUN pip install -r requirements.txt
EXPOSE 8080
CMD ["python3", "app.py"]
DOCKERFILE
