import { launchChromium } from "../cdp.mjs";
import { openBenchPage, startBenchServer } from "./pages.mjs";
const { server, origin } = await startBenchServer();
const browser = await launchChromium();
const PAGE = process.env.PAGE || "vec";
const h = await openBenchPage(browser, origin, "none", PAGE);
const p = h.page;
const res = await p.evaluate(async () => {
  const SVG = "http://www.w3.org/2000/svg";
  const recorded = (t) => t === 1 || t === 3 || t === 4 || t === 8 || t === 9 || t === 10;
  const clean = (v) => v.indexOf("\0") < 0 ? v : v.replace(/\0/g, "\ufffd");
  function sl_read(element) {
    const names = element.getAttributeNames();
    let s = element.localName + "\0" + (element.namespaceURI === SVG ? "v" : "") + (element.shadowRoot ? "s" : "") + "\0" + names.length + "\0";
    for (let i = 0; i < names.length; i++) s += names[i] + "\0" + clean(element.getAttribute(names[i])) + "\0";
    return s;
  }
  function children(all, node) {
    const first = all.length;
    for (let c = node.firstChild; c; c = c.nextSibling) all.push(c);
    const light = all.length - first;
    const root = node.nodeType === 1 ? node.shadowRoot : null;
    if (root) for (let c = root.firstChild; c; c = c.nextSibling) all.push(c);
    return first + "\0" + light + "\0" + (all.length - first - light) + "\0";
  }
  function make(variant) {
    return function read(all, parent, shadow, from, count, ids, fresh) {
      const owner = parent < 0 ? null : shadow ? all[parent].shadowRoot : all[parent];
      let s = "";
      for (let i = from; i < from + count; i++) {
        const node = all[i];
        const type = node.nodeType;
        if ((owner !== null && node.parentNode !== owner) || !recorded(type)) { s += "g\0"; continue; }
        let id = node[ids];
        if (id === undefined) { id = fresh++; if (variant !== "noid") node[ids] = id; }
        s += type + "\0" + id + "\0";
        if (type === 1) {
          if (variant === "noscroll") s += "0\0" + "0\0";
          else if (variant === "cs") { const o = getComputedStyle(node); const x = o.overflowX, y = o.overflowY;
            if ((x !== "visible" && x !== "clip") || (y !== "visible" && y !== "clip")) s += (node.scrollLeft | 0) + "\0" + (node.scrollTop | 0) + "\0"; else s += "0\0" + "0\0"; }
          else if (variant === "left") s += (node.scrollLeft | 0) + "\0" + "0\0";
          else s += (node.scrollLeft | 0) + "\0" + (node.scrollTop | 0) + "\0";
          s += (variant === "noattr" ? node.localName + "\0\0" + "0\0" : sl_read(node)) + children(all, node);
        } else if (type === 9) s += children(all, node);
        else if (type !== 10) { const value = node.nodeValue; s += value.length + "\0" + value + "\0"; }
      }
      return fresh + "\0" + s;
    };
  }
  function walk(variant) {
    const read = make(variant);
    const ids = Symbol("x");
    const all = [document];
    // emulate: a queue of containers (index, first, count); read in chunks of 128
    const enc = new TextEncoder();
    const buf = new Uint8Array(1 << 20);
    let fresh = 1, bytes = 0;
    const t0 = performance.now();
    let out = read(all, -1, false, 0, 1, ids, fresh);
    const stack = [];
    const parseKids = (s) => {};
    // simple: after each chunk, find containers by scanning all[] growth: children are pushed in order
    let next = 1;
    while (next < all.length) {
      // the nodes from `next` are children of some parents; read them without parent check
      const count = Math.min(128, all.length - next);
      out = read(all, -1, false, next, count, ids, fresh);
      bytes += enc.encodeInto(out, out.length * 3 > buf.length ? new Uint8Array(out.length * 3) : buf).written;
      next += count;
    }
    return [performance.now() - t0, all.length, bytes];
  }
  const variants = ["base", "noscroll", "cs", "left"];
  const times = Object.fromEntries(variants.map((v) => [v, []]));
  let info;
  for (let r = 0; r < 7; r++) for (const v of variants) { const [t, n, b] = walk(v); times[v].push(t); info = [n, b]; await new Promise((r) => setTimeout(r, 50)); }
  const med = (xs) => xs.sort((a, b) => a - b)[xs.length >> 1];
  return { info, med: Object.fromEntries(variants.map((v) => [v, med(times[v]).toFixed(1)])) };
});
console.log(PAGE, JSON.stringify(res));
await browser.close(); server.close();
