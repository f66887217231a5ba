#!/bin/bash
# Runs on the control plane when the machines answer: waits for the
# cluster the disk's boot-time bootstrap makes (disk/kubeadm-node), then
# adds the namespace the last task fences, with a workload in it.
set -e
export KUBECONFIG=/etc/kubernetes/admin.conf
for _ in $(seq 1 140); do
    [ "$(kubectl get nodes --no-headers 2>/dev/null | grep -c ' Ready ')" = 2 ] && break
    sleep 2
done
[ "$(kubectl get nodes --no-headers 2>/dev/null | grep -c ' Ready ')" = 2 ] || { echo "the cluster did not come up: $(kubectl get nodes 2>&1)" >&2; exit 1; }
kubectl create namespace payments --dry-run=client -o yaml | kubectl apply -f -
kubectl -n payments create deployment ledger --image=registry.k8s.io/pause:3.10 --dry-run=client -o yaml | kubectl apply -f -
