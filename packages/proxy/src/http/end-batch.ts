// Ends complete responses together once the event loop has handled every ready socket.

/** What the batch ends: a response whose body is complete. */
export interface Finishable {
  finish(): void;
}

/**
 * Responses whose body is complete, ended together after the poll phase (`setImmediate`). On
 * loopback a send also pays the receiver's TCP work and, when the receiver sleeps, its wake-up;
 * sends made back to back pay that about once per batch instead of once per response: 10–20% of
 * a keep-alive request's CPU in the micro bench (test/bench/micro/proxy-cpu.mjs). undici already
 * batches request heads the same way. The delay is the rest of the current loop turn, never a timer.
 */
const batch: Finishable[] = [];
let scheduled = false;

export function endSoon(item: Finishable): void {
  batch.push(item);
  if (scheduled) return;
  scheduled = true;
  setImmediate(flush);
}

function flush(): void {
  scheduled = false;
  const items = batch.splice(0);
  for (const item of items) {
    try {
      item.finish();
    } catch {
      // A finish that throws must not strand the rest of its batch; each handles its own errors.
    }
  }
}
