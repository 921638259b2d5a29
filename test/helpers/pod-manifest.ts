/** Pod manifests the agent and e2e tests apply. */
import { BUSYBOX } from './runtime-harness.js';

/**
 * A pod of one busybox container c running command, grace 1 s. tail is appended as it is
 * (indented YAML: more fields of the container, e.g. resources, or of the spec, e.g. volumes).
 */
export const busyboxPod = (name: string, command: string[], tail = '') => `apiVersion: v1
kind: Pod
metadata: {name: ${name}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: ${BUSYBOX}
    command: ${JSON.stringify(command)}
${tail}`;
