// The PyTorch checkpoint reader: the restricted pickle interpreter, both torch.save containers,
// strided tensors of every dtype, and clean one-line refusals of hostile and damaged files.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { IoError } from "../src/io/errors.js";
import { PyDict, unpickle } from "../src/io/pickle.js";
import { readTorchFile } from "../src/io/torch_file.js";
import { torchGlobal } from "../src/io/torch_globals.js";
import { readTorchStateDict } from "../src/io/torch_state_dict.js";
import { FIXTURES, fixture, floats, legacyFile, Pickle, stateDictPickle, zipFile } from "./torch-files.js";
import { expectOneLineError } from "./errors.js";

const expectIoError = (fn: () => unknown, ...patterns: RegExp[]) => expectOneLineError(fn, IoError, ...patterns);

const read = (bytes: Uint8Array, name = "t.pth") => readTorchStateDict(bytes, name);

// ---- real files -------------------------------------------------------------------------------

test("every dtype and view of the fixtures reads as PyTorch holds it, in both containers and deflated", () => {
  const expected = JSON.parse(readFileSync(FIXTURES + "tensors.json", "utf8")) as Record<string, { dtype: string; shape: number[]; values: number[] }>;
  for (const [file, container] of [["tensors_zip.pth", "zip"], ["tensors_legacy.pth", "legacy"], ["tensors_deflate.pth", "zip"]] as const) {
    const sd = read(fixture(file), file);
    assert.equal(sd.container, container);
    assert.deepEqual([...sd.tensors.keys()], Object.keys(expected), file);
    for (const [name, e] of Object.entries(expected)) {
      const t = sd.tensors.get(name)!;
      assert.equal(t.dtype, e.dtype, `${file} ${name}`);
      assert.deepEqual(t.shape, e.shape, `${file} ${name}`);
      assert.deepEqual(Array.from(t.data), e.values.map(Math.fround), `${file} ${name}`);
    }
  }
});

test("the authors' ResNet20-AdderNet.pth (legacy container) reads whole", () => {
  const sd = read(fixture("ResNet20-AdderNet.pth"), "ResNet20-AdderNet.pth");
  assert.equal(sd.container, "legacy");
  assert.equal(sd.tensors.size, 132);
  assert.deepEqual(sd.tensors.get("module.layer3.0.downsample.0.adder")!.shape, [64, 32, 1, 1]);
  assert.deepEqual(sd.tensors.get("module.fc.weight")!.shape, [10, 64, 1, 1]);
  const steps = sd.tensors.get("module.bn2.num_batches_tracked")!;
  assert.equal(steps.dtype, "int64");
  assert.deepEqual(steps.shape, []);
  assert.equal(steps.data[0], 77220);
});

test("a state dict inside a training checkpoint dict is found under its key", () => {
  const sd = read(fixture("conv_lenet5.pth"), "conv_lenet5.pth");
  assert.equal(sd.key, "state_dict");
  assert.equal(sd.tensors.get("conv1.weight")!.dtype, "float16");
});

// ---- refusals: nothing but state-dict globals -----------------------------------------------

test("pickles that call os.system or eval are refused at the global, naming it", () => {
  expectIoError(() => read(fixture("evil_os_system.pth"), "evil_os_system.pth"), /^evil_os_system\.pth: refused/, /posix\.system/, /nothing was run/);
  expectIoError(() => read(fixture("evil_eval_legacy.pth"), "evil_eval_legacy.pth"), /^evil_eval_legacy\.pth: /, /__builtin__\.eval/);
  expectIoError(() => read(fixture("whole_model.pth"), "whole_model.pth"), /torch\.nn\.modules\.linear\.Linear/, /a whole model: save model\.state_dict\(\)/);
  // AdderNet's main.py saves torch.save(net): the user's own model class
  const net = legacyFile(new Pickle().global("resnet20", "ResNet").op(0x29, 0x81).done(), []);
  expectIoError(() => read(net, "addernet"), /global resnet20\.ResNet, .*a whole model: save model\.state_dict\(\)/);
});

test("every global outside the allowlist is refused, by GLOBAL, STACK_GLOBAL or INST", () => {
  const globals = [["os", "system"], ["builtins", "eval"], ["__builtin__", "exec"], ["subprocess", "Popen"], ["torch.storage", "_load_from_bytes"], ["torch", "Size"], ["collections", "defaultdict"], ["torch._utils", "_rebuild_qtensor"], ["torch", "ComplexFloatStorage"]];
  for (const [module, name] of globals) {
    const viaGlobal = new Pickle().global(module!, name!).str("touch pwned").op(0x85, 0x52).done();
    expectIoError(() => unpickle(viaGlobal, { name: "g.pkl", resolveGlobal: torchGlobal }), new RegExp(`${module}.${name}`.replace(/\./g, "\\.")));
    const viaStack = new Pickle(4).str(module!).str(name!).op(0x93).mark().str("x").tuple().op(0x52).done();
    expectIoError(() => unpickle(viaStack, { name: "s.pkl", resolveGlobal: torchGlobal }), /refused/);
  }
  const inst = new Pickle().mark().str("id").op(0x69, ...new TextEncoder().encode("os\nsystem\n")).done();
  expectIoError(() => unpickle(inst, { name: "i.pkl", resolveGlobal: torchGlobal }), /unsupported pickle opcode INST/);
});

