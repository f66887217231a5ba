#!/bin/bash
# The service's source, a single-stage Dockerfile that leaves its build
# toolchain in the image, and a one-line Dockerfile the judge measures the
# base image with.
set -e
mkdir -p /workspace/app/src /opt/lab/base
cd /workspace/app
cat > src/server.py <<'PY'
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


def main():
    HTTPServer(("0.0.0.0", 8080), Handler).serve_forever()
PY
cat > build.sh <<'SH'
#!/bin/sh
# "Compiles" the service into one file, app.pyz. Like real toolchains it
# leaves a large cache behind that only the build needs.
set -e
mkdir -p toolchain-cache
head -c 60000000 /dev/urandom > toolchain-cache/objects.bin
python3 -m zipapp src -o app.pyz -m "server:main"
SH
chmod +x build.sh
cat > Dockerfile <<'DOCKERFILE'
FROM proctor/base:bookworm
WORKDIR /build
COPY . .
RUN ./build.sh
EXPOSE 8080
CMD ["python3", "/build/app.pyz"]
DOCKERFILE
echo 'FROM proctor/base:bookworm' > /opt/lab/base/Dockerfile
