#!/bin/bash
# The service and what a developer's checkout carries around: installed
# JavaScript packages and a Python virtual environment, tens of megabytes
# the image does not need.
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
mkdir -p node_modules/left-pad node_modules/.cache venv/bin venv/lib
echo 'module.exports = (s, n) => s.padStart(n);' > node_modules/left-pad/index.js
head -c 20000000 /dev/urandom > node_modules/.cache/bundle.bin
head -c 10000000 /dev/urandom > venv/lib/site-packages.bin
ln -sf /usr/bin/python3 venv/bin/python
