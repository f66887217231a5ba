#!/bin/bash
# Runs on the control plane once the cluster is up: the namespace the last
# task fences, with a workload in it.
set -e
export KUBECONFIG=/etc/kubernetes/admin.conf
kubectl create namespace payments --dry-run=client -o yaml | kubectl apply -f -
kubectl -n payments create deployment ledger --image=registry.k8s.io/pause:3.10 --dry-run=client -o yaml | kubectl apply -f -
