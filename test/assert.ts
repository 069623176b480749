/** Assertions shared by the format tests. */
import assert from 'node:assert/strict';
import { FormatError } from '../src/errors.js';

/** `fn` throws a FormatError of `format`, at `offset` when given, with a message matching `message`. */
export function throwsFormat(fn: () => unknown, format: string, offset?: number, message?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof FormatError, `expected a FormatError, got ${String(e)}`);
    assert.equal(e.format, format, e.message);
    if (offset !== undefined) assert.equal(e.offset, offset, e.message);
    if (message) assert.match(e.message, message);
    return true;
  });
}

/** Runs `fn`; a FormatError is a fine outcome, anything else thrown fails the test. */
export function onlyFormatErrors(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof FormatError)) throw e;
  }
}

/** `fn` throws a FormatError whose whole message is `message`. */
export function throwsExactly(fn: () => unknown, message: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof FormatError, `expected a FormatError, got ${String(e)}`);
    assert.equal(e.message, message);
    return true;
  });
}

/** Byte equality whatever the views' types (Buffer, Uint8Array) and offsets. */
export function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.length).equals(b);
}
