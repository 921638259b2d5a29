#!/usr/bin/env python3
"""The VM side of test/vm (runs inside a lab VM as root, from /opt/corelet/extra).

Node starts 20-30 times slower under TCG than on the host, so this driver is Python (in the node's
package list already) and starts only the corelet daemons themselves. It does what a user does with
crictl and the agent's manifests, and prints what it saw as one JSON object on a line starting with
VMFACTS; test/vm/short.test.ts asserts on those facts, so the checks live beside the host tests.
The VM is cgroup v2 with systemd as PID 1, so everything runs under the systemd cgroup driver (the
default there): pods are slices, containers `corelet-<id>.scope` units.

    inside.py start RUNTIME...    starts `corelet runtime --runtime R --cgroup-driver systemd` for each R
                                  (runc, crun), with the image store prepared on the host, in the background
    inside.py crictl RUNTIME... [agent=R]
                                  the crictl scenario on each R's runtime, side by side; with agent=R,
                                  then the agent part below over R's runtime, once R's scenario is done
    inside.py agent RUNTIME       a standalone agent over R's runtime (no --cgroup-driver: it asks the
                                  runtime): static pods in kubepods.slice, QoS limits, noisy neighbours
    inside.py stop                stops every daemon started here and removes what they made
"""
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.request

OPT = '/opt/corelet'
EXTRA = f'{OPT}/extra'
CORELET = f'{OPT}/dist/src/cli/main.js'
BUSYBOX = '127.0.0.1:5000/e2e-test-images/busybox:1.29-2'
CG = '/sys/fs/cgroup'
SUBNETS = {'runc': '10.75.64.0/20', 'crun': '10.75.80.0/20'}
facts = {}
T0 = time.monotonic()
low_memory = {'minMiB': None}


def watch_memory():
    """Samples MemAvailable each second: its low point is a fact, and a VM running short says so on
    stderr while it still can (a guest out of memory stalls, and the host sees only a dead ssh)."""
    while True:
        with open('/proc/meminfo') as f:
            avail = next(int(l.split()[1]) // 1024 for l in f if l.startswith('MemAvailable:'))
        if low_memory['minMiB'] is None or avail < low_memory['minMiB']:
            low_memory['minMiB'] = avail
            if avail < 256:
                print(f'# {time.monotonic() - T0:.1f}s MemAvailable {avail} MiB', file=sys.stderr, flush=True)
        time.sleep(1)


def fact(key, value):
    facts[key] = value
    # progress on stderr, seconds since the start: if the ssh session dies, the host's failure message
    # still says how far the scenario got
    print(f'# {time.monotonic() - T0:.1f}s {key}', file=sys.stderr, flush=True)


def state(r):
    return f'/var/lib/vml-{r}'


def sock(r):
    return f'{state(r)}/corelet.sock'


def sh(*args, check=True, timeout=120, input=None):
    p = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout, input=input)
    if check and p.returncode != 0:
        raise RuntimeError(f'{" ".join(args)}: exit {p.returncode}: {p.stderr.strip()}')
    return p


def crictl(r, *args, check=True, timeout=120):
    return sh('crictl', '--runtime-endpoint', f'unix://{sock(r)}', '--image-endpoint', f'unix://{sock(r)}',
              '--timeout', '60s', *args, check=check, timeout=timeout)


def crictl_json(r, verb, *args):
    return json.loads(crictl(r, verb, '-o', 'json', *args).stdout)


def read(path):
    with open(path) as f:
        return f.read().strip()


def wait(what, check, timeout=120, every=0.5):
    deadline = time.time() + timeout
    last = None
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


def limits(path, keys=('memory.max', 'cpu.max', 'cpu.weight')):
    return {k: read(f'{CG}{path}/{k}') if os.path.exists(f'{CG}{path}/{k}') else None for k in keys}


def ctr_dir(scope):
    """A container's own cgroup: crun under systemd writes its limits in a child of the scope, 'container'
    (CRI-O reads that one for crun too); runc on the scope itself."""
    return f'{scope}/container' if os.path.isdir(f'{CG}{scope}/container') else scope


def cgroup_dirs(top):
    """Every cgroup folder under /sys/fs/cgroup/TOP (TOP included), relative to the root."""
    out = []
    for d, subdirs, _ in os.walk(f'{CG}/{top}'):
        out.append(d[len(CG):])
    return sorted(out)


# --- daemons --------------------------------------------------------------------------------------

