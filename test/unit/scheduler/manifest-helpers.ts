/** Manifests for the scheduler's decode and apply tests. */

/** About `bytes` of YAML: Deployments (replicas 0, in the request's namespace) of a few hundred bytes each. */
export function bigManifest(bytes: number, prefix = 'big'): string {
  const docs: string[] = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const doc = `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${prefix}-${i}, labels: {app: ${prefix}-${i}}}
spec:
  replicas: 0
  selector: {matchLabels: {app: ${prefix}-${i}}}
  template:
    metadata: {labels: {app: ${prefix}-${i}}}
    spec:
      containers:
      - name: c
        image: 127.0.0.1:5000/e2e-test-images/busybox:1.29-2
        command: [sh, -c, "sleep 3600"]
        env: [{name: A, value: "${'x'.repeat(64)}"}, {name: B, value: "${'y'.repeat(64)}"}]
---
`;
    docs.push(doc);
    size += doc.length;
  }
  return docs.join('');
}
