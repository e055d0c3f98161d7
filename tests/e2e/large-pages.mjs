// Large pages for the recorder's tests and benchmark (tests/bench/recorder): the Rust
// documentation that ships with the toolchain, and a generated page of any size.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

/** The Rust documentation that ships with the toolchain (the rust-docs component), or null. */
export function rustDocsDir() {
  try {
    const sysroot = execFileSync("rustc", ["--print", "sysroot"], { encoding: "utf8" }).trim();
    const dir = join(sysroot, "share", "doc", "rust", "html");
    return existsSync(join(dir, "std", "vec", "struct.Vec.html")) ? dir : null;
  } catch {
    return null;
  }
}

/**
 * A page of `elements` elements (sections of 10), the same markup as the replay conformance
 * test's 100,000-element page; `head` goes into <head> (e.g. a recorder's script tag).
 */
export function bigPage(elements, head = "") {
  const parts = ['<!doctype html><html><head><meta charset="utf-8"><title>big</title>', head, "</head><body>"];
  for (let i = 0; i < elements / 10; i++) {
    parts.push(`<section id="s${i}"><h3>Part ${i}</h3><p>Some <b>bold</b> and <i>italic</i> words, `,
      `<a href="#s${i}">a link</a>.</p><ul><li>one</li><li>two <em>${i}</em></li></ul></section>`);
  }
  return parts.join("") + "</body></html>";
}
