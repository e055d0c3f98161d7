// Shares two code shapes that wasm-bindgen's glue repeats once per import:
//
//   node scripts/glue/compact-glue.mjs <glue.js>     (rewritten in place; before esbuild)
//
// 1. Returning a string to the wasm (31 imports): `passStringToWasm0`, then the pointer and
//    length written at the return address. It becomes one call of `slRetStr(at, s[, 1])`.
// 2. Catching a JS exception for the wasm (58 imports): `function() { return
//    handleError(function (…) {…}, arguments); }` becomes `slCatch(function (…) {…})`,
//    where `slCatch(f)` returns that same wrapper.
//
// Both are the same code, shared: nothing changes in behaviour. A glue of another shape
// (a wasm-bindgen upgrade) is left as it is, with a note on stderr: this is only about size.
import { readFileSync, writeFileSync } from "node:fs";

const file = process.argv[2];
if (!file) {
  console.error("usage: node scripts/glue/compact-glue.mjs <wasm-bindgen glue .js>");
  process.exit(2);
}
let glue = readFileSync(file, "utf8");
const helpers = [];
const anchor = "function isLikeNone(x) {";
if (!glue.includes(anchor)) {
  console.error("compact-glue: no isLikeNone() in the glue; left as it is");
  process.exit(0);
}

// 1. Strings returned to the wasm.
const RET_STR = new RegExp(
  String.raw`^(?<ind> +)(?:var|const) ptr(?<n>\d+) = (?<nullable>isLikeNone\((?<v1>[\w$]+)\) \? 0 : )?passStringToWasm0\((?<v>[\w$]+), wasm\.__wbindgen_malloc, wasm\.__wbindgen_realloc\);\n` +
    String.raw` +(?:var|const) len\k<n> = WASM_VECTOR_LEN;\n` +
    String.raw` +getDataViewMemory0\(\)\.setInt32\(\((?<at>[\w$]+) >>> 0\) \+ 4 \* 1, len\k<n>, true\);\n` +
    String.raw` +getDataViewMemory0\(\)\.setInt32\(\(\k<at> >>> 0\) \+ 4 \* 0, ptr\k<n>, true\);\n`,
  "gm",
);
let strings = 0;
glue = glue.replace(RET_STR, (...m) => {
  const g = m[m.length - 1];
  if (g.nullable && g.v1 !== g.v) return m[0];
  strings++;
  return `${g.ind}slRetStr(${g.at}, ${g.v}${g.nullable ? ", 1" : ""});\n`;
});
if (strings) {
  helpers.push(`function slRetStr(at, s, nullable) {
    const ptr = nullable && isLikeNone(s) ? 0 : passStringToWasm0(s, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
    const view = getDataViewMemory0();
    view.setInt32((at >>> 0) + 4 * 1, WASM_VECTOR_LEN, true);
    view.setInt32((at >>> 0) + 4 * 0, ptr, true);
}`);
}

// 2. Imports that catch: the opening and the closing of each are on lines of their own.
const OPEN = "function() { return handleError(function (";
const CLOSE = "}, arguments); },";
const opens = glue.split(OPEN).length - 1;
const closes = glue.split(CLOSE).length - 1;
let catches = 0;
if (opens && opens === closes) {
  glue = glue.split(OPEN).join("slCatch(function (").split(CLOSE).join("}),");
  catches = opens;
  helpers.push(`function slCatch(f) {
    return function () {
        return handleError(f, arguments);
    };
}`);
} else if (opens) {
  console.error(`compact-glue: ${opens} handleError openings but ${closes} closings; left as they are`);
}

glue = glue.replace(anchor, `${helpers.join("\n")}\n${anchor}`);
writeFileSync(file, glue);
console.error(`compact-glue: ${strings} string returns and ${catches} catching imports share their code`);