test("calls apply only to the allowed constructors", () => {
  const fail = (p: Pickle, pattern: RegExp) => expectIoError(() => unpickle(p.done(), { name: "c.pkl", resolveGlobal: torchGlobal }), pattern);
  fail(new Pickle().str("os.system").op(0x29, 0x52), /REDUCE on a string/);
  fail(new Pickle().global("torch", "FloatStorage").op(0x29, 0x52), /REDUCE on StorageType/);
  fail(new Pickle().global("torch", "FloatStorage").op(0x29, 0x81), /NEWOBJ on StorageType/);
  fail(new Pickle().op(0x5d).op(0x7d).op(0x62), /cannot set the state of a list/);
  fail(new Pickle().global("torch._utils", "_rebuild_tensor_v2").mark().int(1).tuple().op(0x52), /_rebuild_tensor_v2.*takes 6 or 7 arguments/);
  // a persistent id that is not a storage (an old pickled module's source)
  const moduleId = new Pickle().mark().str("module").none().str("src").str("x").tuple().op(0x51).done();
  expectIoError(() => readTorchFile(legacyFile(moduleId, []), "m.pth"), /pickled nn\.Module/);
});

test("malformed pickles give clean errors", () => {
  const fail = (bytes: Uint8Array, pattern: RegExp) => expectIoError(() => unpickle(bytes, { name: "m.pkl", resolveGlobal: torchGlobal }), pattern);
  fail(new Pickle().op(0x52).done(), /stack underflow/);
  fail(new Pickle().op(0x68, 7).done(), /memo entry 7 read before it was written/);
  fail(new Pickle().op(0x7d).mark().str("k").op(0x75).done(), /odd number of dict items/);
  fail(new Pickle().op(0x7d).int(1).op(0x61).done(), /appending to a dict/);
  fail(new Pickle().op(0xff).done(), /unsupported pickle opcode 0xff/);
  fail(new Pickle(6).done(), /protocol 6 is not supported/);
  fail(new Pickle().op(0x8b, ...[0xe8, 0x03, 0, 0]).done(), /1000-byte integer/);
  fail(new Pickle().op(0x58, 0xff, 0xff, 0xff, 0x0f).done(), /truncated/);
  fail(new Pickle().int(1).int(2).done(), /objects left on the stack/);
  fail(new Pickle().raw(new Uint8Array(70_000).fill(0x28)).done(), /more than 65536 marks/);
  fail(new Pickle().str("xyz").done().subarray(0, 9), /truncated/);
  fail(new Pickle().str("xyz").done().subarray(0, 10), /truncated/);
  fail(new Uint8Array(0), /ends where a pickle should start/);
});

test("a tensor must lie inside its storage, with sane sizes and strides", () => {
  const file = (t: Parameters<Pickle["tensor"]>[0]) => legacyFile(stateDictPickle([["w", t]], true), [{ key: "0", data: floats([0, 1, 2, 3, 4, 5]), numel: 6 }]);
  assert.deepEqual(Array.from(read(file({ key: "0", numel: 6, size: [2, 2], stride: [1, 2], offset: 1 })).tensors.get("w")!.data), [1, 3, 2, 4]);
  expectIoError(() => read(file({ key: "0", numel: 6, size: [2, 3], offset: 1 })), /reaches element 6 of a storage of 6/);
  expectIoError(() => read(file({ key: "0", numel: 6, size: [7] })), /reaches element 6/);
  expectIoError(() => read(file({ key: "0", numel: 6, size: [2, 2], stride: [2] })), /2 sizes but 1 strides/);
  expectIoError(() => read(file({ key: "0", numel: 6, size: [1 << 13, 1 << 13], stride: [0, 0] })), /larger than the \d+ read/);
  expectIoError(() => read(file({ key: "0", numel: 6, size: new Array(17).fill(1) })), /at most 16/);
});

// ---- the containers ---------------------------------------------------------------------------