def start(runtimes):
    for r in runtimes:
        root = state(r)
        shutil.rmtree(root, ignore_errors=True)
        # the image store prepared on the host (corelet images import --root): no registry needed
        shutil.copytree(f'{EXTRA}/store', root, symlinks=True)
        os.makedirs(f'{root}/net.d', exist_ok=True)
        with open(f'{root}/runtime.yaml', 'w') as f:
            f.write(f'cni:\n  confDir: {root}/net.d\n  podSubnet: {SUBNETS[r]}\n  bridge: vml{r}0\n')
        log = open(f'{root}/runtime.log', 'a')
        # the systemd driver (the default on a systemd + cgroup v2 host, said here to be sure); both
        # runtimes keep crictl's pods in the default corelet.slice, each pod in its own slice
        proc = subprocess.Popen(['node', CORELET, 'runtime', '--runtime', r, '--cgroup-driver', 'systemd', '--socket', sock(r), '--root', root,
                                 '--config', f'{root}/runtime.yaml'], stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                                start_new_session=True)
        with open(f'/run/vml-{r}.pid', 'w') as f:
            f.write(str(proc.pid))
    for r in runtimes:
        t0 = time.time()
        wait(f'the {r} runtime', lambda: crictl(r, 'version', check=False).returncode == 0, timeout=240, every=1)
        fact(f'{r}.startSeconds', round(time.time() - t0, 1))
        info = json.loads(crictl(r, 'info', '-o', 'json').stdout)
        config = info.get('config', {})
        fact(f'{r}.info.cgroupDriver', (json.loads(config) if isinstance(config, str) else config).get('cgroupDriver'))


def gone(pid):
    try:
        wait(f'process {pid} to exit', lambda: not os.path.exists(f'/proc/{pid}'), timeout=60)
    except RuntimeError:
        fact(f'stillRunning.{pid}', True)


def stop():
    # the agent first (it would start the pods again), then each runtime's pods, then the daemons
    if os.path.exists('/run/vml-agent.pid'):
        agent = read('/run/vml-agent.pid')
        sh('kill', agent, check=False)
        gone(agent)
    for r in SUBNETS:
        if os.path.exists(sock(r)):
            crictl(r, 'rmp', '-fa', check=False)
        if os.path.exists(f'/run/vml-{r}.pid'):
            sh('kill', read(f'/run/vml-{r}.pid'), check=False)
    for r in SUBNETS:
        if os.path.exists(f'/run/vml-{r}.pid'):
            gone(read(f'/run/vml-{r}.pid'))
        sh('ip', 'link', 'del', f'vml{r}0', check=False)
    # what the daemons leave on purpose: the QoS tiers (kept while the agent runs, as the kubelet's)
    # and the runtime's corelet.slice
    for u in ['kubepods.slice', 'corelet.slice']:
        sh('systemctl', 'stop', u, check=False)
    fact('unitsLeft', units('kubepods*') + units('corelet*'))


# --- the crictl scenario --------------------------------------------------------------------------

