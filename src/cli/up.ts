import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { createLogger, type Logger } from '../lib/index.js';
import { AGENT_DEFAULTS, defaultNodeName, nodeAddress, SERVICES_DEFAULTS, startAgent, validateServicesConfig } from '../agent/index.js';
import { DEFAULTS, importImageArchive, loadRuntimeConfig, startRuntime } from '../runtime/index.js';
import { BOOTSTRAP_TOKEN_FILE, initScheduler, SCHEDULER_DEFAULTS, startScheduler } from '../scheduler/index.js';
import { packageInfo } from './package-info.js';
import { checkSchedulerIdentity } from '../join/index.js';

/** Where `corelet up` keeps things: each daemon's default place, or all under one folder. */
export interface UpPaths {
  readonly schedulerDir: string;
  readonly runtimeRoot: string;
  readonly socket: string;
  readonly agentRoot: string;
  readonly podLogs: string;
}

/** The daemons' default places, or (with stateDir) scheduler/, runtime/, agent/, pod-logs/ and corelet.sock under it. */
export function upPaths(stateDir?: string): UpPaths {
  if (stateDir === undefined) {
    return { schedulerDir: SCHEDULER_DEFAULTS.dir, runtimeRoot: DEFAULTS.root, socket: DEFAULTS.socket, agentRoot: AGENT_DEFAULTS.root, podLogs: AGENT_DEFAULTS.logRoot };
  }
  const d = resolve(stateDir);
  return { schedulerDir: join(d, 'scheduler'), runtimeRoot: join(d, 'runtime'), socket: join(d, 'corelet.sock'), agentRoot: join(d, 'agent'), podLogs: join(d, 'pod-logs') };
}

/** What the node and the example loader need to talk to the scheduler, kept from the first `up`. */
interface Credentials {
  server: string;
  bootstrapToken: string;
  caCertHash: string;
  adminToken: string;
  caCert: string;
}

interface UpOptions {
  stateDir?: string;
  address: string;
  port: string;
  nodeName?: string;
  runtimeConfig?: string;
  qosCgroup: string;
  examples?: boolean;
  logLevel: string;
  clusterDns: string;
  clusterDomain: string;
  resolvConf: string;
}

/** `corelet up`: a one-machine cluster (scheduler, runtime and agent in this process). */
export function registerUpCommand(program: Command): void {
  program
    .command('up')
    .description('run scheduler, runtime and agent on this machine with the built-in defaults; --examples also runs the Zeus ZAP example')
    .option('--state-dir <dir>', "keep all state (scheduler, runtime, agent, pod logs, the CRI socket) under DIR instead of each daemon's default place")
    .option('--address <ip>', 'address the scheduler listens on (0.0.0.0 lets other machines join)', '127.0.0.1')
    .option('--port <n>', 'port of the scheduler API and node sessions', String(SCHEDULER_DEFAULTS.port))
    .option('--node-name <name>', "this node's name (default: the hostname)")
    .option('--runtime-config <file>', `runtime configuration file (default ${DEFAULTS.config} if present)`)
    .option('--qos-cgroup <name>', 'top-level cgroup of the pods', AGENT_DEFAULTS.qosTop)
    .option('--examples', 'load the example images (built offline when missing or stale) and apply the manifests in examples/')
    .option('--cluster-dns <ip>', 'the cluster DNS address (put on lo, where the node DNS server answers; the pods\' nameserver); "" disables cluster DNS', SERVICES_DEFAULTS.clusterDNS)
    .option('--cluster-domain <domain>', 'the cluster\'s DNS domain', SERVICES_DEFAULTS.clusterDomain)
    .option('--resolv-conf <file>', 'the resolv.conf pods with dnsPolicy Default get, and the cluster DNS forwards to ("" for none)', SERVICES_DEFAULTS.resolvConf)
    .option('--log-level <level>', 'debug, info, warn or error', 'info')
    .action(async (opts: UpOptions) => {
      const port = Number(opts.port);
      if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`--port must be 1..65535, got ${opts.port}`);
      await up(opts, port);
    });
}

