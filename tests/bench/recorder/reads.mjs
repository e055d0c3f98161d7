// What reading the DOM costs by itself: one cold pass over a benchmark page (pages.mjs,
// no recorder loaded) making the reads a snapshot makes (rrweb's as well as sightline's):
// the traversal with an id set on every node, every element's attributes, local name,
// namespace and shadow root, every text's value, and each element's scrollLeft /
// scrollTop, joined into strings as reader.js does. Printed with and without the scroll
// reads (a layout read each) so their share shows. Medians of RUNS fresh pages.
//
//   node tests/bench/recorder/reads.mjs          PAGES=bench,vec,big (default)  RUNS=3
import { launchChromium } from "../cdp.mjs";
import { median } from "../cdp.mjs";
import { openBenchPage, startBenchServer } from "./pages.mjs";

const RUNS = Math.max(1, Number(process.env.RUNS || 3));
const pages = (process.env.PAGES || "bench,vec,big").split(",");
const { server, origin } = await startBenchServer();
const browser = await launchChromium();

/** One pass; `what`: "traversal" (ids only), "no scroll" (all reads but scroll), "all". */
const pass = (what) => {
  const SVG = "http://www.w3.org/2000/svg";
  const ids = Symbol("bench");
  const all = [document.documentElement];
  let fresh = 1;
  let s = "";
  let bytes = 0;
  const t0 = performance.now();
  for (let i = 0; i < all.length; i++) {
    const node = all[i];
    for (let c = node.firstChild; c; c = c.nextSibling) all.push(c);
    const type = node.nodeType;
    if (node[ids] === undefined) node[ids] = fresh++;
    if (what === "traversal") continue;
    if (type === 3) s += node.nodeValue.length + "\0" + node.nodeValue + "\0";
    if (type !== 1) continue;
    const scroll = what === "all" ? (node.scrollLeft | 0) + "\0" + (node.scrollTop | 0) : "0\0" + "0";
    const names = node.getAttributeNames();
    s += type + "\0" + node[ids] + "\0" + scroll + "\0" + node.localName + "\0" +
      (node.namespaceURI === SVG ? "v" : "") + (node.shadowRoot ? "s" : "") + "\0" + names.length + "\0";
    for (let k = 0; k < names.length; k++) s += names[k] + "\0" + node.getAttribute(names[k]) + "\0";
    if (s.length > 65536) {
      bytes += s.length;
      s = "";
    }
  }
  return [performance.now() - t0, all.length, bytes + s.length];
};

console.log("| page | nodes | traversal + ids | all reads but scroll | all reads | the scroll reads |");
console.log("|---|---:|---:|---:|---:|---:|");
for (const name of pages) {
  const times = { traversal: [], "no scroll": [], all: [] };
  let nodes = 0;
  for (let r = 0; r < RUNS; r++) {
    for (const what of Object.keys(times)) {
      // A fresh page each time: the first pass over a document is the one a snapshot makes.
      const harness = await openBenchPage(browser, origin, "none", name);
      await harness.page.evaluate(() => new Promise((resolve) => setTimeout(resolve, 200)));
      const [ms, n] = await harness.page.evaluate(pass, what);
      times[what].push(ms);
      nodes = n;
      await harness.context.close();
    }
  }
  const [t, ns, a] = [median(times.traversal), median(times["no scroll"]), median(times.all)];
  console.log(`| ${name} | ${nodes} | ${t.toFixed(1)} ms | ${ns.toFixed(1)} ms | ${a.toFixed(1)} ms | ${(a - ns).toFixed(1)} ms |`);
}
await browser.close();
server.close();
