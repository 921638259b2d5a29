import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildContainerSpec, criUserString, parseGroup, parsePasswd, parseUserSpec, resolveUser } from '../../../src/runtime/spec/index.js';
import { GROUP, PASSWD, containerConfig, containerInput, errorOf } from './fixtures.js';

describe('passwd and group parsing', () => {
  it('parses entries and skips comments, blanks and malformed lines', () => {
    const users = parsePasswd(PASSWD);
    assert.deepEqual(
      users.map((u) => [u.name, u.uid, u.gid]),
      [
        ['root', 0, 0],
        ['daemon', 1, 1],
        ['nobody', 65534, 65534],
        ['default-user', 1000, 1000],
        ['www', 33, 33],
      ],
    );
    assert.equal(users[0]!.home, '/root');
    assert.equal(users[0]!.shell, '/bin/sh');
    assert.deepEqual(parsePasswd('bad:x:notanumber:0::/:/bin/sh\nok:x:5:6::/:/bin/sh'), [{ name: 'ok', uid: 5, gid: 6, home: '/', shell: '/bin/sh' }]);
  });

  it('parses group members (trimmed)', () => {
    const groups = parseGroup(GROUP);
    assert.deepEqual(groups.find((g) => g.name === 'wheel'), { name: 'wheel', gid: 10, members: ['root', 'default-user'] });
    assert.deepEqual(groups.find((g) => g.name === 'staff')!.members, ['www', 'default-user']);
    assert.deepEqual(groups.find((g) => g.name === 'root')!.members, []);
  });
});

describe('user spec parsing', () => {
  it('splits user and group', () => {
    assert.deepEqual(parseUserSpec('1000'), { user: '1000' });
    assert.deepEqual(parseUserSpec('www:staff'), { user: 'www', group: 'staff' });
  });
  for (const bad of ['', ':', 'a:', ':b', 'a:b:c']) {
    it(`rejects ${JSON.stringify(bad)}`, () => assert.throws(() => parseUserSpec(bad), errorOf('InvalidArgument')));
  }
});

describe('user resolution against the image', () => {
  const cases: { spec: string; want: { uid: number; gid: number; name?: string }; passwd?: string | null }[] = [
    { spec: '0', want: { uid: 0, gid: 0, name: 'root' } },
    { spec: 'www', want: { uid: 33, gid: 33, name: 'www' } },
    { spec: '1000', want: { uid: 1000, gid: 1000, name: 'default-user' } },
    { spec: '4242', want: { uid: 4242, gid: 0, name: undefined } },
    { spec: '33:50', want: { uid: 33, gid: 50, name: 'www' } },
    { spec: 'www:staff', want: { uid: 33, gid: 50, name: 'www' } },
    { spec: '4242:nogroup', want: { uid: 4242, gid: 65534, name: undefined } },
    { spec: 'nobody:1234', want: { uid: 65534, gid: 1234, name: 'nobody' } },
    { spec: '1001', passwd: null, want: { uid: 1001, gid: 0, name: undefined } },
  ];
  for (const c of cases) {
    it(`${c.spec}${c.passwd === null ? ' (no /etc/passwd)' : ''}`, () => {
      assert.deepEqual(resolveUser(c.spec, c.passwd === null ? undefined : PASSWD, GROUP), c.want);
    });
  }
  it('an unknown user name is InvalidArgument', () => {
    assert.throws(() => resolveUser('ghost', PASSWD, GROUP), errorOf('InvalidArgument', /unable to find user ghost/));
    assert.throws(() => resolveUser('www', undefined, GROUP), errorOf('InvalidArgument', /no \/etc\/passwd/));
  });
  it('an unknown group name is InvalidArgument', () => {
    assert.throws(() => resolveUser('www:ghosts', PASSWD, GROUP), errorOf('InvalidArgument', /unable to find group ghosts/));
  });
  it('an out-of-range uid is InvalidArgument', () => {
    assert.throws(() => resolveUser('99999999999', PASSWD, GROUP), errorOf('InvalidArgument'));
  });
});

