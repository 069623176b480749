import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from './env.js';
import { LabError } from './env.js';
import { checkKexecFlags, kernelKey, KernelInputs, missingFromConfig, parseFragment } from './kernel.js';
import { HARDBOOT_PAGE } from './scenarios.js';

describe('parseFragment', () => {
  it('reads set and unset options with their lines, skipping comments', () => {
    const text = '# why\nCONFIG_A=y\n\n# CONFIG_B is not set\nCONFIG_C="x y"\n  # indented comment\nCONFIG_D=0x10\n';
    assert.deepEqual(parseFragment(text, 'f.config'), [
      { name: 'CONFIG_A', value: 'y', line: 2, file: 'f.config' },
      { name: 'CONFIG_B', value: null, line: 4, file: 'f.config' },
      { name: 'CONFIG_C', value: '"x y"', line: 5, file: 'f.config' },
      { name: 'CONFIG_D', value: '0x10', line: 7, file: 'f.config' },
    ]);
  });
  it('rejects a line that is neither an option nor a comment', () => {
    assert.throws(() => parseFragment('CONFIG_A=y\nCONFIG_B y\n', 'f.config'), (e: unknown) => {
      assert.ok(e instanceof LabError);
      assert.match(e.message, /^f\.config:2: expected CONFIG_X=value .* found "CONFIG_B y"$/);
      return true;
    });
  });
  it('parses every fragment in kernel/configs/ and each option has a comment above it', () => {
    for (const f of ['common.config', 'arm64.config', 'arm.config']) {
      const path = join(repoRoot, 'kernel', 'configs', f);
      const text = readFileSync(path, 'utf8');
      const opts = parseFragment(text, path);
      assert.ok(opts.length > 0);
      const lines = text.split('\n');
      for (const o of opts) {
        const above = lines[o.line - 2] ?? '';
        assert.ok(above.startsWith('#') && !/is not set$/.test(above), `${f}:${o.line} ${o.name} has no comment line above it`);
      }
    }
  });
});

describe('missingFromConfig', () => {
  const opts = parseFragment('CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C=y\nCONFIG_D=y\n# CONFIG_E is not set\n', 'frag');
  it('accepts a config that honours every line', () => {
    assert.deepEqual(missingFromConfig(opts, 'CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C=y\nCONFIG_D=y\n'), []);
  });
  it('names each line the config lost, with what it got', () => {
    assert.deepEqual(missingFromConfig(opts, 'CONFIG_A=y\nCONFIG_B=y\nCONFIG_C=m\n# CONFIG_D is not set\n'), [
      'frag:2: # CONFIG_B is not set (got CONFIG_B=y)',
      'frag:3: CONFIG_C=y (got m)',
      'frag:4: CONFIG_D=y (got not set)',
    ]);
  });
});

describe('kernelKey', () => {
  const inp: KernelInputs = {
    arch: 'arm64',
    version: '6.1',
    tarball: '/x.tar.xz',
    sourceVersion: 'linux-source-6.1_6.1.176-1',
    fragments: [{ path: '/r/common.config', text: 'CONFIG_A=y\n' }],
    patches: [],
  };
  it('changes with every input and not otherwise', () => {
    const k = kernelKey(inp);
    assert.match(k, /^[0-9a-f]{16}$/);
    assert.equal(kernelKey({ ...inp }), k);
    assert.equal(kernelKey({ ...inp, tarball: '/elsewhere.tar.xz' }), k, 'the path is not an input, the version is');
    assert.notEqual(kernelKey({ ...inp, arch: 'arm' }), k);
    assert.notEqual(kernelKey({ ...inp, sourceVersion: 'linux-source-6.1_6.1.177-1' }), k);
    assert.notEqual(kernelKey({ ...inp, fragments: [{ path: '/r/common.config', text: 'CONFIG_A=n\n' }] }), k);
    assert.notEqual(kernelKey({ ...inp, patches: [{ path: '/p/0001-x.patch', bytes: new Uint8Array([1]) }] }), k);
  });
  it("names each fragment by its place under kernel/configs: a version's own fragment is not the shared one", () => {
    const configs = join(repoRoot, 'kernel', 'configs');
    const shared = kernelKey({ ...inp, fragments: [{ path: join(configs, 'arm.config'), text: 'CONFIG_A=y\n' }] });
    const own = kernelKey({ ...inp, fragments: [{ path: join(configs, 'linux-6.12', 'arm.config'), text: 'CONFIG_A=y\n' }] });
    assert.notEqual(shared, own);
  });
});

