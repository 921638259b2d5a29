// Boundary rules: docs/architecture.md's one-way arrows between the folders of src/, checked by
// dependency-cruiser (`npm run lint:deps`). The code keeps all of them (no baseline, no exceptions):
// a new sideways import, a reach into another folder's internals or a cycle fails the check.
//
// How the doc's arrows "cli → scheduler/agent → cri → runtime; api and lib are leaves" read as
// imports (the diagram's arrows between agent, runtime and scheduler are sockets, not imports):
//   lib        imports nothing in src/                (incl. the node path defaults, lib/node-paths.ts)
//   api        lib                                   (the object model)
//   cri        api, lib                              (proto types, CRI client and server plumbing)
//   host       lib              — host adapters shared by runtime and agent (cgroupfs, mounts)
//   join       api, lib         — what agent and control plane share to join (token, CA pin, --server,
//                                 identities), as k3s's clientaccess
//   streaming  lib              — the exec/attach/port-forward server (SPDY, WebSocket) and the
//                                 backend interface a runtime implements, as k8s.io/cri-streaming;
//                                 imported by the runtime (and the CLI) only
//   runtime    streaming, cri, host, api, lib — it implements the CRI; never the agent, scheduler or CLI
//   agent      cri, host, join, api, lib  — it drives ANY CRI runtime over the socket, so never
//                                 runtime/; it talks to the scheduler over WSS (api/messages), so
//                                 never scheduler/
//   scheduler  cri, join, api, lib        — never agent/, runtime/ or the node's host/
//   cli        anything (one file per command starts a component), through index.ts
// Plus: "each folder exports through its index.ts" (an import into another top-level folder must
// name that folder's index.ts) and "no import cycles".

/** A rule forbidding src/<from>/ to import the given top-level folders. */
function arrow(from, forbidden, why) {
  return {
    name: `${from}-imports-only-${why.allowed}`,
    comment: `src/${from}/ may import only ${why.allowed.replaceAll('-', ', ')} (docs/architecture.md, Conventions 1). ${why.text}`,
    severity: 'error',
    from: { path: `^src/${from}/` },
    to: { path: `^src/(${forbidden.join('|')})/` },
  };
}

module.exports = {
  forbidden: [
    arrow('lib', ['agent', 'api', 'cli', 'cri', 'host', 'join', 'runtime', 'scheduler'], {
      allowed: 'itself',
      text: 'lib/ is a leaf: small shared helpers only.',
    }),
    arrow('api', ['agent', 'cli', 'cri', 'host', 'join', 'runtime', 'scheduler'], {
      allowed: 'lib',
      text: 'api/ is a leaf: the object model shared by CLI, scheduler and agent.',
    }),
    arrow('cri', ['agent', 'cli', 'host', 'join', 'runtime', 'scheduler'], {
      allowed: 'api-lib',
      text: 'cri/ is the wire contract used by both the agent (client) and the runtime (server).',
    }),
    arrow('host', ['agent', 'api', 'cli', 'cri', 'join', 'runtime', 'scheduler', 'streaming'], {
      allowed: 'lib',
      text: 'host/ holds the host adapters runtime and agent share (cgroupfs, mounts): it knows neither.',
    }),
    arrow('join', ['agent', 'cli', 'cri', 'host', 'runtime', 'scheduler', 'streaming'], {
      allowed: 'api-lib',
      text: 'join/ is what agent and control plane share to join a cluster (token, CA pin, --server, identities): it knows neither.',
    }),
    arrow('streaming', ['agent', 'api', 'cli', 'cri', 'host', 'join', 'runtime', 'scheduler'], {
      allowed: 'lib',
      text: 'src/streaming/ is a library (as k8s.io/cri-streaming): it serves a StreamingBackend and knows nothing of the CRI types, the runtime or its callers.',
    }),
    {
      name: 'streaming-imported-by-runtime-only',
      comment: 'src/streaming/ is the runtime\'s streaming server: only the runtime (and the CLI, which may import anything) imports it (docs/architecture.md, Conventions 1).',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(runtime|cli|streaming)/' },
      to: { path: '^src/streaming/' },
    },
    arrow('runtime', ['agent', 'cli', 'join', 'scheduler'], {
      allowed: 'streaming-cri-host-api-lib',
      text: 'The runtime is driven over the CRI socket; it knows nothing of its callers.',
    }),
    arrow('agent', ['cli', 'runtime', 'scheduler'], {
      allowed: 'cri-host-join-api-lib',
      text: 'The agent drives any CRI runtime over the socket and talks to the scheduler over WSS; host code it shares with the runtime is in host/, what it shares with the control plane in join/.',
    }),
    arrow('scheduler', ['agent', 'cli', 'host', 'runtime'], {
      allowed: 'cri-join-api-lib',
      text: 'The control plane talks to agents over WSS (api/messages.ts), never by import.',
    }),
    {
      name: 'through-index',
      comment:
        "Each folder exports through its index.ts; nothing imports another top-level folder's internals (docs/architecture.md, Conventions 1). Import src/<folder>/index.js, or export what you need from that index.",
      severity: 'error',
      from: { path: '^src/([^/]+)/' },
      to: {
        path: '^src/[^/]+/.',
        pathNot: ['^src/$1/', '^src/[^/]+/index\\.ts$'],
      },
    },
    {
      name: 'no-circular',
      comment: 'No import cycles (docs/architecture.md, Conventions 1): break them by injection.',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'not-to-dev-dep',
      comment: 'src/ ships: it must not import a devDependency (move it to dependencies).',
      severity: 'error',
      from: { path: '^src/' },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'An import that resolves to nothing (a typo, or a package not in package.json).',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    // src/ only: tests and benches may reach into internals on purpose.
    exclude: { path: '^(test|bench|dist)/' },
    doNotFollow: { path: 'node_modules' },
    // Type-only imports count: an arrow is about who knows whom, not about emitted JavaScript.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.d.ts'],
    },
    cache: { folder: 'node_modules/.cache/dependency-cruiser', strategy: 'content' },
  },
};