async function up(opts: UpOptions, port: number): Promise<void> {
  // Services and cluster DNS as on every node: the proxy's nft table (inet corelet) and the DNS
  // server on the cluster DNS address, kept across restarts (`corelet agent --cleanup` removes them)
  const services = validateServicesConfig({
    ...SERVICES_DEFAULTS,
    clusterDNS: opts.clusterDns,
    clusterDomain: opts.clusterDomain,
    resolvConf: opts.resolvConf ? resolve(opts.resolvConf) : '',
  });
  const { root, version } = packageInfo();
  const paths = upPaths(opts.stateDir);
  const log = (name: string) => createLogger(name, opts.logLevel);
  const creds = await credentials(paths.schedulerDir, opts.address, port);
  // this run's address and port, which may differ from the first run's (the certificate names both
  // 127.0.0.1 and the machine's address)
  creds.server = `https://${connectHost(opts.address)}:${port}`;

  const scheduler = await startScheduler({ dir: paths.schedulerDir, address: opts.address, port, logger: log('corelet-scheduler') });
  const runtimeConfig = await loadRuntimeConfig(
    { socket: paths.socket, root: paths.runtimeRoot, config: opts.runtimeConfig, logLevel: opts.logLevel },
    join(root, 'dist', 'pause'),
    join(root, 'dist', 'bin'),
  );
  const runtime = await startRuntime(runtimeConfig, log('corelet-runtime'), version);
  const upLog = log('corelet-up');
  if (opts.examples) {
    // before the agent starts, so the example pods never try to pull their (local-only) images
    const archive = await exampleImages(root, upLog);
    const imported = await importImageArchive(runtime.context.images, archive);
    upLog.info({ images: imported.flatMap((r) => r.repo_tags) }, 'example images loaded');
  }
  const nodeName = opts.nodeName ?? defaultNodeName();
  const agent = await startAgent(
    {
      runtimeEndpoint: `unix://${paths.socket}`,
      nodeName,
      address: '127.0.0.1',
      port: AGENT_DEFAULTS.port,
      root: paths.agentRoot,
      logRoot: paths.podLogs,
      systemReserved: '',
      evictionHard: '',
      cgroupRoot: AGENT_DEFAULTS.cgroupRoot,
      qosTop: opts.qosCgroup,
      // The token is read only on the first run; afterwards the node's certificate in its root is used.
      scheduler: { server: creds.server.replace(/^https:/, 'wss:'), tokenFile: await bootstrapTokenFile(paths.schedulerDir, creds), caCertHash: creds.caCertHash },
      services,
    },
    log('corelet-agent'),
  );

  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    upLog.info({ signal }, 'stopping; pods keep running (the next `corelet up` adopts them)');
    void (async () => {
      await agent.close().catch(() => undefined);
      await runtime.close().catch(() => undefined);
      await scheduler.close().catch(() => undefined);
      process.exit(0);
    })();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));

  if (opts.examples) {
    const dir = join(root, 'examples');
    for (const file of (await readdir(dir)).filter((f) => /\.(ya?ml|json)$/.test(f)).sort()) {
      const applied = await apiRequest(creds, 'POST', '/api/v1/apply', await readFile(join(dir, file), 'utf8'));
      const names = (applied.items as { kind: string; metadata: { name: string } }[]).map((o) => `${o.kind.toLowerCase()}/${o.metadata.name}`);
      upLog.info({ file: join(dir, file), applied: names }, 'example applied');
    }
    upLog.info({ ui: `http://${nodeAddress()}:30080/` }, 'the Zeus ZAP UI answers there (the NodePort of Service zeus-web) once its pods are Ready (corelet get pods)');
  }
  upLog.info({ node: nodeName, api: creds.server, config: join(homedir(), '.corelet', 'config') }, 'corelet is up: scheduler, runtime and agent; Ctrl-C stops them');
}

/** Where this machine reaches a scheduler listening on address. */
function connectHost(address: string): string {
  return address === '0.0.0.0' ? '127.0.0.1' : address;
}

/**
 * The credentials of this machine's cluster: made by `scheduler init` on the first `up` (which also
 * writes ~/.corelet/config for the CLI) and kept in the scheduler folder, so later runs reuse them.
 */
async function credentials(schedulerDir: string, address: string, port: number): Promise<Credentials> {
  const file = join(schedulerDir, 'up-credentials.json');
  if (existsSync(file)) return JSON.parse(await readFile(file, 'utf8')) as Credentials;
  // the machine's own address too, so nodes elsewhere can join when the scheduler listens on it
  const hosts = [...new Set([connectHost(address), '127.0.0.1', nodeAddress()])];
  const configFile = join(homedir(), '.corelet', 'config');
  const init = await initScheduler({ dir: schedulerDir, hosts, port, configFile });
  const creds: Credentials = { server: init.server, bootstrapToken: init.bootstrapToken, caCertHash: init.caCertHash, adminToken: init.adminToken, caCert: init.caCert };
  await mkdir(schedulerDir, { recursive: true, mode: 0o700 });
  await writeFile(file, JSON.stringify(creds, null, 2) + '\n', { mode: 0o600 });
  return creds;
}

/** The 0600 file with the bootstrap token (`scheduler init` writes it; older runs kept it only in up-credentials.json). */
async function bootstrapTokenFile(schedulerDir: string, creds: Credentials): Promise<string> {
  const file = join(schedulerDir, BOOTSTRAP_TOKEN_FILE);
  if (!existsSync(file)) await writeFile(file, `${creds.bootstrapToken}\n`, { mode: 0o600 });
  return file;
}

/**
 * The example images' archive, built with native-scripts/build-example-images.sh when missing or
 * older than the image sources (examples/images/) or the script.
 */
async function exampleImages(root: string, logger: Logger): Promise<string> {
  const archive = join(root, 'dist', 'examples', 'zeus-images.tar');
  const script = join(root, 'native-scripts', 'build-example-images.sh');
  const built = await stat(archive).then((s) => s.mtimeMs).catch(() => 0);
  if (built > Math.max(await newestMtime(join(root, 'examples', 'images')), (await stat(script)).mtimeMs)) return archive;
  logger.info({ archive }, 'building the example images');
  const r = await execa(script, [archive], { reject: false, all: true });
  if (r.exitCode !== 0) throw new Error(`building the example images failed (${script}):\n${r.all}`);
  return archive;
}

/** The latest modification time of any file under dir. */
async function newestMtime(dir: string): Promise<number> {
  let newest = 0;
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) newest = Math.max(newest, (await stat(join(e.parentPath, e.name))).mtimeMs);
  }
  return newest;
}

/** One call to the scheduler's REST API as the admin; rejects with the API's message on failure. */
function apiRequest(creds: Credentials, method: string, path: string, body?: string): Promise<Record<string, unknown>> {
  return new Promise((resolvePromise, reject) => {
    const req = request(new URL(path, creds.server), { method, ca: creds.caCert, checkServerIdentity: checkSchedulerIdentity, headers: { authorization: `Bearer ${creds.adminToken}` } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => {
        const json = (text ? JSON.parse(text) : {}) as Record<string, unknown>;
        if (res.statusCode === 200 || res.statusCode === 201) resolvePromise(json);
        else reject(new Error(`${method} ${path}: ${res.statusCode} ${String(json.message ?? text)}`));
      });
    });
    req.on('error', (err) => reject(new Error(`${method} ${path}: ${err.message}`)));
    req.end(body);
  });
}
