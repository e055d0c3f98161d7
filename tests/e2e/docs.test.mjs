// Documentation that cannot drift:
//
// - nothing in the repository or the packed tarball points at the internal contract folder
//   outside the repository;
// - the API reference builds from the package's declarations (scripts/api-docs.sh: TypeDoc
//   with warnings as errors, so every exported symbol and option has a doc comment) and the
//   collector serves it at /docs/;
// - every option of the shipped `.d.ts` (dist/web/sightline.d.ts) is in docs/api.md's option
//   table with the default its doc comment states, every row of that table is a real option,
//   and each default equals what `new Sightline(...)` applies in Chromium; a "required" option
//   throws a TypeError naming it when left out. The package README's option table must agree.
//   The applied defaults are read through `__resolvedOptions()` (src/web/sightline/resolved.rs),
//   which only a build with the `test-hooks` cargo feature has: this test makes one (wasm-pack
//   --dev, into target/test-hooks-pkg/) from the same sources as the package.
//
//   node --test tests/e2e/docs.test.mjs
//
// The tarball (and dist/) is reused when fresh, as in package.test.mjs.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { ensureTarball, launchChromium, ok, repo, sh, startCollector } from "./support.mjs";

// Spelled in pieces so that this file does not match the search it runs.
const FORBIDDEN = [["shared", "docs"].join("/"), ["..", "shared", ""].join("/")];

/**
 * Options the contract adds and other work in progress is implementing: documented in
 * docs/api.md, allowed to be missing from the `.d.ts` until they ship. Once one is in the
 * `.d.ts` it is checked like any other option (remove it from here then).
 */
const PENDING = new Set([]);

const REQUIRED = Symbol("required");

/** A default as written in a table cell or a doc comment: `10000`, `"rr-block"`, none, required. */
function parseDefault(text) {
  const t = text.trim();
  if (/^required/i.test(t)) return REQUIRED;
  if (/^none$/i.test(t)) return null;
  const code = t.match(/^`([^`]*)`$/);
  assert.ok(code, `a default must be \`value\`, none or required; got ${JSON.stringify(t)}`);
  return JSON.parse(code[1]);
}

const show = (v) => (v === REQUIRED ? "required" : JSON.stringify(v));

/**
 * The options of `SightlineOptions` from a `.d.ts`, by dotted name: {name → {group, default}}.
 * A property whose type is another interface of the file is a group (`analytics`), and its
 * properties are options below it (`analytics.enabled`).
 */
