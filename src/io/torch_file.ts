// The two containers of torch.save, read into the unpickled object with its tensors' storages
// attached:
// - zip (PyTorch ≥ 1.6): <archive>/data.pkl is the object; persistent id
//   ('storage', StorageType, key, location, numel) names <archive>/data/<key>; <archive>/byteorder,
//   when present, must say little.
// - legacy (before 1.6): five pickles in a row (magic number, protocol version 1001, system info,
//   the object, the list of storage keys) and then, for each key in that order, the element
//   count as a little-endian int64 followed by the storage's bytes. Its persistent id is
//   ('storage', StorageType, root_key, location, numel, view_metadata).
// Anything else (a TorchScript archive, the pre-0.4 tar format, a pickled nn.Module, a pickle of
// something else) is refused with a one-line IoError naming the file. Pure: no Node imports.
import { IoError } from "./errors.js";
import { printable } from "./json.js";
import { PyDict, PyTuple, kind, unpickle } from "./pickle.js";
import { torchGlobal, torchRefusalHint } from "./torch_globals.js";
import { StorageType, TorchStorage } from "./torch_tensor.js";
import { isZip, readZipDirectory, zipEntryData, type ZipEntry } from "./zip.js";

export interface TorchFile {
  container: "zip" | "legacy";
  /** The unpickled object: PyDict, PyTuple, lists, scalars and TorchTensors. */
  root: unknown;
}

const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL = 1001;

export function readTorchFile(bytes: Uint8Array, name: string): TorchFile {
  if (isZip(bytes)) return readZipContainer(bytes, name);
  if (bytes.length >= 2 && bytes[0] === 0x80 && bytes[1] === 0x02) return readLegacyContainer(bytes, name);
  if (bytes.length > 262 && latin1At(bytes, 257, 5) === "ustar") throw new IoError(`${name}: a tar checkpoint from PyTorch before 0.4; load it with PyTorch and save it again with torch.save`);
  throw new IoError(`${name}: not a PyTorch checkpoint (neither a zip archive nor a legacy torch.save pickle)`);
}

function latin1At(bytes: Uint8Array, at: number, n: number): string {
  return String.fromCharCode(...bytes.subarray(at, at + n));
}

/** Persistent ids name storages; one TorchStorage per key, shared by every tensor that views it. */
class Storages {
  readonly byKey = new Map<string, TorchStorage>();
  constructor(private readonly name: string) {}

  fail(problem: string): IoError {
    return new IoError(`${this.name}: ${problem}`);
  }

  /** The common part of both persistent-id forms: ('storage', type, key, location, numel, …). */
  declare(pid: unknown, length: number): { storage: TorchStorage; items: readonly unknown[] } {
    const items = pid instanceof PyTuple ? pid.items : null;
    if (!items || items.length !== length) {
      if (items && items[0] === "module") throw this.fail("holds a pickled nn.Module (torch.save(model)); save its state dict instead: torch.save(model.state_dict(), FILE)");
      throw this.fail(`a persistent id that is not a storage (${kind(pid)} of ${items?.length ?? 0} items)`);
    }
    const [tag, type, key, , numel] = items;
    if (tag !== "storage") throw this.fail(`a persistent id of kind ${printable(String(tag))}; only storages are read`);
    if (!(type instanceof StorageType)) throw this.fail(`a storage of unknown type (${kind(type)})`);
    if (typeof key !== "string" || key.length > 64) throw this.fail("a storage key that is not a short string");
    if (typeof numel !== "number" || !Number.isSafeInteger(numel) || numel < 0) throw this.fail(`storage ${printable(key)} has no valid element count`);
    const known = this.byKey.get(key);
    if (known) {
      if (known.type.dtype !== type.dtype || known.numel !== numel) throw this.fail(`storage ${printable(key)} is declared twice with different types or sizes`);
      return { storage: known, items };
    }
    const storage = new TorchStorage(type, key, numel);
    this.byKey.set(key, storage);
    return { storage, items };
  }
}

// ---- zip ------------------------------------------------------------------------------------

function readZipContainer(bytes: Uint8Array, name: string): TorchFile {
  const entries = readZipDirectory(bytes, name);
  const byName = new Map(entries.map((e) => [e.name, e]));
  const first = entries[0]?.name ?? "";
  const prefix = first.includes("/") ? first.slice(0, first.indexOf("/") + 1) : "";
  const pkl = byName.get(`${prefix}data.pkl`);
  if (!pkl) throw new IoError(`${name}: a zip archive without ${printable(`${prefix}data.pkl`)}: not a torch.save file`);
  if (byName.has(`${prefix}constants.pkl`) || entries.some((e) => e.name.startsWith(`${prefix}code/`))) {
    throw new IoError(`${name}: a TorchScript archive (torch.jit.save); save the model's state dict with torch.save(model.state_dict(), FILE) instead`);
  }
  const order = byName.get(`${prefix}byteorder`);
  if (order) {
    const text = new TextDecoder().decode(zipEntryData(bytes, order, name)).trim();
    if (text !== "little") throw new IoError(`${name}: saved on a ${printable(text, 12)}-endian machine; only little-endian checkpoints are read`);
  }
  const storages = new Storages(name);
  const { value, end } = unpickle(zipEntryData(bytes, pkl, name), {
    name,
    resolveGlobal: torchGlobal,
    refusalHint: torchRefusalHint,
    persistentLoad: (pid) => storages.declare(pid, 5).storage,
  });
  if (end !== pkl.size) throw new IoError(`${name}: ${pkl.size - end} bytes after the end of data.pkl (corrupt)`);
  for (const storage of storages.byKey.values()) storage.bytes = zipStorage(bytes, byName.get(`${prefix}data/${storage.key}`), storage, name);
  return { container: "zip", root: value };
}

