import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SystemdUnits } from '../../../src/host/index.js';

/**
 * A fake busctl and systemctl: each appends its argv (one JSON line) to calls.log, and answers as
 * the files in the folder say (exists: StartTransientUnit fails with systemd's UnitExists; a
 * started slice gets its cgroup folder under cgroup/, as systemd's job makes it).
 */
async function fakeSystemd(t: { after: (fn: () => Promise<void>) => void }) {
  const dir = await mkdtemp(join(tmpdir(), 'cgd-systemd-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const log = join(dir, 'calls.log');
  const cgroup = join(dir, 'cgroup');
  await mkdir(cgroup);
  const record = `printf '%s\\n' "$(node -e 'console.log(JSON.stringify(process.argv.slice(1)))' "$(basename "$0")" "$@")" >> ${log}`;
  await writeFile(
    join(dir, 'busctl'),
    `#!/bin/sh
${record}
if [ "$5" = StartTransientUnit ]; then
  if [ -e ${dir}/exists ]; then echo "Call failed: Unit $7 was already loaded or has a fragment file." >&2; exit 1; fi
  path=$(echo "$7" | sed 's/\\.slice$//' | awk -F- '{p=""; out=""; for (i=1;i<=NF;i++) { p = (i==1 ? $i : p "-" $i); out = out "/" p ".slice" } print out}')
  mkdir -p ${cgroup}$path
  echo "o \\"/org/freedesktop/systemd1/job/1\\""
fi
exit 0
`,
  );
  await writeFile(
    join(dir, 'systemctl'),
    `#!/bin/sh
${record}
if [ -e ${dir}/not-loaded ]; then echo "Failed to stop $2: Unit $2 not loaded." >&2; exit 5; fi
if [ -e ${dir}/broken ]; then echo "Failed to connect to bus: No such file or directory" >&2; exit 1; fi
exit 0
`,
  );
  await chmod(join(dir, 'busctl'), 0o755);
  await chmod(join(dir, 'systemctl'), 0o755);
  const units = new SystemdUnits({ busctl: join(dir, 'busctl'), systemctl: join(dir, 'systemctl'), cgroupRoot: cgroup });
  const calls = async () => (await readFile(log, 'utf8').catch(() => '')).split('\n').filter(Boolean).map((l) => JSON.parse(l) as string[]);
  return { dir, cgroup, units, calls };
}

const MANAGER = ['org.freedesktop.systemd1', '/org/freedesktop/systemd1', 'org.freedesktop.systemd1.Manager'];

test('a new slice is started with StartTransientUnit and its properties; one already there gets SetUnitProperties', async (t) => {
  const f = await fakeSystemd(t);
  await f.units.ensureSlice('kubepods-burstable.slice', [['CPUWeight', 't', '39'], ['MemoryMax', 't', '18446744073709551615']]);
  assert.deepEqual(await f.calls(), [
    ['busctl', 'call', ...MANAGER, 'StartTransientUnit', 'ssa(sv)a(sa(sv))', 'kubepods-burstable.slice', 'replace', '3', 'Description', 's', 'corelet kubepods-burstable.slice', 'CPUWeight', 't', '39', 'MemoryMax', 't', '18446744073709551615', '0'],
  ]);
  await writeFile(join(f.dir, 'exists'), '');
  await f.units.ensureSlice('kubepods-burstable.slice', [['CPUWeight', 't', '40']]);
  assert.deepEqual((await f.calls()).slice(1), [
    ['busctl', 'call', ...MANAGER, 'StartTransientUnit', 'ssa(sv)a(sa(sv))', 'kubepods-burstable.slice', 'replace', '2', 'Description', 's', 'corelet kubepods-burstable.slice', 'CPUWeight', 't', '40', '0'],
    ['busctl', 'call', ...MANAGER, 'SetUnitProperties', 'sba(sv)', 'kubepods-burstable.slice', 'true', '1', 'CPUWeight', 't', '40'],
  ]);
});

test('stopUnit runs systemctl stop; a unit not loaded is already gone; other failures say what failed', async (t) => {
  const f = await fakeSystemd(t);
  await f.units.stopUnit('kubepods-besteffort-podx.slice');
  assert.deepEqual(await f.calls(), [['systemctl', 'stop', 'kubepods-besteffort-podx.slice']]);
  await writeFile(join(f.dir, 'not-loaded'), '');
  await f.units.stopUnit('kubepods-besteffort-podx.slice');
  await rm(join(f.dir, 'not-loaded'));
  await writeFile(join(f.dir, 'broken'), '');
  await assert.rejects(f.units.stopUnit('a.slice'), /stopping a.slice: systemctl stop: Failed to connect to bus/);
});

test('a missing busctl is reported as such', async () => {
  const units = new SystemdUnits({ busctl: '/nonexistent/busctl', systemctl: '/nonexistent/systemctl' });
  await assert.rejects(units.ensureSlice('a.slice', []), /busctl StartTransientUnit: \/nonexistent\/busctl not found \(is systemd installed\?\)/);
});
