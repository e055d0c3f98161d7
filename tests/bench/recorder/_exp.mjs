import { launchChromium } from "../cdp.mjs";
const browser = await launchChromium();
const ctx = await browser.newContext();
const p = await ctx.newPage();
await p.setContent("<div id=b></div>");
await browser.startTracing(p, { categories: ["toplevel", "devtools.timeline", "blink.user_timing", "disabled-by-default-devtools.timeline"] });
await p.evaluate(`new Promise(r => setTimeout(() => {
  performance.mark("bench-a");
  let h=""; for (let i=0;i<5000;i++) h+="<p>x<b>y</b></p>";
  const t=document.createElement("template"); t.innerHTML=h;
  new MutationObserver(() => { const s=performance.now(); while(performance.now()-s<30); }).observe(document.body,{childList:true,subtree:true});
  document.getElementById("b").append(t.content);
  performance.mark("bench-b");
  const ch = new MessageChannel(); ch.port1.onmessage = () => { const s=performance.now(); while(performance.now()-s<20); r(); };
  setTimeout(() => ch.port2.postMessage(1), 0);
}, 0))`);
await p.evaluate(() => new Promise(r => setTimeout(r, 100)));
const buf = await browser.stopTracing();
const { traceEvents } = JSON.parse(buf.toString());
const names = new Map();
for (const e of traceEvents) { const k = `${e.cat}|${e.name}|${e.ph}`; names.set(k, (names.get(k)||0)+1); }
console.log([...names].sort().map(([k,v]) => `${v}\t${k}`).join("\n"));
const threads = traceEvents.filter(e => e.ph==="M" && e.name==="thread_name").map(e => `${e.pid}/${e.tid} ${e.args.name}`);
console.log(threads.join("\n"));
const marks = traceEvents.filter(e => e.name.startsWith("bench-"));
console.log(JSON.stringify(marks));
const main = marks[0] && { pid: marks[0].pid, tid: marks[0].tid };
const tasks = traceEvents.filter(e => e.name === "RunTask" && e.pid===main.pid && e.tid===main.tid && e.dur > 1000);
console.log(tasks.map(t => [t.ts, t.dur/1000, t.cat]));
for (const t of tasks) {
  const inner = traceEvents.filter(e => e.pid===main.pid && e.tid===main.tid && e.ts>=t.ts && e.ts <= t.ts+t.dur && e !== t && (e.dur||0) > 500);
  console.log("task", t.dur/1000, inner.map(e => `${e.name}:${((e.dur||0)/1000).toFixed(1)}`).join(" "));
}
await browser.close();
