/**
 * `corelet create user|token|serviceaccount|role|clusterrole|rolebinding|clusterrolebinding` and
 * `corelet auth can-i`, with kubectl's flags. A refused request prints the API's 403 message and
 * exits 1 (as every command's error does).
 */
import { generateKeyPairSync } from 'node:crypto';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { collect, namespaceOf, withClient, withConnectionOptions, withNamespaceOptions, type CommonOptions } from './cluster-options.js';
import { readConfigFile, withUserContext, writeConfigFile } from './contexts.js';
import { bindingSubjects, canIAttributes, parseDuration, roleRules, splitList } from './rbac-objects.js';
import { cliIo, homeDir, outLine } from './io.js';

const RBAC = 'rbac.authorization.k8s.io/v1';

interface RoleOptions extends CommonOptions {
  verb?: string[];
  resource?: string[];
  resourceName?: string[];
  nonResourceUrl?: string[];
}

interface BindingOptions extends CommonOptions {
  role?: string;
  clusterrole?: string;
  user?: string[];
  group?: string[];
  serviceaccount?: string[];
}

async function post(opts: CommonOptions, path: string, obj: unknown, what: string): Promise<void> {
  await withClient(opts, async (client) => {
    await client.request('POST', path, { json: obj });
    outLine(`${what} created`);
  });
}

const nsPath = (opts: CommonOptions, resource: string) => `/api/v1/namespaces/${encodeURIComponent(namespaceOf(opts))}/${resource}`;

function roleCommand(create: Command, kind: 'Role' | 'ClusterRole'): void {
  const cluster = kind === 'ClusterRole';
  const cmd = create
    .command(`${kind.toLowerCase()} <name>`)
    .description(`create a ${kind} with one rule per API group: --verb get,list --resource pods,pods/log,deployments.apps`)
    .option('--verb <verbs>', 'verbs the role allows (repeatable, or a comma list)', collect)
    .option('--resource <resources>', 'resources, as pods, pods/log, deployments.apps, * (repeatable, or a comma list)', collect)
    .option('--resource-name <names>', 'only objects of these names (repeatable, or a comma list)', collect);
  if (cluster) cmd.option('--non-resource-url <urls>', 'URLs such as /healthz or /logs/* (repeatable)', collect);
  else withNamespaceOptions(cmd);
  withConnectionOptions(cmd).action(async (name: string, opts: RoleOptions) => {
    const rules = roleRules({ verbs: splitList(opts.verb), resources: splitList(opts.resource), resourceNames: splitList(opts.resourceName), nonResourceUrls: splitList(opts.nonResourceUrl) });
    const metadata = cluster ? { name } : { name, namespace: namespaceOf(opts) };
    const path = cluster ? '/api/v1/clusterroles' : nsPath(opts, 'roles');
    await post(opts, path, { apiVersion: RBAC, kind, metadata, rules }, `${kind.toLowerCase()}.rbac.authorization.k8s.io/${name}`);
  });
}

function bindingCommand(create: Command, kind: 'RoleBinding' | 'ClusterRoleBinding'): void {
  const cluster = kind === 'ClusterRoleBinding';
  const cmd = create
    .command(`${kind.toLowerCase()} <name>`)
    .description(`grant a ${cluster ? 'ClusterRole everywhere' : 'Role or ClusterRole in one namespace'} to users, groups or service accounts`)
    .option('--clusterrole <name>', 'the ClusterRole to grant')
    .option('--user <name>', 'a user to grant it to (repeatable)', collect)
    .option('--group <name>', 'a group to grant it to (repeatable)', collect)
    .option('--serviceaccount <ns:name>', 'a service account to grant it to, NAMESPACE:NAME (repeatable)', collect);
  if (!cluster) {
    cmd.option('--role <name>', 'the Role (of this namespace) to grant');
    withNamespaceOptions(cmd);
  }
  withConnectionOptions(cmd).action(async (name: string, opts: BindingOptions) => {
    if (opts.role && opts.clusterrole) throw new Error('give either --role or --clusterrole, not both');
    const roleName = opts.role ?? opts.clusterrole;
    if (!roleName) throw new Error(cluster ? '--clusterrole is required' : '--role or --clusterrole is required');
    const subjects = bindingSubjects({ users: opts.user ?? [], groups: opts.group ?? [], serviceAccounts: opts.serviceaccount ?? [] });
    const roleRef = { apiGroup: 'rbac.authorization.k8s.io', kind: opts.role ? 'Role' : 'ClusterRole', name: roleName };
    const metadata = cluster ? { name } : { name, namespace: namespaceOf(opts) };
    const path = cluster ? '/api/v1/clusterrolebindings' : nsPath(opts, 'rolebindings');
    await post(opts, path, { apiVersion: RBAC, kind, metadata, subjects, roleRef }, `${kind.toLowerCase()}.rbac.authorization.k8s.io/${name}`);
  });
}

interface UserOptions extends CommonOptions {
  group?: string[];
  clientCertificate?: boolean;
  setContext?: boolean;
  certDir?: string;
  duration?: string;
}

