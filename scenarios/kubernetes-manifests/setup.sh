#!/bin/bash
# A first draft of the Deployment, with the mistakes the lab is about.
set -e
mkdir -p /workspace/manifests
cat > /workspace/manifests/deployment.yaml <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    app: web
spec:
  replicas: 1
  selector:
    matchLabels:
      app: frontend
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
        - name: web
          image: nginx:1.27
YAML