function optionsFromDts(dts) {
  const interfaces = new Map();
  for (const m of dts.matchAll(/export interface (\w+) \{\n([\s\S]*?)\n\}/g)) {
    const props = [];
    // Each property with the doc comment right above it.
    for (const p of m[2].matchAll(/\/\*\*([\s\S]*?)\*\/\s*\n\s*(\w+)(\??):\s*([^;]+);/g)) {
      props.push({ doc: p[1].replace(/\s*\n\s*\*\s?/g, " "), name: p[2], optional: p[3] === "?", type: p[4].trim() });
    }
    interfaces.set(m[1], props);
  }
  assert.ok(interfaces.has("SightlineOptions"), "the .d.ts declares no SightlineOptions");
  const options = new Map();
  const walk = (iface, prefix) => {
    for (const p of interfaces.get(iface)) {
      const name = prefix + p.name;
      if (interfaces.has(p.type)) {
        options.set(name, { group: true });
        walk(p.type, name + ".");
        continue;
      }
      const stated = p.doc.match(/\bDefault (`[^`]*`|none)/);
      const required = /\bRequired\b/.test(p.doc);
      assert.ok(stated || required, `${name}: its doc comment states no default ("Default \`…\`." or "Required."): ${p.doc}`);
      assert.equal(required, !p.optional, `${name}: "Required" in its doc comment must match the type's \`?\``);
      options.set(name, { group: false, default: required ? REQUIRED : parseDefault(stated[1]) });
    }
  };
  walk("SightlineOptions", "");
  return options;
}

/** The rows of the first markdown table after `heading` whose first column is an option: {name → default}. */
function optionTable(markdown, heading, file) {
  const start = markdown.indexOf(heading);
  assert.ok(start >= 0, `${file} has no "${heading}" section`);
  const lines = markdown.slice(start).split("\n");
  const header = lines.findIndex((l) => /^\|\s*option\s*\|/.test(l));
  assert.ok(header >= 0, `${file}: no option table under "${heading}"`);
  const columns = lines[header].split("|").map((c) => c.trim());
  const defaultColumn = columns.indexOf("default");
  assert.ok(defaultColumn > 0, `${file}: the option table has no "default" column`);
  const rows = new Map();
  for (const line of lines.slice(header + 2)) {
    if (!line.startsWith("|")) break;
    // Split on pipes that are not escaped (`\|` inside a type).
    const cells = line.split(/(?<!\\)\|/).map((c) => c.trim());
    const name = cells[1].match(/^`([\w.]+)`$/);
    assert.ok(name, `${file}: an option row must start with \`name\`: ${line}`);
    assert.ok(!rows.has(name[1]), `${file}: ${name[1]} is listed twice`);
    rows.set(name[1], parseDefault(cells[defaultColumn]));
  }
  return rows;
}

describe("documentation", { timeout: 10 * 60 * 1000 }, () => {
  let tarball, dts, collector, browser;

  before(async () => {
    tarball = ensureTarball();
    dts = readFileSync(path.join(repo, "dist/web/sightline.d.ts"), "utf8");
    const hooks = path.join(repo, "target/test-hooks-pkg");
    ok(repo, "wasm-pack", ["build", "--dev", "--target", "web", "--out-dir", hooks, "--out-name", "sightline",
      "--no-pack", "--", "--features", "test-hooks"], 15 * 60 * 1000);
    collector = await startCollector({ args: ["--pkg", hooks] });
  });

  after(async () => {
    await browser?.close();
    await collector?.stop();
  });

  test("nothing in the repository or the package points outside the repository for its docs", () => {
    for (const needle of FORBIDDEN) {
      const r = sh(repo, "git", ["grep", "-n", "-F", needle, "--", "."]);
      assert.equal(r.status, 1, `tracked files mention ${needle}:\n${r.output}`);
    }
    const unpacked = mkdtempSync(path.join(tmpdir(), "sightline-tarball-"));
    try {
      ok(unpacked, "tar", ["xzf", tarball]);
      for (const needle of FORBIDDEN) {
        const r = sh(unpacked, "grep", ["-rnF", needle, "."]);
        assert.equal(r.status, 1, `the tarball mentions ${needle}:\n${r.output}`);
      }
      for (const page of ["api.md", "access-gate.md", "replay.md", "delivery.md", "wire.md"]) {
        const shipped = readFileSync(path.join(unpacked, "package/docs", page), "utf8");
        assert.equal(shipped, readFileSync(path.join(repo, "docs", page), "utf8"), `the package's docs/${page} is stale`);
      }
      for (const glue of ["web/sightline.js", "bundler/sightline_bg.js"]) {
        assert.ok(!readFileSync(path.join(unpacked, "package", glue), "utf8").includes("__resolvedOptions"),
          `the package's ${glue} has the test-hooks build's __resolvedOptions`);
      }
      const readme = readFileSync(path.join(unpacked, "package/README.md"), "utf8");
      assert.match(readme, /\(docs\/api\.md\)/, "the package README does not link docs/api.md");
    } finally {
      rmSync(unpacked, { recursive: true, force: true });
    }
    const changelog = readFileSync(path.join(repo, "CHANGELOG.md"), "utf8");
    assert.match(changelog, /JavaScript API\*\* of \[`docs\/api\.md`\]\(docs\/api\.md\)/, "CHANGELOG's semver surface must point at docs/api.md");
  });

  test("docs/ links point at files that exist", () => {
    for (const page of ["api.md", "access-gate.md", "replay.md", "delivery.md", "wire.md", "../README.md"]) {
      const file = path.join(repo, "docs", page);
      const text = readFileSync(file, "utf8");
      for (const [, target] of text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
        if (/^[a-z]+:/.test(target)) continue;
        assert.ok(existsSync(path.resolve(path.dirname(file), target)), `${path.relative(repo, file)} links ${target}, which does not exist`);
      }
    }
  });

  test("the API reference builds with TypeDoc (warnings are errors) and the collector serves it at /docs/", async () => {
    ok(repo, "bash", ["scripts/api-docs.sh", "dist/web/sightline.d.ts"], 5 * 60 * 1000);
    const index = readFileSync(path.join(repo, "target/api-docs/index.html"), "utf8");
    for (const symbol of ["Sightline", "SightlineOptions", "AccessGateOptions", "AccessState", "SightlineStats", "initSync"]) {
      assert.ok(index.includes(symbol), `the API reference's index lacks ${symbol}`);
    }
    const options = readFileSync(path.join(repo, "target/api-docs/interfaces/SightlineOptions.html"), "utf8");
    assert.ok(options.includes("getAnalyticsSession") && options.includes("x-stack-project-id"),
      "SightlineOptions' page lacks its members' doc comments");

    const redirect = await fetch(collector.url + "/docs", { redirect: "manual" });
    assert.equal(redirect.status, 308);
    assert.equal(redirect.headers.get("location"), "/docs/");
    const page = await fetch(collector.url + "/docs/");
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-type"), /^text\/html/);
    assert.match(await page.text(), /Sightline/);
    const classPage = await fetch(collector.url + "/docs/classes/Sightline.html");
    assert.equal(classPage.status, 200);
    assert.match(await classPage.text(), /checkAccess/);
    assert.equal((await fetch(collector.url + "/docs/assets/style.css")).status, 200);
  });

  test("every option of the .d.ts is in docs/api.md with its default, and new Sightline() applies it", async () => {
    const declared = optionsFromDts(dts);
    const apiMd = readFileSync(path.join(repo, "docs/api.md"), "utf8");
    const documented = optionTable(apiMd, "## `new Sightline(options)`", "docs/api.md");

    const problems = [];
    for (const [name, option] of declared) {
      if (option.group) continue;
      if (!documented.has(name)) problems.push(`${name} is in the .d.ts but not in docs/api.md's option table`);
      else if (documented.get(name) !== option.default) {
        problems.push(`${name}: docs/api.md says ${show(documented.get(name))}, the .d.ts says ${show(option.default)}`);
      }
    }
    for (const name of documented.keys()) {
      if (!declared.has(name) && !PENDING.has(name)) problems.push(`docs/api.md documents ${name}, which the .d.ts does not declare`);
    }
    const readme = optionTable(readFileSync(path.join(repo, "pkg-template/README.md"), "utf8"), "## Options", "pkg-template/README.md");
    for (const [name, value] of readme) {
      if (!documented.has(name)) problems.push(`pkg-template/README.md lists ${name}, which docs/api.md does not`);
      else if (documented.get(name) !== value) {
        problems.push(`${name}: pkg-template/README.md says ${show(value)}, docs/api.md says ${show(documented.get(name))}`);
      }
    }
    assert.deepEqual(problems, []);

    // What the SDK applies, in Chromium (the test-hooks build at /pkg/).
    browser = await launchChromium();
    const page = await browser.newPage();
    await page.route(collector.url + "/drift.html", (route) =>
      route.fulfill({ contentType: "text/html", body: "<!doctype html><title>drift</title>" }));
    await page.goto(collector.url + "/drift.html");
    const runtime = await page.evaluate(async () => {
      const { default: init, Sightline } = await import("/pkg/sightline.js");
      await init();
      const minimal = { projectId: "p_drift", apiBaseUrl: "https://api.example.com", getAnalyticsSession: () => null };
      const resolved = (options) => {
        const sl = new Sightline(options);
        const r = sl.__resolvedOptions();
        sl.free();
        return r;
      };
      const throws = (options) => {
        try {
          new Sightline(options).free();
          return null;
        } catch (e) {
          return `${e.name}: ${e.message}`;
        }
      };
      const without = (name) => Object.fromEntries(Object.entries(minimal).filter(([k]) => k !== name));
      return {
        plain: resolved(minimal),
        gated: resolved({ ...minimal, accessGate: { url: "/api/check" } }),
        missing: {
          projectId: throws(without("projectId")),
          apiBaseUrl: throws(without("apiBaseUrl")),
          getAnalyticsSession: throws(without("getAnalyticsSession")),
          "accessGate.url": throws({ ...minimal, accessGate: {} }),
        },
      };
    });
    await page.close();

    const applied = { ...runtime.plain, ...runtime.gated };
    for (const [name, expected] of documented) {
      const inDts = declared.has(name);
      if (!inDts) continue; // PENDING: not shipped yet
      if (declared.get(name).group) {
        // `accessGate`: none means "off without it".
        assert.equal(expected, null, `${name} is a group of options; its only default can be none`);
        assert.equal(runtime.plain[name], null, `${name}: left out, new Sightline() should leave it off`);
        continue;
      }
      if (expected === REQUIRED) {
        const error = runtime.missing[name];
        assert.ok(error, `${name} is documented as required, but new Sightline() accepted its absence`);
        assert.match(error, new RegExp(`^TypeError: sightline: options\\.${name.replace(/\./g, "\\.")} must be`), `${name}: ${error}`);
        continue;
      }
      if (/^accessGate\.on[A-Z]/.test(name)) {
        // Callbacks: nothing to read back; "none" is all there is to check (done above).
        assert.equal(expected, null, `${name}: a callback's default can only be none`);
        continue;
      }
      assert.ok(name in applied,
        `${name}: __resolvedOptions() does not report it (add it to src/web/sightline/resolved.rs)`);
      assert.deepEqual(applied[name], expected, `${name}: docs/api.md says ${show(expected)}, new Sightline() applies ${show(applied[name])}`);
    }
    // And nothing the SDK resolves is undocumented.
    for (const name of Object.keys(applied)) {
      assert.ok(documented.has(name), `new Sightline() resolves ${name}, which docs/api.md does not document`);
    }
  });

  test("the drift check can fail: a wrong default in docs/api.md is caught", () => {
    const apiMd = readFileSync(path.join(repo, "docs/api.md"), "utf8");
    const changed = apiMd.replace("| `analytics.flushIntervalMs` | `number` (ms) | `10000` |", "| `analytics.flushIntervalMs` | `number` (ms) | `1000` |");
    assert.notEqual(changed, apiMd, "the fixture row was not found in docs/api.md");
    const documented = optionTable(changed, "## `new Sightline(options)`", "docs/api.md");
    const declared = optionsFromDts(dts);
    assert.notEqual(documented.get("analytics.flushIntervalMs"), declared.get("analytics.flushIntervalMs").default);
  });
});