/** Registers `corelet create ...`. */
export function registerCreateCommand(program: Command): Command {
  const create = program.command('create').description('create namespaces, users, service accounts and their tokens, roles and role bindings');

  const sa = create.command('serviceaccount <name>').alias('sa').description('create a service account (an identity for programs; tokens with `create token`)');
  withNamespaceOptions(sa);
  withConnectionOptions(sa).action(async (name: string, opts: CommonOptions) => {
    await post(opts, nsPath(opts, 'serviceaccounts'), { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: namespaceOf(opts) } }, `serviceaccount/${name}`);
  });

  const token = create
    .command('token <serviceaccount>')
    .description("print a new token of a service account (valid for --duration, default 1h), as kubectl create token")
    .option('--duration <d>', 'how long it is valid: 10m to 8760h', '1h');
  withNamespaceOptions(token);
  withConnectionOptions(token).action(async (name: string, opts: CommonOptions & { duration: string }) => {
    const expirationSeconds = parseDuration(opts.duration, '--duration');
    await withClient(opts, async (client) => {
      const res = await client.request('POST', `${nsPath(opts, 'serviceaccounts')}/${encodeURIComponent(name)}/token`, { json: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds } } });
      outLine(res.body.status.token);
    });
  });

  const user = create
    .command('user <name>')
    .description('create a user (cluster admins only): an API token, shown once, or with --client-certificate a certificate for a key made here')
    .option('--group <group>', 'a group the user is in (repeatable)', collect)
    .option('--client-certificate', 'a client certificate instead of a token (the private key never leaves this machine)')
    .option('--cert-dir <dir>', 'where the key (0600) and certificate go', join(homeDir(), '.corelet', 'users'))
    .option('--duration <d>', 'how long the token or certificate is valid (default: token forever, certificate 1 year)')
    .option('--set-context', 'add a context NAME@CLUSTER for the user to the CLI config');
  withConnectionOptions(user).action(async (name: string, opts: UserOptions) => {
    const groups = opts.group ?? [];
    const expirationSeconds = opts.duration ? parseDuration(opts.duration, '--duration') : undefined;
    let entry: { name: string; token?: string; clientCertificate?: string; clientKey?: string };
    await withClient(opts, async (client) => {
      if (opts.clientCertificate) {
        const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
        const res = await client.request('POST', '/apis/corelet.io/v1/users', { json: { apiVersion: 'corelet.io/v1', kind: 'User', metadata: { name }, spec: { groups, publicKeyPem: publicKey, ...(expirationSeconds ? { expirationSeconds } : {}) } } });
        const dir = resolve(opts.certDir ?? join(homeDir(), '.corelet', 'users'));
        mkdirSync(dir, { recursive: true, mode: 0o700 });
        const keyFile = join(dir, `${name}.key`);
        const certFile = join(dir, `${name}.crt`);
        writeFileSync(keyFile, privateKey, { mode: 0o600 });
        writeFileSync(certFile, res.body.status.certificate, { mode: 0o600 });
        // The mode only applies to new files: one left by an earlier run keeps its bits otherwise.
        chmodSync(keyFile, 0o600);
        chmodSync(certFile, 0o600);
        outLine(`user/${name} created: certificate ${certFile}, key ${keyFile}`);
        entry = { name, clientCertificate: certFile, clientKey: keyFile };
      } else {
        const res = await client.request('POST', '/apis/corelet.io/v1/users', { json: { apiVersion: 'corelet.io/v1', kind: 'User', metadata: { name }, spec: { groups, ...(expirationSeconds ? { expirationSeconds } : {}) } } });
        entry = { name, token: res.body.status.token };
        if (!opts.setContext) {
          outLine(`user/${name} created; its API token (shown only now):`);
          outLine(res.body.status.token);
        } else outLine(`user/${name} created`);
      }
    });
    if (opts.setContext) {
      const { path, config } = readConfigFile();
      const { config: next, context } = withUserContext(config, entry!);
      writeConfigFile(path, next);
      outLine(`context "${context}" added to ${path}; switch with \`corelet config use-context ${context}\``);
    }
  });

  roleCommand(create, 'Role');
  roleCommand(create, 'ClusterRole');
  bindingCommand(create, 'RoleBinding');
  bindingCommand(create, 'ClusterRoleBinding');
  return create;
}

/** Registers `corelet auth can-i`. */
export function registerAuthCommand(program: Command): void {
  const auth = program.command('auth').description('what you (or, with --as, someone else) may do');
  const canI = auth
    .command('can-i <verb> <resource> [name]')
    .description('answer yes (exit 0) or no (exit 1): may I VERB RESOURCE[/SUBRESOURCE] [NAME] in the namespace?')
    .option('-q, --quiet', 'print nothing; only the exit status answers');
  withNamespaceOptions(canI, true);
  withConnectionOptions(canI).action(async (verb: string, resource: string, name: string | undefined, opts: CommonOptions & { quiet?: boolean }) => {
    const namespace = opts.allNamespaces ? '' : namespaceOf(opts);
    const resourceAttributes = canIAttributes(verb, resource, name, namespace);
    const allowed = await withClient(opts, async (client) => {
      const res = await client.request('POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', { json: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes } } });
      return res.body.status?.allowed === true;
    });
    if (!opts.quiet) outLine(allowed ? 'yes' : 'no');
    cliIo().exitCode = allowed ? 0 : 1;
  });
}
