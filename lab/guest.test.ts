import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DENIED_PACKAGES, chooseDependencies, closure, parseAptDepends, parsePrintUris } from './debs.js';

// Real `apt-cache depends --no-recommends ... kexec-tools:armhf nodejs:arm64 libnode108:arm64`
// output from Debian 12 (trimmed), with a virtual package, its providers and an "a | b" group.
const APT = `kexec-tools:armhf
  Depends: libc6:armhf
  Depends: libxenmisc4.17:armhf
 |Depends: <debconf:armhf>
    debconf
  Depends: <debconf-2.0:armhf>
    cdebconf:armhf
    debconf
  Depends: <debconf:armhf>
    debconf
nodejs:arm64
  Depends: libc6:arm64
  Depends: libnode108:arm64
libnode108:arm64
  Depends: libbrotli1:arm64
  Depends: <node-acorn:arm64>
    node-acorn
  PreDepends: libgcc-s1:arm64
busybox-static:arm64
`;

describe('apt-cache depends parsing', () => {
  const m = parseAptDepends(APT);
  it('groups alternatives and keeps virtual packages with their providers', () => {
    assert.deepEqual([...m.keys()], ['kexec-tools:armhf', 'nodejs:arm64', 'libnode108:arm64', 'busybox-static:arm64']);
    const k = m.get('kexec-tools:armhf')!;
    assert.equal(k.length, 4);
    assert.deepEqual(k[2], [
      { name: 'debconf:armhf', virtual: true, providers: ['debconf'] },
      { name: 'debconf-2.0:armhf', virtual: true, providers: ['cdebconf:armhf', 'debconf'] },
    ]);
    assert.deepEqual(m.get('busybox-static:arm64'), []);
  });
  it('chooses first alternatives, resolves virtual ones, drops denied groups', () => {
    assert.deepEqual(chooseDependencies(m.get('kexec-tools:armhf')!, DENIED_PACKAGES, 'armhf'), ['libc6:armhf', 'libxenmisc4.17:armhf']);
    assert.deepEqual(chooseDependencies(m.get('libnode108:arm64')!, DENIED_PACKAGES, 'arm64'), ['libbrotli1:arm64', 'node-acorn', 'libgcc-s1:arm64']);
  });
  it('prefers the provider built for the target architecture', () => {
    // node-acorn (Architecture: all) depends on "nodejs:any | nodejs".
    const g = parseAptDepends('node-acorn\n |Depends: <nodejs:any>\n    nodejs\n    nodejs:armhf\n    nodejs:arm64\n  Depends: nodejs\n');
    assert.deepEqual(chooseDependencies(g.get('node-acorn')!, DENIED_PACKAGES, 'arm64'), ['nodejs:arm64']);
    assert.deepEqual(chooseDependencies(g.get('node-acorn')!, DENIED_PACKAGES, 'armhf'), ['nodejs:armhf']);
  });
  it('fails on a virtual package nobody provides', () => {
    assert.throws(() => chooseDependencies([[{ name: 'ghost:arm64', virtual: true, providers: [] }]], DENIED_PACKAGES, 'arm64'), /no package provides ghost:arm64/);
  });
});

describe('closure', () => {
  // apt-cache -o APT::Architecture=arm64 ... depends --recurse kexec-tools nodejs (trimmed).
  const REC = `kexec-tools
  Depends: libc6
 |Depends: <debconf>
    debconf
  Depends: <debconf-2.0>
    cdebconf
    debconf
nodejs
  Depends: libc6
  Depends: node-acorn
libc6
  Depends: libgcc-s1
debconf
  PreDepends: perl-base
perl-base
  PreDepends: libc6
libgcc-s1
  Depends: libc6
node-acorn
 |Depends: <nodejs:any>
    nodejs
  Depends: nodejs
<debconf-2.0>
`;
  it('follows chosen dependencies only, through cycles, skipping denied plumbing', () => {
    assert.deepEqual(closure(parseAptDepends(REC), ['kexec-tools', 'nodejs'], 'arm64'), ['kexec-tools', 'libc6', 'libgcc-s1', 'node-acorn', 'nodejs']);
  });
  it('fails when apt said nothing about a package it must have', () => {
    assert.throws(() => closure(parseAptDepends(REC), ['busybox-static'], 'arm64'), /no dependencies for busybox-static \(arm64\)/);
  });
});

describe('apt-get --print-uris parsing', () => {
  it('reads URL, file name, size and SHA256', () => {
    const line =
      "'http://deb.debian.org/debian/pool/main/n/nodejs/nodejs_18.20.4%2bdfsg-1%7edeb12u2_arm64.deb' nodejs_18.20.4+dfsg-1~deb12u2_arm64.deb 321276 SHA256:5ed6d1460b0781f94320f5cddee7ca3acd8f07b94e2e7bff7878e036d0b33c3f";
    assert.deepEqual(parsePrintUris(`${line}\nnoise\n`), [
      {
        url: 'http://deb.debian.org/debian/pool/main/n/nodejs/nodejs_18.20.4%2bdfsg-1%7edeb12u2_arm64.deb',
        file: 'nodejs_18.20.4+dfsg-1~deb12u2_arm64.deb',
        size: 321276,
        sha256: '5ed6d1460b0781f94320f5cddee7ca3acd8f07b94e2e7bff7878e036d0b33c3f',
      },
    ]);
  });
});
