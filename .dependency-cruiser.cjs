// Boundary rules: docs/architecture.md's one-way arrows between the folders of src/, checked by
// dependency-cruiser (`npm run lint:deps`). Today's code breaks some of them; those imports are
// listed in .dependency-cruiser-known-violations.json (the baseline), so the check passes today and
// fails on any NEW violation. Issue 11's restructuring removes the baselined ones; regenerate the
// baseline only to shrink it: `npm run lint:deps:baseline`.
//
// How the doc's arrows "cli → scheduler/agent → cri → runtime; api and lib are leaves" read as
// imports (the diagram's arrows between agent, runtime and scheduler are sockets, not imports):
//   lib        imports nothing in src/
//   api        lib                                   (the object model)
//   cri        api, lib                              (proto types, CRI client and server plumbing)
//   streaming  lib              — the exec/attach/port-forward server (SPDY, WebSocket) and the
//                                 backend interface a runtime implements, as k8s.io/cri-streaming;
//                                 imported by the runtime (and the CLI) only
//   runtime    streaming, cri, api, lib — it implements the CRI; never the agent, scheduler or CLI
//   agent      cri, api, lib    — it drives ANY CRI runtime over the socket, so never runtime/;
//                                 it talks to the scheduler over WSS (api/messages), so never scheduler/
//   scheduler  cri, api, lib    — never agent/ or runtime/
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
    arrow('lib', ['agent', 'api', 'cli', 'cri', 'runtime', 'scheduler'], {
      allowed: 'itself',
      text: 'lib/ is a leaf: small shared helpers only.',
    }),
    arrow('api', ['agent', 'cli', 'cri', 'runtime', 'scheduler'], {
      allowed: 'lib',
      text: 'api/ is a leaf: the object model shared by CLI, scheduler and agent.',
    }),
    arrow('cri', ['agent', 'cli', 'runtime', 'scheduler'], {
      allowed: 'api-lib',
      text: 'cri/ is the wire contract used by both the agent (client) and the runtime (server).',
    }),
    arrow('streaming', ['agent', 'api', 'cli', 'cri', 'runtime', 'scheduler'], {
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
    arrow('runtime', ['agent', 'cli', 'scheduler'], {
      allowed: 'streaming-cri-api-lib',
      text: 'The runtime is driven over the CRI socket; it knows nothing of its callers.',
    }),
    arrow('agent', ['cli', 'runtime', 'scheduler'], {
      allowed: 'cri-api-lib',
      text: 'The agent drives any CRI runtime over the socket and talks to the scheduler over WSS; shared host code goes to a shared wing (issue 11: src/host/, src/join/).',
    }),
    arrow('scheduler', ['agent', 'cli', 'runtime'], {
      allowed: 'cri-api-lib',
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
