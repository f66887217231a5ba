#!/bin/bash
# The reference solution, run on the control plane (the worker is reached
# over SSH with the session's key, as the learner would).
set -e
export KUBECONFIG=/etc/kubernetes/admin.conf

# 1. Audit logging: a policy, and the API server's flags and mounts.
mkdir -p /etc/kubernetes/audit /var/log/kubernetes/audit
cat > /etc/kubernetes/audit/policy.yaml <<'YAML'
apiVersion: audit.k8s.io/v1
kind: Policy
rules:
  - level: Metadata
YAML
manifest=/etc/kubernetes/manifests/kube-apiserver.yaml
grep -q -- --audit-policy-file "$manifest" || sed -i \
  -e 's|^    - kube-apiserver$|    - kube-apiserver\n    - --audit-policy-file=/etc/kubernetes/audit/policy.yaml\n    - --audit-log-path=/var/log/kubernetes/audit/audit.log\n    - --audit-log-maxage=7|' \
  -e 's|^  volumes:$|  volumes:\n  - name: audit-policy\n    hostPath: {path: /etc/kubernetes/audit, type: DirectoryOrCreate}\n  - name: audit-log\n    hostPath: {path: /var/log/kubernetes/audit, type: DirectoryOrCreate}|' \
  -e 's|^    volumeMounts:$|    volumeMounts:\n    - {name: audit-policy, mountPath: /etc/kubernetes/audit, readOnly: true}\n    - {name: audit-log, mountPath: /var/log/kubernetes/audit}|' \
  "$manifest"

# 2. The worker's kubelet: no anonymous requests, webhook authorization.
ssh -o StrictHostKeyChecking=no worker "sed -i -e '/anonymous:/,/enabled:/ s/enabled: true/enabled: false/' -e 's/mode: AlwaysAllow/mode: Webhook/' /var/lib/kubelet/config.yaml && systemctl restart kubelet"

# 3. Default deny for the payments namespace.
kubectl apply -f - <<'YAML'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: default-deny
  namespace: payments
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
YAML
for _ in $(seq 1 60); do kubectl get --raw /readyz >/dev/null 2>&1 && break; sleep 2; done