def scenario_crictl(r):
    p = f'{r}.'
    work = f'{state(r)}/work'
    os.makedirs(work, exist_ok=True)
    images = crictl_json(r, 'images')['images']
    fact(p + 'imageListed', any(BUSYBOX in i['repoTags'] for i in images))

    # under the systemd driver a cgroupfs parent is refused, naming the field
    bad = write_json(f'{work}/bad.json', {'metadata': {'name': 'bad', 'namespace': 'vm-test', 'uid': f'uid-bad-{r}', 'attempt': 0},
                                           'linux': {'cgroup_parent': '/kubepods/burstable/podx'}})
    res = crictl(r, 'runp', bad, check=False)
    fact(p + 'cgroupfsParent', {'exitCode': res.returncode, 'stderr': res.stderr.strip()[-400:]})

    pod_cfg = write_json(f'{work}/pod.json', {
        'metadata': {'name': 'limits', 'namespace': 'vm-test', 'uid': f'uid-limits-{r}', 'attempt': 0},
        'hostname': 'limits', 'log_directory': f'{work}/logs', 'linux': {},
    })
    pod = crictl(r, 'runp', pod_cfg).stdout.strip()
    fact(p + 'podState', crictl_json(r, 'inspectp', pod)['status']['state'])

    ctr_cfg = write_json(f'{work}/ctr.json', {
        'metadata': {'name': 'talker'}, 'image': {'image': BUSYBOX},
        'command': ['sh', '-c', 'echo hello-from-vm; while true; do sleep 1; done'], 'log_path': 'talker.log',
        'linux': {'resources': {'memory_limit_in_bytes': 128 * 1024 * 1024, 'cpu_quota': 50000, 'cpu_period': 100000}},
    })
    ctr = crictl(r, 'create', pod, ctr_cfg, pod_cfg).stdout.strip()
    crictl(r, 'start', ctr)
    inspect = crictl_json(r, 'inspect', ctr)
    fact(p + 'ctrState', inspect['status']['state'])
    cgpath = inspect['info']['cgroupsPath']
    # a pod without a parent: a slice of the runtime's, the container a scope in it
    fact(p + 'cgroupsPath', cgpath.replace(ctr, '<id>').replace(pod, '<pod>'))
    fact(p + 'units', [u.replace(ctr, '<id>').replace(pod, '<pod>') for u in units(f'*{pod}*') + units(f'*{ctr}*')])
    fact(p + 'limits', limits(ctr_dir(cgpath), ('memory.max', 'cpu.max')))

    fact(p + 'exec', crictl(r, 'exec', '-s', ctr, 'sh', '-c', 'echo out; echo err >&2').stdout)
    fact(p + 'execHostname', crictl(r, 'exec', '-s', ctr, 'hostname').stdout.strip())
    wait('the first log line', lambda: 'hello-from-vm' in crictl(r, 'logs', ctr).stdout, timeout=30)
    fact(p + 'logs', crictl(r, 'logs', ctr).stdout.splitlines()[:1])

    upd = crictl(r, 'update', '--memory', str(96 * 1024 * 1024), '--cpu-quota', '20000', '--cpu-period', '100000', ctr,
                 check=False)
    fact(p + 'update', {'exitCode': upd.returncode, 'stderr': upd.stderr.strip()[-300:],
                        'limits': limits(ctr_dir(cgpath), ('memory.max', 'cpu.max')),
                        'scopeLimits': limits(cgpath, ('memory.max', 'cpu.max'))})  # for a failure message

    # a memory hog over its 32 MiB limit: OOM-killed, the kernel's count in memory.events (the scope
    # may be gone already: systemd drops a scope once its last process exits)
    hog_cfg = write_json(f'{work}/hog.json', {
        'metadata': {'name': 'hog'}, 'image': {'image': BUSYBOX}, 'command': ['tail', '/dev/zero'], 'log_path': 'hog.log',
        'linux': {'resources': {'memory_limit_in_bytes': 32 * 1024 * 1024}},
    })
    hog = crictl(r, 'create', pod, hog_cfg, pod_cfg).stdout.strip()
    hog_path = crictl_json(r, 'inspect', hog)['info']['cgroupsPath']
    crictl(r, 'start', hog)
    done = wait('the hog to exit', lambda: (lambda s: s if s['state'] == 'CONTAINER_EXITED' else None)(
        crictl_json(r, 'inspect', hog)['status']), timeout=120)
    fact(p + 'hog', {'reason': done['reason'], 'exitCode': done['exitCode']})
    events = f'{CG}{ctr_dir(hog_path)}/memory.events'
    fact(p + 'hog.memory.events.oom_kill', next((int(l.split()[1]) for l in read(events).splitlines()
                                                if l.startswith('oom_kill ')), None) if os.path.exists(events) else 'cgroup gone')

    crictl(r, 'stop', '--timeout', '5', ctr)
    fact(p + 'stopped', crictl_json(r, 'inspect', ctr)['status']['state'])
    crictl(r, 'rm', ctr, hog)
    crictl(r, 'stopp', pod)
    crictl(r, 'rmp', pod)
    fact(p + 'podsLeft', len(crictl_json(r, 'pods')['items']))
    fact(p + 'unitsLeft', units(f'*{pod}*') + units(f'*{ctr}*') + units(f'*{hog}*'))
    pod_slice = cgpath.rsplit('/', 1)[0]
    fact(p + 'podCgroupLeft', os.path.exists(f'{CG}{pod_slice}') or os.path.exists(f'{CG}{cgpath}'))


# --- the agent: static pods in kubepods.slice, QoS limits, noisy neighbours -----------------------

