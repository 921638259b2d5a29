#!/usr/bin/env python3
"""The VM side of test/vm (runs inside a lab VM as root, from /opt/corelet/extra).

Node starts 20-30 times slower under TCG than on the host, so this driver is Python (in the node's
package list already) and starts only the corelet daemons themselves. It does what a user does with
crictl and the agent's manifests, and prints what it saw as one JSON object on a line starting with
VMFACTS; test/vm/short.test.ts asserts on those facts, so the checks live beside the host tests.

    inside.py start RUNTIME...    starts `corelet runtime --runtime R` for each R (runc, crun), with the
                                  image store prepared on the host, in the background
    inside.py crictl RUNTIME...   the crictl scenario on each R's runtime, side by side
    inside.py agent RUNTIME       a standalone agent over R's runtime: static pods, QoS cgroups, noisy
                                  neighbours
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


def fact(key, value):
    facts[key] = value


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
            f.write(f'cgroupParent: /vml-{r}\ncni:\n  confDir: {root}/net.d\n  podSubnet: {SUBNETS[r]}\n  bridge: vml{r}0\n')
        log = open(f'{root}/runtime.log', 'a')
        # cgroupfs paths (/vml-R): the VM has systemd and cgroup v2, where the default driver is systemd
        # (test/vm/systemd-driver.test.ts covers that one); the agent takes cgroupfs from the runtime
        proc = subprocess.Popen(['node', CORELET, 'runtime', '--runtime', r, '--cgroup-driver', 'cgroupfs', '--socket', sock(r), '--root', root,
                                 '--config', f'{root}/runtime.yaml'], stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                                start_new_session=True)
        with open(f'/run/vml-{r}.pid', 'w') as f:
            f.write(str(proc.pid))
    for r in runtimes:
        t0 = time.time()
        wait(f'the {r} runtime', lambda: crictl(r, 'version', check=False).returncode == 0, timeout=240, every=1)
        fact(f'{r}.startSeconds', round(time.time() - t0, 1))


def stop():
    # the agent first (it removes its pods), then each runtime's pods, then the daemons
    if os.path.exists('/run/vml-agent.pid'):
        sh('kill', read('/run/vml-agent.pid'), check=False)
    for r in SUBNETS:
        if os.path.exists(sock(r)):
            crictl(r, 'rmp', '-fa', check=False)
        if os.path.exists(f'/run/vml-{r}.pid'):
            sh('kill', read(f'/run/vml-{r}.pid'), check=False)
    for r in SUBNETS:
        sh('ip', 'link', 'del', f'vml{r}0', check=False)


# --- the crictl scenario --------------------------------------------------------------------------

def scenario_crictl(r):
    p = f'{r}.'
    work = f'{state(r)}/work'
    os.makedirs(work, exist_ok=True)
    images = crictl_json(r, 'images')['images']
    fact(p + 'imageListed', any(BUSYBOX in i['repoTags'] for i in images))

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
    fact(p + 'cgroupsPath', cgpath)
    fact(p + 'memory.max', read(f'{CG}{cgpath}/memory.max'))
    fact(p + 'cpu.max', read(f'{CG}{cgpath}/cpu.max'))

    fact(p + 'exec', crictl(r, 'exec', '-s', ctr, 'sh', '-c', 'echo out; echo err >&2').stdout)
    fact(p + 'execHostname', crictl(r, 'exec', '-s', ctr, 'hostname').stdout.strip())
    wait('the first log line', lambda: 'hello-from-vm' in crictl(r, 'logs', ctr).stdout, timeout=30)
    fact(p + 'logs', crictl(r, 'logs', ctr).stdout.splitlines()[:1])

    upd = crictl(r, 'update', '--memory', str(96 * 1024 * 1024), '--cpu-quota', '20000', '--cpu-period', '100000', ctr,
                 check=False)
    fact(p + 'update', {'exitCode': upd.returncode, 'stderr': upd.stderr.strip()[-300:]})
    fact(p + 'updated.memory.max', read(f'{CG}{cgpath}/memory.max'))
    fact(p + 'updated.cpu.max', read(f'{CG}{cgpath}/cpu.max'))

    # a memory hog over its 32 MiB limit: OOM-killed, the kernel's count in memory.events
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
    events = f'{CG}{hog_path}/memory.events'
    fact(p + 'hog.memory.events.oom_kill', next((int(l.split()[1]) for l in read(events).splitlines()
                                                if l.startswith('oom_kill ')), None) if os.path.exists(events) else 'cgroup gone')

    crictl(r, 'stop', '--timeout', '5', ctr)
    fact(p + 'stopped', crictl_json(r, 'inspect', ctr)['status']['state'])
    crictl(r, 'rm', ctr, hog)
    crictl(r, 'stopp', pod)
    crictl(r, 'rmp', pod)
    fact(p + 'podsLeft', len(crictl_json(r, 'pods')['items']))
    fact(p + 'cgroupsLeft', cgroup_dirs(f'vml-{r}'))
    fact(p + 'podCgroupLeft', os.path.exists(f'{CG}/vml-{r}/{pod}') or os.path.exists(f'{CG}{cgpath}'))


# --- the agent: static pods, QoS cgroups, noisy neighbours ----------------------------------------

class Agent:
    def __init__(self, r):
        self.dir = '/var/lib/vml-agent'
        shutil.rmtree(self.dir, ignore_errors=True)
        self.manifests = f'{self.dir}/manifests'
        os.makedirs(self.manifests)
        self.top = 'kubepods-vml'
        log = open(f'{self.dir}/agent.log', 'a')
        proc = subprocess.Popen(['node', CORELET, 'agent', '--runtime-endpoint', f'unix://{sock(r)}',
                                 '--pod-manifest-path', self.manifests, '--root', f'{self.dir}/root',
                                 '--log-dir', f'{self.dir}/logs', '--address', '127.0.0.1', '--port', '16475',
                                 '--qos-cgroup', self.top, '--node-name', 'vml', '--cluster-dns', '',
                                 '--proxy-table', 'vmlagent'],
                                stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True)
        with open('/run/vml-agent.pid', 'w') as f:
            f.write(str(proc.pid))
        self.url = 'http://127.0.0.1:16475'
        t0 = time.time()
        wait('the agent', self._answers, timeout=240, every=1)
        fact('agent.startSeconds', round(time.time() - t0, 1))

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

    def wait_for(self, name, check, timeout=180):
        return wait(f'pod {name}', lambda: (lambda p: p if p and check(p) else None)(self.pod(name)), timeout=timeout)


def ready(p):
    s = p.get('status') or {}
    return s.get('phase') == 'Running' and any(c['type'] == 'Ready' and c['status'] == 'True' for c in s.get('conditions', []))


def burn(name, resources=''):
    return f'  - name: {name}\n    image: {BUSYBOX}\n    command: ["sh", "-c", "while :; do :; done"]\n{resources}'


def cpu_usage(dir):
    return next(int(l.split()[1]) for l in read(f'{CG}/{dir}/cpu.stat').splitlines() if l.startswith('usage_usec '))


def scenario_agent(r):
    a = Agent(r)
    a.apply('hog', burn('a') + burn('b'))
    a.apply('guaranteed', burn('work', '    resources:\n      requests: {cpu: 500m, memory: 32Mi}\n      limits: {cpu: 500m, memory: 32Mi}\n'))
    a.apply('limited', burn('work', '    resources:\n      limits: {cpu: 500m}\n      requests: {cpu: 100m}\n'))
    pods = {n: a.wait_for(n, ready) for n in ['hog', 'guaranteed', 'limited']}
    fact('agent.qos', {n: p['status']['qosClass'] for n, p in pods.items()})
    dirs = {'guaranteed': f'{a.top}/pod{pods["guaranteed"]["metadata"]["uid"]}',
            'limited': f'{a.top}/burstable/pod{pods["limited"]["metadata"]["uid"]}',
            'hog': f'{a.top}/besteffort/pod{pods["hog"]["metadata"]["uid"]}'}
    fact('agent.cgroups', {n: {k: read(f'{CG}/{d}/{k}') for k in ['cpu.max', 'cpu.weight', 'memory.max']} for n, d in dirs.items()})
    fact('agent.tiers', {t: read(f'{CG}/{a.top}/{t}/cpu.weight') for t in ['burstable', 'besteffort']})
    # CPU each pod used over 3 s, in cores (cpu.stat usage_usec is cumulative)
    time.sleep(1)
    u0 = {n: cpu_usage(d) for n, d in dirs.items()}
    t0 = time.time()
    time.sleep(3)
    used = {n: (cpu_usage(d) - u0[n]) / 1e6 / (time.time() - t0) for n, d in dirs.items()}
    fact('agent.coresUsed', {n: round(v, 3) for n, v in used.items()})
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
    wait('every pod gone', lambda: not a.get('/pods')['items'], timeout=180)
    fact('agent.podCgroupsLeft', [d for d in cgroup_dirs(a.top) if '/pod' in d])


def main():
    verb, args = sys.argv[1], sys.argv[2:]
    try:
        if verb == 'start':
            start(args)
        elif verb == 'crictl':
            # the runtimes side by side: each scenario mostly waits on its own runtime process
            errors = {}

            def one(r):
                try:
                    scenario_crictl(r)
                except Exception as e:
                    errors[r] = f'{type(e).__name__}: {e}'
            threads = [threading.Thread(target=one, args=(r,)) for r in args]
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
    print('VMFACTS ' + json.dumps(facts), flush=True)


main()
