// Shortens the names by which sightline_bg.wasm and its JS glue call each other, in the wasm
// and in the glue together:
//
//   node scripts/glue/shorten-names.mjs <dir>   (<dir>/sightline_bg.wasm, sightline.raw.js and,
//                                                if present, sightline.d.ts)
//
// wasm-bindgen names each of its ~210 imports `__wbg_<method>_<16 hex digits>` and files them
// under the module "./sightline_bg.js"; both strings appear once in the wasm's import section
// and once as a key of the glue's imports object, and the hashes do not compress. They become
// `a`, `b`, … `aa`, … (modules: `a`, `b`, …), which changes nothing else: the imports object
// is built and consumed by these two files only. The wasm's exports (`sightline_new`,
// `wasm_bindgen__convert__closures_____invoke__<hash>`, `__wbindgen_malloc`, …) are read by
// the glue only, as `wasm.<name>`: they are renamed the same way, and in the `.d.ts`'s
// `InitOutput` (raw exports, documented as internal in api.md). The wasm's custom sections
// `producers` and `target_features` (build metadata that no engine reads) are dropped.
//
// Run it after wasm-opt and before esbuild minifies the glue. It fails loudly when a name it
// renames is not found in the glue exactly where it expects it, so a wasm-bindgen upgrade
// that changes the glue's shape breaks the build instead of shipping a broken bundle.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

const dir = process.argv[2];
if (!dir) {
  console.error("usage: node scripts/glue/shorten-names.mjs <dir with sightline_bg.wasm and sightline.raw.js>");
  process.exit(2);
}
const wasmPath = path.join(dir, "sightline_bg.wasm");
const gluePath = path.join(dir, "sightline.raw.js");
const wasm = readFileSync(wasmPath);
let glue = readFileSync(gluePath, "utf8");
const dtsPath = path.join(dir, "sightline.d.ts");
let dts = existsSync(dtsPath) ? readFileSync(dtsPath, "utf8") : null;
const wasmDtsPath = path.join(dir, "sightline_bg.wasm.d.ts");
let wasmDts = existsSync(wasmDtsPath) ? readFileSync(wasmDtsPath, "utf8") : null;

function fail(message) {
  console.error(`shorten-names: ${message}`);
  process.exit(1);
}

// --- LEB128 and strings -------------------------------------------------------------------
function readU32(buf, pos) {
  let result = 0, shift = 0, byte;
  do {
    byte = buf[pos++];
    result |= (byte & 0x7f) << shift;
    shift += 7;
  } while (byte & 0x80);
  return [result >>> 0, pos];
}
function u32(n) {
  const out = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n) byte |= 0x80;
    out.push(byte);
  } while (n);
  return Buffer.from(out);
}
function readName(buf, pos) {
  const [len, start] = readU32(buf, pos);
  return [buf.subarray(start, start + len).toString("utf8"), start + len];
}
function name(s) {
  const bytes = Buffer.from(s, "utf8");
  return Buffer.concat([u32(bytes.length), bytes]);
}

// Short names: a..z A..Z, then two letters and so on (valid JS identifiers, never keywords:
// two-letter keywords `do`, `if`, `in` are skipped).
const LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
function* shortNames() {
  for (let len = 1; ; len++) {
    const idx = new Array(len).fill(0);
    for (;;) {
      const s = idx.map((i) => LETTERS[i]).join("");
      if (!["do", "if", "in"].includes(s)) yield s;
      let k = len - 1;
      while (k >= 0 && ++idx[k] === LETTERS.length) idx[k--] = 0;
      if (k < 0) break;
    }
  }
}

// --- the wasm -----------------------------------------------------------------------------
if (wasm.readUInt32LE(0) !== 0x6d736100) fail(`${wasmPath} is not a wasm module`);
const sections = [];
for (let pos = 8; pos < wasm.length; ) {
  const id = wasm[pos];
  const [size, start] = readU32(wasm, pos + 1);
  sections.push({ id, body: wasm.subarray(start, start + size) });
  pos = start + size;
}

const moduleNames = new Map(); // old module → new
const importNames = new Map(); // old field (of the glue's module) → new
const exportNames = new Map(); // old export → new
const moduleGen = shortNames();
const importGen = shortNames();
const exportGen = shortNames();
const GLUE_MODULE = "./sightline_bg.js";

