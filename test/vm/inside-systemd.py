#!/usr/bin/env python3
"""The VM side of test/vm/systemd-driver.test.ts (runs inside a lab VM as root, from /opt/corelet/extra).

The systemd cgroup driver on a cgroup v2 host with systemd as PID 1: a runtime started with
--cgroup-driver systemd, an agent without the flag (it takes the driver from the runtime's
RuntimeConfig), static pods of each QoS class, crictl on the side; what systemd and the cgroup tree
show is printed as one JSON object on a line starting with VMFACTS, which the host test asserts on.

    inside-systemd.py run RUNTIME   the whole scenario on RUNTIME (runc or crun), cleaned up after
"""
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request

OPT = '/opt/corelet'
EXTRA = f'{OPT}/extra'
CORELET = f'{OPT}/dist/src/cli/main.js'
BUSYBOX = '127.0.0.1:5000/e2e-test-images/busybox:1.29-2'
CG = '/sys/fs/cgroup'
ROOT = '/var/lib/cgd'
SOCK = f'{ROOT}/corelet.sock'
AGENT = '/var/lib/cgd-agent'
PORT = 16476
facts = {}
procs = []


def fact(key, value):
    facts[key] = value


def sh(*args, check=True, timeout=120):
    p = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0:
        raise RuntimeError(f'{" ".join(args)}: exit {p.returncode}: {p.stderr.strip()}')
    return p


def crictl(*args, check=True):
    return sh('crictl', '--runtime-endpoint', f'unix://{SOCK}', '--image-endpoint', f'unix://{SOCK}', '--timeout', '60s',
              *args, check=check)


def crictl_json(verb, *args):
    return json.loads(crictl(verb, '-o', 'json', *args).stdout)


def read(path):
    with open(path) as f:
        return f.read().strip()


def wait(what, check, timeout=180, every=0.5):
    deadline = time.time() + timeout
    while time.time() < deadline:
        last = check()
        if last:
            return last
        time.sleep(every)
    raise RuntimeError(f'timed out waiting for {what}')


def write_json(path, obj):
    with open(path, 'w') as f:
        json.dump(obj, f)
    return path


def units(pattern):
    """Loaded slice and scope units matching pattern (systemctl's glob), sorted."""
    out = sh('systemctl', 'list-units', '--all', '--plain', '--no-legend', '--type=slice,scope', pattern).stdout
    return sorted(l.split()[0] for l in out.splitlines() if l.strip())


def limits(path):
    return {k: read(f'{CG}{path}/{k}') if os.path.exists(f'{CG}{path}/{k}') else None for k in ['memory.max', 'cpu.max', 'cpu.weight']}


def ctr_limits(scope):
    """A container's limits: crun under systemd writes them in a child of the scope, 'container'
    (CRI-O reads that one for crun too); runc on the scope itself."""
    return limits(f'{scope}/container' if os.path.isdir(f'{CG}{scope}/container') else scope)


def daemon(name, args, log):
    f = open(log, 'w')
    p = subprocess.Popen(['node', CORELET, *args], stdout=f, stderr=f, stdin=subprocess.DEVNULL, start_new_session=True)
    procs.append((name, p))
    return p


def start_runtime(r):
    shutil.rmtree(ROOT, ignore_errors=True)
    shutil.copytree(f'{EXTRA}/store', ROOT, symlinks=True)  # the image store prepared on the host
    os.makedirs(f'{ROOT}/net.d', exist_ok=True)
    with open(f'{ROOT}/runtime.yaml', 'w') as f:
        f.write(f'cni:\n  confDir: {ROOT}/net.d\n  podSubnet: 10.76.64.0/20\n  bridge: cgd0\n')
    daemon('runtime', ['runtime', '--runtime', r, '--cgroup-driver', 'systemd', '--socket', SOCK, '--root', ROOT,
                       '--config', f'{ROOT}/runtime.yaml'], f'{ROOT}/../cgd-runtime.log')
    t0 = time.time()
    wait('the runtime', lambda: crictl('version', check=False).returncode == 0, timeout=300, every=1)
    fact('runtime.startSeconds', round(time.time() - t0, 1))
    info = json.loads(crictl('info', '-o', 'json').stdout)
    config = info.get('config', {})
    fact('runtime.info.cgroupDriver', (json.loads(config) if isinstance(config, str) else config).get('cgroupDriver'))