class Agent:
    def __init__(self, r):
        self.dir = '/var/lib/vml-agent'
        shutil.rmtree(self.dir, ignore_errors=True)
        self.manifests = f'{self.dir}/manifests'
        os.makedirs(self.manifests)
        log = open(f'{self.dir}/agent.log', 'a')
        # no --cgroup-driver: the agent asks the runtime (RuntimeConfig), which says systemd
        proc = subprocess.Popen(['node', CORELET, 'agent', '--runtime-endpoint', f'unix://{sock(r)}',
                                 '--pod-manifest-path', self.manifests, '--root', f'{self.dir}/root',
                                 '--log-dir', f'{self.dir}/logs', '--address', '127.0.0.1', '--port', '16475',
                                 '--node-name', 'vml', '--cluster-dns', '', '--proxy-table', 'vmlagent'],
                                stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True)
        with open('/run/vml-agent.pid', 'w') as f:
            f.write(str(proc.pid))
        self.url = 'http://127.0.0.1:16475'
        t0 = time.time()
        wait('the agent', self._answers, timeout=300, every=1)
        fact('agent.startSeconds', round(time.time() - t0, 1))
        with open(f'{self.dir}/agent.log') as f:
            lines = [json.loads(l) for l in f if '"cgroup driver"' in l]
        fact('agent.driverLog', [f'{l.get("driver")}/{l.get("from")}' for l in lines])

    def _answers(self):
        try:
            self.get('/pods')
            return True
        except OSError:
            return False

    def get(self, path):
        with urllib.request.urlopen(self.url + path, timeout=10) as res:
            return json.loads(res.read())

    def apply(self, name, containers):
        tmp = f'{self.manifests}/.{name}.tmp'
        with open(tmp, 'w') as f:
            f.write(f'apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}}}\nspec:\n  terminationGracePeriodSeconds: 1\n'
                    f'  containers:\n{containers}')
        os.rename(tmp, f'{self.manifests}/{name}.yaml')

    def remove(self, name):
        os.remove(f'{self.manifests}/{name}.yaml')

    def pod(self, name):
        return next((p for p in self.get('/pods')['items'] if p['metadata']['name'] == name), None)

    def wait_for(self, name, check, timeout=300):
        return wait(f'pod {name}', lambda: (lambda p: p if p and check(p) else None)(self.pod(name)), timeout=timeout)


def ready(p):
    s = p.get('status') or {}
    return s.get('phase') == 'Running' and any(c['type'] == 'Ready' and c['status'] == 'True' for c in s.get('conditions', []))


def burn(name, resources=''):
    return f'  - name: {name}\n    image: {BUSYBOX}\n    command: ["sh", "-c", "while :; do :; done"]\n{resources}'


def cpu_usage(path):
    return next(int(l.split()[1]) for l in read(f'{CG}{path}/cpu.stat').splitlines() if l.startswith('usage_usec '))


def pod_slice(qos, uid):
    """The kubelet's slice name of a pod (uid '-' escaped as '_'), Guaranteed pods right in kubepods.slice."""
    tier = '' if qos == 'Guaranteed' else '-' + qos.lower()
    return f'kubepods{tier}-pod{uid.replace("-", "_")}.slice'