const out = [wasm.subarray(0, 8)];
for (const section of sections) {
  if (section.id === 0) {
    const [custom] = readName(section.body, 0);
    if (custom === "producers" || custom === "target_features") continue;
  }
  if (section.id === 7) {
    const body = section.body;
    let [count, pos] = readU32(body, 0);
    const parts = [u32(count)];
    for (let i = 0; i < count; i++) {
      let field;
      [field, pos] = readName(body, pos);
      const descStart = pos;
      [, pos] = readU32(body, pos + 1); // kind byte, index
      const newName = exportGen.next().value;
      exportNames.set(field, newName);
      parts.push(name(newName), body.subarray(descStart, pos));
    }
    const newBody = Buffer.concat(parts);
    out.push(Buffer.from([7]), u32(newBody.length), newBody);
    continue;
  }
  if (section.id !== 2) {
    out.push(Buffer.from([section.id]), u32(section.body.length), section.body);
    continue;
  }
  const body = section.body;
  let [count, pos] = readU32(body, 0);
  const parts = [u32(count)];
  for (let i = 0; i < count; i++) {
    let module, field;
    [module, pos] = readName(body, pos);
    [field, pos] = readName(body, pos);
    const descStart = pos;
    const kind = body[pos++];
    if (kind === 0) [, pos] = readU32(body, pos); // function: type index
    else if (kind === 1) { pos++; const [flags, p] = readU32(body, pos); [, pos] = readU32(body, p); if (flags & 1) [, pos] = readU32(body, pos); } // table
    else if (kind === 2) { const [flags, p] = readU32(body, pos); [, pos] = readU32(body, p); if (flags & 1) [, pos] = readU32(body, pos); } // memory
    else if (kind === 3) pos += 2; // global
    else if (kind === 4) [, pos] = readU32(body, pos + 1); // tag
    else fail(`unknown import kind ${kind} for ${module}.${field}`);
    const desc = body.subarray(descStart, pos);

    if (!moduleNames.has(module)) moduleNames.set(module, moduleGen.next().value);
    let newField = field;
    if (module === GLUE_MODULE) {
      if (!importNames.has(field)) importNames.set(field, importGen.next().value);
      newField = importNames.get(field);
    }
    parts.push(name(moduleNames.get(module)), name(newField), desc);
  }
  const newBody = Buffer.concat(parts);
  out.push(Buffer.from([2]), u32(newBody.length), newBody);
}

// --- the glue -----------------------------------------------------------------------------
// The imports object: `"<module>": importN,` entries of `__wbg_get_imports()`'s result.
for (const [oldModule, newModule] of moduleNames) {
  const key = new RegExp(`"${oldModule.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}": (import\\d+)`, "g");
  let found = 0;
  glue = glue.replace(key, (_, value) => {
    found++;
    return `${newModule}: ${value}`;
  });
  if (!found) fail(`the glue has no imports entry for the module "${oldModule}"`);
}
// The functions of the glue's own module: keys of `const import0 = { … }`.
for (const [oldField, newField] of importNames) {
  if (!/^[A-Za-z_$][\w$]*$/.test(oldField)) fail(`unexpected import name ${oldField}`);
  const key = new RegExp(`(^|[^\\w$])${oldField}(?=: )`, "gm");
  let found = 0;
  glue = glue.replace(key, (_, before) => {
    found++;
    return `${before}${newField}`;
  });
  if (found !== 1) fail(`the import ${oldField} is a key of the glue's imports object ${found} times, not once`);
  if (new RegExp(`(^|[^\\w$])${oldField}([^\\w$]|$)`).test(glue)) fail(`the glue still refers to ${oldField} elsewhere`);
}

// The exports: read as `wasm.<name>` (`wasm` is the instance's exports object).
for (const [oldName, newName] of exportNames) {
  if (!/^[A-Za-z_$][\w$]*$/.test(oldName)) fail(`unexpected export name ${oldName}`);
  const use = new RegExp(`(^|[^\\w$.])wasm\\.${oldName.replace(/\$/g, "\\$")}(?![\\w$])`, "gm");
  let found = 0;
  glue = glue.replace(use, (_, before) => {
    found++;
    return `${before}wasm.${newName}`;
  });
  if (!found && oldName !== "__abort_handler" && oldName !== "__instance_terminated") {
    fail(`the glue never reads the export ${oldName} as wasm.${oldName}`);
  }
  // Any other property access or string naming the export would be a read this script
  // missed (glue functions named after an export are the glue's own names: esbuild minifies
  // them).
  const esc = oldName.replace(/\$/g, "\\$");
  if (new RegExp(`\\.${esc}(?![\\w$])|["'\`]${esc}["'\`]`).test(glue)) {
    fail(`the glue refers to the export ${oldName} other than as wasm.${oldName}`);
  }
  if (dts !== null) dts = dts.replace(new RegExp(`^(    readonly )${esc}:`, "m"), `$1${newName}:`);
  if (wasmDts !== null) wasmDts = wasmDts.replace(new RegExp(`^(export const )${esc}:`, "m"), `$1${newName}:`);
}

writeFileSync(wasmPath, Buffer.concat(out));
writeFileSync(gluePath, glue);
if (dts !== null) writeFileSync(dtsPath, dts);
if (wasmDts !== null) writeFileSync(wasmDtsPath, wasmDts);
console.error(
  `shorten-names: ${importNames.size} imports, ${exportNames.size} exports and ${moduleNames.size} modules renamed ` +
    `(${wasm.length} → ${Buffer.concat(out).length} B wasm)`,
);
