/** The pod spec lines the soak's manifests share. */

export interface MainContainer {
  image: string;
  /** What `sh -c` runs. */
  command: string;
  terminationGracePeriodSeconds: number;
  requests: { cpu: string; memory: string };
  limits: { cpu: string; memory: string };
}

/**
 * A pod spec's grace period and its one container `main` (pulled IfNotPresent, running `sh -c`
 * COMMAND), as YAML lines indented by INDENT spaces, without a final newline.
 */
export function mainContainerSpec(c: MainContainer, indent: number): string {
  const pad = ' '.repeat(indent);
  return [
    `terminationGracePeriodSeconds: ${c.terminationGracePeriodSeconds}`,
    'containers:',
    '- name: main',
    `  image: ${c.image}`,
    '  imagePullPolicy: IfNotPresent',
    `  command: ["sh", "-c", ${JSON.stringify(c.command)}]`,
    `  resources: {requests: {cpu: ${c.requests.cpu}, memory: ${c.requests.memory}}, limits: {cpu: ${c.limits.cpu}, memory: ${c.limits.memory}}}`,
  ]
    .map((l) => pad + l)
    .join('\n');
}