test("legacy container: view storages, record counts, trailing bytes, byte order", () => {
  // a view (PyTorch < 1.0): storage '0' of 6 floats, view 'v' of 3 elements at offset 2
  const withView = new Pickle().orderedDict().mark().str("w").global("torch._utils", "_rebuild_tensor_v2").mark()
    .mark().str("storage").global("torch", "FloatStorage").str("0").str("cpu").int(6).mark().str("v").int(2).int(3).tuple().tuple().op(0x51)
    .int(0).ints([3]).ints([1]).op(0x89).orderedDict().tuple().op(0x52).op(0x75).done();
  const storage = { key: "0", data: floats([0, 1, 2, 3, 4, 5]), numel: 6 };
  assert.deepEqual(Array.from(read(legacyFile(withView, [storage])).tensors.get("w")!.data), [2, 3, 4]);

  const good = legacyFile(stateDictPickle([["w", { key: "0", numel: 6, size: [6] }]], true), [storage]);
  assert.equal(read(good).tensors.get("w")!.data[5], 5);
  expectIoError(() => read(legacyFile(stateDictPickle([["w", { key: "0", numel: 6, size: [6] }]], true), [{ ...storage, numel: 5 }])), /holds 5 elements where its tensors expect 6/);
  expectIoError(() => read(Uint8Array.from([...good, 0])), /1 unexpected bytes after the last storage/);
  expectIoError(() => read(legacyFile(stateDictPickle([], true), [], { littleEndian: false })), /big-endian/);
  expectIoError(() => read(legacyFile(stateDictPickle([], true), [], { protocol: 1000 })), /protocol 1000 is not supported/);
  expectIoError(() => read(new Pickle().int(5).done()), /without torch\.save's magic number/);
});

test("zip container: entries, byte order, TorchScript, CRC, deflate without zlib", () => {
  const pkl = stateDictPickle([["w", { key: "0", numel: 2, size: [2] }]]);
  const ok = zipFile([["archive/data.pkl", pkl], ["archive/byteorder", new TextEncoder().encode("little")], ["archive/data/0", floats([1.5, -2])], ["archive/version", new TextEncoder().encode("3\n")]]);
  assert.deepEqual(Array.from(read(ok).tensors.get("w")!.data), [1.5, -2]);
  expectIoError(() => read(zipFile([["a/data.pkl", pkl]])), /storage "0" has no data\/"0" entry|storage 0 has no data\/0 entry/);
  expectIoError(() => read(zipFile([["a/data.pkl", pkl], ["a/data/0", floats([1])]])), /holds 4 bytes, 2 float32 values need 8/);
  expectIoError(() => read(zipFile([["a/data.pkl", pkl], ["a/byteorder", new TextEncoder().encode("big")]])), /big-endian machine/);
  expectIoError(() => read(zipFile([["m/data.pkl", pkl], ["m/constants.pkl", pkl]])), /TorchScript archive/);
  expectIoError(() => read(zipFile([["m/other.pkl", pkl]])), /without "?m\/data\.pkl"?/);
  expectIoError(() => read(ok.subarray(0, ok.length - 3)), /end-of-central-directory/);

  const zip = fixture("tensors_zip.pth");
  const damaged = zip.slice();
  damaged[zip.length - 400] ^= 0x40; // inside the last entries' data, before the central directory
  expectIoError(() => read(damaged, "d.pth"), /CRC-32|corrupt/);

  const proc = process as unknown as { getBuiltinModule: (n: string) => unknown };
  const original = proc.getBuiltinModule;
  proc.getBuiltinModule = (n: string) => (n === "node:zlib" ? undefined : original.call(process, n));
  try {
    expectIoError(() => read(fixture("tensors_deflate.pth"), "tensors_deflate.pth"), /deflate-compressed, which needs Node's zlib/);
  } finally {
    proc.getBuiltinModule = original;
  }
});

test("the state dict is found, or its absence explained", () => {
  const notDict = legacyFile(new Pickle().op(0x5d).done(), []);
  expectIoError(() => read(notDict), /holds a list, not a state dict/);
  const noStateDict = legacyFile(new Pickle().op(0x7d).mark().str("epoch").int(3).str("acc").int(1).op(0x75).done(), []);
  expectIoError(() => read(noStateDict), /keys epoch, acc but no state dict/, /entry epoch is a number/);
  assert.ok(readTorchFile(noStateDict, "x.pth").root instanceof PyDict);
});

test("every truncation of a valid file of either container gives one clean line, quickly", () => {
  for (const name of ["tensors_legacy.pth", "tensors_zip.pth"]) {
    const bytes = fixture(name);
    const start = performance.now();
    for (let n = 0; n < bytes.length; n += 3) expectIoError(() => read(bytes.subarray(0, n), name));
    assert.ok(performance.now() - start < 5000, `${name}: truncations took ${performance.now() - start} ms`);
  }
});
