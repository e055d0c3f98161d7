// gzip through the browser's CompressionStream, a piece per task. Chromium deflates what
// it is given in one main-thread task (45 ms for 4 MB), so a big replay body is fed in
// 256 KB pieces with a task boundary between them (a MessageChannel message: not a
// timer, which background tabs throttle to once a second). scripts/build.sh minifies it.

const PIECE = 256 * 1024;

function nextTask() {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => resolve();
    channel.port2.postMessage(0);
  });
}

/** The gzip of `bytes` (a Uint8Array), or null where CompressionStream is missing or fails. */
export async function sl_gzip(bytes) {
  if (typeof CompressionStream !== "function") return null;
  try {
    const stream = new CompressionStream("gzip");
    const writer = stream.writable.getWriter();
    const compressed = new Response(stream.readable).arrayBuffer();
    for (let at = 0; at < bytes.length; at += PIECE) {
      if (at > 0) await nextTask();
      await writer.write(bytes.subarray(at, at + PIECE));
    }
    await writer.close();
    return new Uint8Array(await compressed);
  } catch (_) {
    return null;
  }
}