describe('the lab hardboot page', () => {
  it("is the one each arch's kernel fragment builds in, and only there", () => {
    const configs = join(repoRoot, 'kernel', 'configs');
    const page = /^CONFIG_KEXEC_HARDBOOT_PAGE=(0x[0-9a-f]+)$/m;
    assert.equal(page.exec(readFileSync(join(configs, 'common.config'), 'utf8')), null, 'the page is per arch, not in common.config');
    for (const arch of ['arm', 'arm64'] as const) {
      const m = page.exec(readFileSync(join(configs, `${arch}.config`), 'utf8'));
      assert.ok(m, `CONFIG_KEXEC_HARDBOOT_PAGE in kernel/configs/${arch}.config`);
      assert.equal(Number(m[1]), HARDBOOT_PAGE[arch]);
    }
  });
});

describe('checkKexecFlags: the hardboot bit against the uapi header it lands in', () => {
  const header = (extra: string) => `#define KEXEC_ON_CRASH\t\t0x00000001
#define KEXEC_PRESERVE_CONTEXT\t0x00000002
${extra}
#define KEXEC_ARCH_MASK\t\t0xffff0000
#define KEXEC_FILE_UNLOAD\t0x00000001
#define KEXEC_FILE_NO_INITRAMFS\t0x00000004
#define KEXEC_ARCH_ARM     (40 << 16)
#define KEXEC_ARCH_DEFAULT ( 0 << 16)
#define KEXEC_SEGMENT_MAX 16
`;
  it('accepts a bit no other kexec_load flag has (kexec_file_load flags and arch values are apart)', () => {
    assert.deepEqual(checkKexecFlags(header('#define KEXEC_HARDBOOT\t\t0x00000004')).problems, []);
    const r = checkKexecFlags(header('#define KEXEC_UPDATE_ELFCOREHDR\t0x00000004\n#define KEXEC_CRASH_HOTPLUG_SUPPORT 0x00000008\n#define KEXEC_HARDBOOT\t\t0x00008000'));
    assert.deepEqual(r.problems, []);
    assert.deepEqual([...r.flags.keys()], ['KEXEC_ON_CRASH', 'KEXEC_PRESERVE_CONTEXT', 'KEXEC_UPDATE_ELFCOREHDR', 'KEXEC_CRASH_HOTPLUG_SUPPORT', 'KEXEC_HARDBOOT']);
  });
  it('fails a clash, a missing or doubled define, and a value that is not one low bit', () => {
    assert.deepEqual(checkKexecFlags(header('#define KEXEC_UPDATE_ELFCOREHDR\t0x00000004\n#define KEXEC_HARDBOOT\t\t0x00000004')).problems, [
      'KEXEC_HARDBOOT (0x4) shares its bit with KEXEC_UPDATE_ELFCOREHDR (0x4)',
    ]);
    assert.deepEqual(checkKexecFlags(header('')).problems, ['KEXEC_HARDBOOT is not defined']);
    assert.deepEqual(checkKexecFlags(header('#define KEXEC_HARDBOOT 0x4\n#define KEXEC_HARDBOOT 0x8')).problems, ['KEXEC_HARDBOOT is defined twice']);
    assert.deepEqual(checkKexecFlags(header('#define KEXEC_HARDBOOT 0x100000000')).problems, ['KEXEC_HARDBOOT is 0x100000000: expected one bit of the low 16']);
    assert.deepEqual(checkKexecFlags(header('#define KEXEC_HARDBOOT 0x6')).problems, ['KEXEC_HARDBOOT is 0x6: expected one bit of the low 16', 'KEXEC_HARDBOOT (0x6) shares its bit with KEXEC_PRESERVE_CONTEXT (0x2)']);
  });
  it('passes on every committed series: the header hunk as the series leaves it (context and added lines)', () => {
    const series = readdirSync(join(repoRoot, 'kernel', 'patches')).filter((d) => d.startsWith('linux-'));
    assert.ok(series.includes('linux-6.1'));
    for (const d of series) {
      const hunks = readdirSync(join(repoRoot, 'kernel', 'patches', d))
        .filter((f) => f.endsWith('.patch'))
        .map((f) => readFileSync(join(repoRoot, 'kernel', 'patches', d, f), 'utf8'))
        .flatMap((t) => t.split(/^diff --git /m).filter((part) => part.startsWith('a/include/uapi/linux/kexec.h ')));
      assert.equal(hunks.length, 1, `${d}: one patch changes include/uapi/linux/kexec.h`);
      const after = hunks[0]!
        .split('\n')
        .filter((l) => (l.startsWith(' ') || l.startsWith('+')) && !l.startsWith('+++'))
        .map((l) => l.slice(1))
        .join('\n');
      assert.deepEqual(checkKexecFlags(after).problems, [], d);
    }
  });
});