function zipStorage(bytes: Uint8Array, entry: ZipEntry | undefined, s: TorchStorage, name: string): Uint8Array {
  if (!entry) throw new IoError(`${name}: storage ${printable(s.key)} has no data/${printable(s.key)} entry in the archive`);
  const data = zipEntryData(bytes, entry, name);
  const want = s.numel * s.type.bytes;
  if (data.length !== want) throw new IoError(`${name}: storage ${printable(s.key)} holds ${data.length} bytes, ${s.numel} ${s.type.dtype} values need ${want}`);
  return data;
}

// ---- legacy ---------------------------------------------------------------------------------

function readLegacyContainer(bytes: Uint8Array, name: string): TorchFile {
  const fail = (problem: string) => new IoError(`${name}: ${problem}`);
  const plain = (offset: number) => unpickle(bytes, { name, offset, resolveGlobal: () => undefined });
  const magic = plain(0);
  if (magic.value !== LEGACY_MAGIC) throw fail("not a PyTorch checkpoint (a pickle without torch.save's magic number)");
  const protocol = plain(magic.end);
  if (protocol.value !== LEGACY_PROTOCOL) throw fail(`legacy torch.save protocol ${printable(String(protocol.value))} is not supported (expected ${LEGACY_PROTOCOL})`);
  const sysInfo = plain(protocol.end);
  if (!(sysInfo.value instanceof PyDict) || sysInfo.value.entries.get("little_endian") !== true) throw fail("saved on a big-endian machine or with corrupt system info; only little-endian checkpoints are read");

  const storages = new Storages(name);
  // Views of a root storage (files of PyTorch before 1.0): their bytes are a slice of the root's.
  const views = new Map<string, { storage: TorchStorage; root: TorchStorage; offset: number }>();
  const object = unpickle(bytes, {
    name,
    offset: sysInfo.end,
    resolveGlobal: torchGlobal,
    refusalHint: torchRefusalHint,
    persistentLoad: (pid) => {
      const { storage, items } = storages.declare(pid, 6);
      if (items[5] === null) return storage;
      const v = items[5] instanceof PyTuple ? items[5].items : [];
      const [key, offset, size] = v;
      if (v.length !== 3 || typeof key !== "string" || !isCount(offset) || !isCount(size) || offset + size > storage.numel) {
        throw fail(`storage ${printable(storage.key)} has a corrupt view`);
      }
      const known = views.get(key);
      if (known && (known.root !== storage || known.offset !== offset || known.storage.numel !== size)) throw fail(`view ${printable(key)} is declared twice`);
      if (known) return known.storage;
      const view = { storage: new TorchStorage(storage.type, key, size), root: storage, offset };
      views.set(key, view);
      return view.storage;
    },
  });

  const keys = plain(object.end);
  const list = keys.value;
  if (!Array.isArray(list) || !list.every((k) => typeof k === "string")) throw fail("the list of storage keys after the object is corrupt");
  let at = keys.end;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const key of list as string[]) {
    const storage = storages.byKey.get(key);
    if (!storage) throw fail(`the storage list names ${printable(key)}, which no tensor uses (corrupt)`);
    if (storage.bytes) throw fail(`the storage list names ${printable(key)} twice (corrupt)`);
    if (at + 8 > bytes.length) throw fail(`truncated: the data of storage ${printable(key)} is missing`);
    const count = view.getBigInt64(at, true);
    if (count !== BigInt(storage.numel)) throw fail(`storage ${printable(key)} holds ${count} elements where its tensors expect ${storage.numel} (corrupt)`);
    const length = storage.numel * storage.type.bytes;
    if (at + 8 + length > bytes.length) throw fail(`truncated: storage ${printable(key)} needs ${length} bytes, ${Math.max(0, bytes.length - at - 8)} are left`);
    storage.bytes = bytes.subarray(at + 8, at + 8 + length);
    at += 8 + length;
  }
  for (const s of storages.byKey.values()) if (!s.bytes) throw fail(`storage ${printable(s.key)} has no data (truncated or corrupt)`);
  if (at !== bytes.length) throw fail(`${bytes.length - at} unexpected bytes after the last storage (corrupt)`);
  for (const { storage, root, offset } of views.values()) {
    storage.bytes = root.bytes!.subarray(offset * root.type.bytes, (offset + storage.numel) * root.type.bytes);
  }
  return { container: "legacy", root: object.value };
}

const isCount = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