describe('CRI user string', () => {
  it('follows containerd: username wins over uid, group appended', () => {
    assert.equal(criUserString({}), undefined);
    assert.equal(criUserString({ runAsUser: '1001' }), '1001');
    assert.equal(criUserString({ runAsUser: '1001', runAsGroup: '1002' }), '1001:1002');
    assert.equal(criUserString({ runAsUser: '1', runAsUsername: 'www' }), 'www');
    assert.equal(criUserString({ runAsUsername: 'www', runAsGroup: '7' }), 'www:7');
    assert.equal(criUserString({ runAsUser: '0' }), '0');
  });
  it('run_as_group without a user is InvalidArgument', () => {
    assert.throws(() => criUserString({ runAsGroup: '1002' }), errorOf('InvalidArgument', /without run_as_user/));
    assert.throws(() => buildContainerSpec(containerInput({ config: containerConfig({}, { run_as_group: { value: '1002' } }) })), errorOf('InvalidArgument'));
  });
});

describe('container process user', () => {
  const user = (sc: Parameters<typeof containerConfig>[1], imageUser?: string, extra: Partial<Parameters<typeof containerInput>[0]> = {}) =>
    buildContainerSpec(containerInput({ config: containerConfig({}, sc), image: { cmd: ['sh'], user: imageUser }, ...extra })).process.user;

  it('defaults to root with root\'s groups', () => {
    assert.deepEqual(user(undefined), { uid: 0, gid: 0, additionalGids: [0, 10] });
  });
  it('image USER by name', () => {
    assert.deepEqual(user(undefined, 'www'), { uid: 33, gid: 33, additionalGids: [33, 50] });
  });
  it('image USER name:group', () => {
    assert.deepEqual(user(undefined, 'www:nogroup'), { uid: 33, gid: 65534, additionalGids: [50, 65534] });
  });
  it('image USER uid:gid not in passwd', () => {
    assert.deepEqual(user(undefined, '5000:5001'), { uid: 5000, gid: 5001, additionalGids: [5001] });
  });
  it('CRI run_as_user overrides the image USER and takes the primary group from passwd', () => {
    assert.deepEqual(user({ run_as_user: { value: '1000' } }, 'www'), { uid: 1000, gid: 1000, additionalGids: [10, 50, 1000, 50000] });
  });
  it('CRI run_as_user + run_as_group', () => {
    assert.deepEqual(user({ run_as_user: { value: '1001' }, run_as_group: { value: '1002' } }), { uid: 1001, gid: 1002, additionalGids: [1002] });
  });
  it('CRI run_as_username', () => {
    assert.deepEqual(user({ run_as_username: 'nobody' }), { uid: 65534, gid: 65534, additionalGids: [65534] });
  });
  it('CRI run_as_username unknown in the image is InvalidArgument', () => {
    assert.throws(() => user({ run_as_username: 'ghost' }), errorOf('InvalidArgument', /ghost/));
  });
  it('image USER name without /etc/passwd is InvalidArgument', () => {
    assert.throws(() => user(undefined, 'www', { passwd: undefined }), errorOf('InvalidArgument'));
  });

  it('SupplementalGroupsPolicy Merge (default): image groups + CRI groups + primary, sorted', () => {
    // critest: uid 1000 in group 50000 in the image, supplemental 1234 → 1000 1234 50000 (+ our wheel/staff)
    const u = user({ run_as_user: { value: '1000' }, supplemental_groups: ['1234'] });
    assert.deepEqual(u, { uid: 1000, gid: 1000, additionalGids: [10, 50, 1000, 1234, 50000] });
  });
  it('SupplementalGroupsPolicy Strict: only the primary group and CRI groups', () => {
    const u = user({ run_as_user: { value: '1000' }, supplemental_groups: ['1234', '1234', '5'], supplemental_groups_policy: 'Strict' });
    assert.deepEqual(u, { uid: 1000, gid: 1000, additionalGids: [5, 1000, 1234] });
  });
  it('supplemental groups without passwd/group files', () => {
    const u = user({ supplemental_groups: ['1234', '5678'] }, undefined, { passwd: undefined, group: undefined });
    assert.deepEqual(u, { uid: 0, gid: 0, additionalGids: [0, 1234, 5678] });
  });
  it('a group named like the user does not count as a supplementary group', () => {
    const u = user(undefined, 'default-user', { group: 'default-user:x:1000:default-user\nother:x:7:default-user' });
    assert.deepEqual(u.additionalGids, [7, 1000]);
  });
  it('an invalid supplemental group is InvalidArgument', () => {
    assert.throws(() => user({ supplemental_groups: ['-1'] }), errorOf('InvalidArgument'));
  });
});