def scenario_agent(r):
    a = Agent(r)
    # one pod per QoS class: the hog (BestEffort, two busy loops), a Guaranteed pod next to it, and a
    # Burstable one limited to half a core
    a.apply('hog', burn('a') + burn('b'))
    a.apply('guaranteed', burn('work', '    resources:\n      requests: {cpu: 500m, memory: 32Mi}\n      limits: {cpu: 500m, memory: 32Mi}\n'))
    a.apply('limited', burn('work', '    resources:\n      requests: {cpu: 100m, memory: 32Mi}\n      limits: {cpu: 500m, memory: 128Mi}\n'))
    pods = {n: a.wait_for(n, ready) for n in ['hog', 'guaranteed', 'limited']}
    qos = {n: p['status']['qosClass'] for n, p in pods.items()}
    fact('agent.qos', qos)
    uids = {n: p['metadata']['uid'] for n, p in pods.items()}
    fact('agent.uids', uids)
    # where systemd put each pod slice (its ControlGroup), and what systemd-cgls shows
    slices = {n: sh('systemctl', 'show', '-P', 'ControlGroup', pod_slice(qos[n], uids[n])).stdout.strip() for n in uids}
    fact('agent.slicePaths', slices)
    fact('agent.systemd-cgls', sh('systemd-cgls', '--no-pager', '-u', 'kubepods.slice').stdout.splitlines()[:60])
    fact('agent.slice.limits', {n: limits(p) for n, p in slices.items() if p})
    fact('agent.tier.limits', {t: limits(f'/kubepods.slice/kubepods-{t}.slice') for t in ['burstable', 'besteffort']})
    scopes = {}
    for n, p in slices.items():
        for d in sorted(os.listdir(f'{CG}{p}')) if p else []:
            if d.endswith('.scope'):
                scopes.setdefault(n, []).append(limits(ctr_dir(f'{p}/{d}'), ('memory.max', 'cpu.max')))
    fact('agent.scope.limits', scopes)
    # CPU each pod used over 3 s, in cores (cpu.stat usage_usec is cumulative)
    time.sleep(1)
    u0 = {n: cpu_usage(d) for n, d in slices.items()}
    t0 = time.time()
    time.sleep(3)
    used = {n: (cpu_usage(d) - u0[n]) / 1e6 / (time.time() - t0) for n, d in slices.items()}
    fact('agent.coresUsed', {n: round(v, 3) for n, v in used.items()})
    # UpdateContainerResources on an agent pod's container: its scope (or crun's child) takes the limit
    cid = next(c['id'] for c in crictl_json(r, 'ps', '--label', 'io.kubernetes.pod.uid=' + uids['limited'])['containers'])
    upd = crictl(r, 'update', '--memory', str(100 * 1024 * 1024), cid, check=False)
    fact('agent.update', {'exitCode': upd.returncode, 'stderr': upd.stderr.strip()[-300:],
                          'memory.max': limits(ctr_dir(f'{slices["limited"]}/corelet-{cid}.scope'), ('memory.max',))['memory.max']})
    a.remove('hog')
    a.remove('limited')

    a.apply('memhog', f'  - name: eat\n    image: {BUSYBOX}\n    command: ["tail", "/dev/zero"]\n    resources:\n      limits: {{memory: 64Mi}}\n')

    def terminated(p):
        s = (p.get('status') or {}).get('containerStatuses') or [{}]
        return (s[0].get('state', {}).get('terminated') or s[0].get('lastState', {}).get('terminated'))
    oom = a.wait_for('memhog', lambda p: (terminated(p) or {}).get('reason') == 'OOMKilled')
    fact('agent.memhog', terminated(oom))
    g = a.pod('guaranteed')
    fact('agent.neighbour', {'ready': ready(g), 'restartCount': g['status']['containerStatuses'][0]['restartCount']})
    def oom_event():
        return any(e['reason'] == 'OOMKilled' and e['involvedObject']['name'] == 'memhog' for e in a.get('/events')['items'])
    try:
        fact('agent.oomEvent', wait('the OOMKilled event', oom_event, timeout=60, every=2))
    except RuntimeError:
        fact('agent.oomEvent', False)
        fact('agent.events', [(e['reason'], e['involvedObject']['name']) for e in a.get('/events')['items']])
    for n in ['memhog', 'guaranteed']:
        a.remove(n)
    wait('every pod gone', lambda: not a.get('/pods')['items'], timeout=300)
    # the pod slices go with the pods (the agent's worker, at once); the scopes with their containers
    try:
        wait('the pod slices gone', lambda: not [u for u in units('kubepods*') if '-pod' in u], timeout=60)
    except RuntimeError:
        pass  # the facts below say what is left
    fact('agent.unitsLeft', units('kubepods*') + units('corelet-*'))
    fact('agent.podCgroupsLeft', [d[len(CG):] for d, _, _ in os.walk(f'{CG}/kubepods.slice') if '-pod' in d or d.endswith('.scope')])


def main():
    verb, args = sys.argv[1], sys.argv[2:]
    threading.Thread(target=watch_memory, daemon=True).start()
    try:
        if verb == 'start':
            start(args)
        elif verb == 'crictl':
            # the runtimes side by side: each scenario mostly waits on its own runtime process;
            # `agent=R` then starts the agent over R's runtime as soon as R's scenario is done (the
            # agent removes pods it does not know, so not before), while the other may still run
            agent = next((a.split('=', 1)[1] for a in args if a.startswith('agent=')), None)
            errors = {}

            def one(r):
                try:
                    scenario_crictl(r)
                except Exception as e:
                    errors[r] = f'{type(e).__name__}: {e}'
                    return
                if r == agent:
                    try:
                        scenario_agent(r)
                    except Exception as e:
                        errors['agent'] = f'{type(e).__name__}: {e}'
            threads = [threading.Thread(target=one, args=(r,)) for r in args if '=' not in r]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            for r, e in errors.items():
                fact(f'{r}.error', e)
        elif verb == 'agent':
            scenario_agent(args[0])
        elif verb == 'stop':
            stop()
        else:
            raise RuntimeError(f'unknown verb {verb}')
    except Exception as e:  # the facts so far still go back, with the error
        fact('error', f'{type(e).__name__}: {e}')
    facts['vm.memAvailableMinMiB'] = low_memory['minMiB']
    print('VMFACTS ' + json.dumps(facts), flush=True)


main()