def crictl_side():
    """crictl's own pods: a slice-less pod gets a slice of the runtime's, a cgroupfs parent is refused."""
    work = f'{ROOT}/work'
    os.makedirs(work, exist_ok=True)
    bad = write_json(f'{work}/bad.json', {'metadata': {'name': 'bad', 'namespace': 'cgd', 'uid': 'cgd-bad', 'attempt': 0},
                                           'linux': {'cgroup_parent': '/kubepods/burstable/podx'}})
    r = crictl('runp', bad, check=False)
    fact('crictl.cgroupfsParent', {'exitCode': r.returncode, 'stderr': r.stderr.strip()[-400:]})
    plain = write_json(f'{work}/plain.json', {'metadata': {'name': 'plain', 'namespace': 'cgd', 'uid': 'cgd-plain', 'attempt': 0},
                                              'log_directory': f'{work}/logs', 'linux': {}})
    pod = crictl('runp', plain).stdout.strip()
    ctr_cfg = write_json(f'{work}/ctr.json', {'metadata': {'name': 'sleeper'}, 'image': {'image': BUSYBOX},
                                              'command': ['sleep', '3600'], 'log_path': 'sleeper.log',
                                              'linux': {'resources': {'memory_limit_in_bytes': 64 * 1024 * 1024,
                                                                      'cpu_quota': 30000, 'cpu_period': 100000}}})
    ctr = crictl('create', pod, ctr_cfg, plain).stdout.strip()
    crictl('start', ctr)
    path = crictl_json('inspect', ctr)['info']['cgroupsPath']
    fact('crictl.cgroupsPath', path.replace(ctr, '<id>').replace(pod, '<pod>'))
    fact('crictl.scope.limits', ctr_limits(path))
    upd = crictl('update', '--memory', str(48 * 1024 * 1024), '--cpu-quota', '20000', '--cpu-period', '100000', ctr, check=False)
    fact('crictl.update', {'exitCode': upd.returncode, 'stderr': upd.stderr.strip()[-300:], 'limits': ctr_limits(path)})
    fact('crictl.units', [u.replace(ctr, '<id>').replace(pod, '<pod>') for u in units(f'*{pod}*') + units(f'*{ctr}*')])
    crictl('stop', '--timeout', '2', ctr)
    crictl('rm', ctr)
    crictl('stopp', pod)
    crictl('rmp', pod)
    fact('crictl.unitsLeft', units(f'*{pod}*') + units(f'*{ctr}*'))


class Agent:
    def __init__(self):
        shutil.rmtree(AGENT, ignore_errors=True)
        self.manifests = f'{AGENT}/manifests'
        os.makedirs(self.manifests)
        # no --cgroup-driver: the agent asks the runtime (RuntimeConfig)
        daemon('agent', ['agent', '--runtime-endpoint', f'unix://{SOCK}', '--pod-manifest-path', self.manifests,
                         '--root', f'{AGENT}/root', '--log-dir', f'{AGENT}/logs', '--address', '127.0.0.1',
                         '--port', str(PORT), '--node-name', 'cgd', '--cluster-dns', '', '--proxy-table', 'cgdagent'],
               f'{AGENT}.log')
        t0 = time.time()
        wait('the agent', self._answers, timeout=300, every=1)
        fact('agent.startSeconds', round(time.time() - t0, 1))

    def _answers(self):
        try:
            self.get('/pods')
            return True
        except OSError:
            return False

    def get(self, path):
        with urllib.request.urlopen(f'http://127.0.0.1:{PORT}{path}', timeout=10) as res:
            return json.loads(res.read())

    def apply(self, name, resources):
        tmp = f'{self.manifests}/.{name}.tmp'
        with open(tmp, 'w') as f:
            f.write(f'apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}}}\nspec:\n'
                    f'  terminationGracePeriodSeconds: 1\n  containers:\n  - name: work\n    image: {BUSYBOX}\n'
                    f'    command: ["sleep", "3600"]\n{resources}')
        os.rename(tmp, f'{self.manifests}/{name}.yaml')

    def pod(self, name):
        return next((p for p in self.get('/pods')['items'] if p['metadata']['name'] == name), None)


def running(p):
    return p and (p.get('status') or {}).get('phase') == 'Running'


