/**
 * The --json documents against the JSON Schemas shipped in schemas/: real
 * output of real commands (a plan of QEMU's tree, inspect of several files
 * including a bad one, doctor of a patched kernel) must validate, and the
 * schemas must refuse what breaks the conventions.
 */
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import AjvModule from 'ajv';

// ajv is CommonJS: under NodeNext its default export is the module object.
const Ajv = AjvModule.default;
import { fixture, repoRoot } from '../../test/support.js';
import { fakeHost, run } from '../../test/host.js';
import { makeArm64Image } from '../../test/kernels.js';
import { VERSION } from './main.js';

const tmp = mkdtempSync(join(tmpdir(), 'hb-json-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const image = join(tmp, 'Image');
writeFileSync(image, makeArm64Image({ textOffset: 0, imageSize: 0x1400000, fileSize: 0x1000000 }));
const virt64 = fixture('dtb', 'qemu-virt-arm64.dtb');

const ajv = new Ajv({ allErrors: true, strict: true });
const schema = (name: string) => ajv.compile(JSON.parse(readFileSync(join(repoRoot, 'schemas', `${name}.schema.json`), 'utf8')));
const valid = (check: ReturnType<typeof schema>, doc: unknown) => assert.ok(check(doc), JSON.stringify(check.errors, null, 2));

describe('--json documents and their schemas', () => {
  const plan = schema('plan');
  const inspect = schema('inspect');
  const doctor = schema('doctor');

  it('a hardboot plan: schemaVersion, version from package.json, the memory map and the hardboot page explicit', async () => {
    const hardboot = { interface: 'directory' as const, page: 0x7fff0000, flag: 0x4, ready: true };
    const r = await run(['--load-hardboot', image, '--mem-min=0x50000000', '--dry-run', '--json'], fakeHost({ arch: 'arm64', fdt: virt64, hardboot }));
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    valid(plan, j);
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
    assert.deepEqual([j.schemaVersion, j.version, VERSION], [1, pkg.version, pkg.version]);
    assert.equal(j.hardbootPage, '0x7fff0000');
    assert.deepEqual(j.memory.ram, [{ start: '0x40000000', end: '0x80000000' }]);
    assert.equal(j.flags, '0xb70004');
    assert.ok(!plan({ ...j, dtb: { ...j.dtb, size: 4096 } }), 'a size as a number breaks the convention');
  });

  it('inspect: always an array, one element per file, errors included', async () => {
    const bad = join(tmp, 'bad');
    writeFileSync(bad, 'nothing');
    const r = await run(['inspect', virt64, image, bad, '--json'], fakeHost());
    assert.equal(r.code, 3);
    const j = JSON.parse(r.out);
    valid(inspect, j);
    assert.deepEqual(j.map((x: { name: string }) => x.name), [virt64, image, bad]);
    const one = JSON.parse((await run(['inspect', virt64, '--json'], fakeHost())).out);
    assert.ok(Array.isArray(one) && one.length === 1);
    valid(inspect, one);
  });

  it('doctor: parsed facts, never the raw files', async () => {
    const config = 'CONFIG_ARM64=y\nCONFIG_KEXEC=y\nCONFIG_KEXEC_HARDBOOT=y\nCONFIG_KEXEC_HARDBOOT_PAGE=0x47fff000\nCONFIG_IKCONFIG_PROC=y\n';
    const h = fakeHost({
      arch: 'arm64',
      hardboot: { interface: 'directory', page: 0x47fff000, flag: 0x4, recordVersion: 2, reset: 'psci-system-reset', ready: true, takeover: true, check: 'full' },
      sys: {
        '/proc/config.gz': gzipSync(config),
        '/sys/kernel/kexec_loaded': '0\n',
        '/sys/firmware/fdt': readFileSync(virt64),
        '/proc/self/status': 'Name:\tnode\nUid:\t0\t0\t0\t0\nCapEff:\t000001ffffffffff\n',
        '/sys/kernel/security/lockdown': '[none] integrity confidentiality\n',
        '/proc/sys/kernel/kexec_load_disabled': '0\n',
      },
    });
    const r = await run(['doctor', '--json'], h);
    const j = JSON.parse(r.out);
    valid(doctor, j);
    assert.deepEqual(j.inputs, {
      live: true,
      configSource: '/proc/config.gz',
      arch: 'arm64',
      hardboot: { interface: 'directory', page: '0x47fff000', flag: '0x4', recordVersion: 2, reset: 'psci-system-reset', ready: true, takeover: true, check: 'full' },
      kexecLoaded: false,
      firmwareFdt: true,
      euid: 0,
      capSysBoot: true,
      lockdown: 'none',
      kexecLoadDisabled: false,
    });
    assert.doesNotMatch(r.out, /CapEff|Name:/);
  });
});