def agent_side():
    a = Agent()
    with open(f'{AGENT}.log') as f:
        fact('agent.driverLog', [json.loads(l).get('driver') + '/' + json.loads(l).get('from') for l in f
                                 if '"cgroup driver"' in l])
    a.apply('guaranteed', '    resources:\n      requests: {cpu: 500m, memory: 64Mi}\n      limits: {cpu: 500m, memory: 64Mi}\n')
    a.apply('burstable', '    resources:\n      requests: {cpu: 100m, memory: 32Mi}\n      limits: {cpu: 250m, memory: 128Mi}\n')
    a.apply('besteffort', '')
    pods = {n: wait(f'pod {n}', lambda n=n: (lambda p: p if running(p) else None)(a.pod(n)), timeout=300)
            for n in ['guaranteed', 'burstable', 'besteffort']}
    uids = {n: p['metadata']['uid'] for n, p in pods.items()}
    fact('agent.uids', uids)
    fact('agent.qos', {n: p['status']['qosClass'] for n, p in pods.items()})
    cgls = sh('systemd-cgls', '--no-pager', '-u', 'kubepods.slice').stdout
    fact('agent.systemd-cgls', cgls.splitlines()[:60])
    fact('agent.units', units('kubepods*'))
    slices = {n: sh('systemctl', 'show', '-P', 'ControlGroup', f'kubepods{"" if n == "guaranteed" else "-" + n}-pod{uids[n].replace("-", "_")}.slice').stdout.strip()
              for n in uids}
    fact('agent.slicePaths', slices)
    fact('agent.slice.limits', {n: limits(p) for n, p in slices.items() if p})
    fact('agent.tier.limits', {t: limits(f'/kubepods.slice/kubepods-{t}.slice') for t in ['burstable', 'besteffort']})
    fact('agent.top.limits', limits('/kubepods.slice'))
    scopes = {}
    for n, p in slices.items():
        for d in sorted(os.listdir(f'{CG}{p}')) if p else []:
            if d.endswith('.scope'):
                scopes.setdefault(n, []).append(ctr_limits(f'{p}/{d}'))
    fact('agent.scope.limits', scopes)
    # UpdateContainerResources on an agent pod's container: the scope takes the new limits
    cid = next(c['id'] for c in crictl_json('ps', '--label', 'io.kubernetes.pod.uid=' + uids['burstable'])['containers'])
    upd = crictl('update', '--memory', str(100 * 1024 * 1024), cid, check=False)
    fact('agent.update', {'exitCode': upd.returncode, 'stderr': upd.stderr.strip()[-300:],
                          'memory.max': ctr_limits(f'{slices["burstable"]}/corelet-{cid}.scope')['memory.max']})
    for n in uids:
        os.remove(f'{a.manifests}/{n}.yaml')
    wait('every pod gone', lambda: not a.get('/pods')['items'], timeout=300)
    # the pod slices go with the pods (the agent's worker, at once); the scopes with their containers
    wait('the pod slices gone', lambda: not [u for u in units('kubepods*') if '-pod' in u], timeout=60)
    fact('agent.unitsLeft', units('kubepods*') + units('corelet-*'))
    fact('agent.podCgroupsLeft', [d for d, _, _ in os.walk(f'{CG}/kubepods.slice') if '-pod' in d or d.endswith('.scope')])


def cleanup():
    # the agent first (its pods keep running), then every pod through the runtime, then the runtime
    for name, p in reversed(procs):
        if name == 'runtime' and os.path.exists(SOCK):
            crictl('rmp', '-fa', check=False)
        p.terminate()
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
    for u in ['kubepods.slice', 'corelet.slice']:
        sh('systemctl', 'stop', u, check=False)
    sh('ip', 'link', 'del', 'cgd0', check=False)
    fact('cleanup.unitsLeft', units('kubepods*') + units('corelet*'))


def main():
    verb, args = sys.argv[1], sys.argv[2:]
    try:
        if verb != 'run':
            raise RuntimeError(f'unknown verb {verb}')
        fact('cgroup2', read('/proc/filesystems').count('cgroup2') > 0 and os.path.exists(f'{CG}/cgroup.controllers'))
        fact('systemdPid1', read('/proc/1/comm'))
        start_runtime(args[0])
        crictl_side()
        agent_side()
    except Exception as e:  # the facts so far still go back, with the error
        fact('error', f'{type(e).__name__}: {e}')
    finally:
        try:
            cleanup()
        except Exception as e:
            fact('cleanupError', f'{type(e).__name__}: {e}')
    print('VMFACTS ' + json.dumps(facts), flush=True)


main()
