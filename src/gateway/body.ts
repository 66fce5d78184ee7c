// The request body: streamed through untouched unless a meter must count inside it. Either way
// a body above MAX_BODY_BYTES is refused with `payload-too-large` before anything is admitted.
import { problem } from "../problems";

export function checkDeclaredLength(headers: Headers, maxBytes: number): void {
  const declared = headers.get("content-length");
  if (declared !== null && Number(declared) > maxBytes) {
    throw problem("payload-too-large", { detail: `The request body is larger than ${maxBytes} bytes.` });
  }
}

/** Reads the whole body, refusing it as soon as it grows past `maxBytes`. */
export async function readBody(body: ReadableStream<Uint8Array> | null, maxBytes: number): Promise<ArrayBuffer> {
  if (!body) return new ArrayBuffer(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw problem("payload-too-large", { detail: `The request body is larger than ${maxBytes} bytes.` });
    }
    chunks.push(value);
  }
  return concat(chunks, size);
}

/**
 * A streamed request body that never passes more than `maxBytes` on: the chunk that would cross
 * the limit is not sent, and `onExceeded` aborts the upload (issue 8: erroring a request stream
 * alone makes workerd end the upload as if it were complete, so the fetch must be aborted).
 */
export function limitedBody(body: ReadableStream<Uint8Array>, maxBytes: number, onExceeded: () => void): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let size = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) return controller.close();
      size += value.byteLength;
      if (size > maxBytes) {
        onExceeded();
        void reader.cancel().catch(() => undefined);
        return controller.close();
      }
      controller.enqueue(value);
    },
    cancel: (reason) => reader.cancel(reason),
  });
}

/** How a relayed body ended: all of it read, broken off by its source, or cancelled by the reader. */
export type BodyEnd = { kind: "complete"; bytes: number } | { kind: "broken"; bytes: number } | { kind: "cancelled"; bytes: number };

/**
 * Passes a response body through, counting bytes, and resolves `ended` once with how it ended —
 * telling an origin that breaks off (a read fails) from a client that goes away (cancel).
 */
export function relay(body: ReadableStream<Uint8Array>): { stream: ReadableStream<Uint8Array>; ended: Promise<BodyEnd> } {
  const reader = body.getReader();
  let bytes = 0;
  let finish!: (end: BodyEnd) => void;
  const ended = new Promise<BodyEnd>((resolve) => (finish = resolve));
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      let read: ReadableStreamReadResult<Uint8Array>;
      try {
        read = await reader.read();
      } catch (error) {
        finish({ kind: "broken", bytes });
        return controller.error(error);
      }
      if (read.done) {
        finish({ kind: "complete", bytes });
        return controller.close();
      }
      bytes += read.value.byteLength;
      controller.enqueue(read.value);
    },
    cancel(reason) {
      finish({ kind: "cancelled", bytes });
      return reader.cancel(reason);
    },
  });
  return { stream, ended };
}

export type ReadUpTo =
  | { complete: true; bytes: ArrayBuffer }
  | { complete: false; stream: ReadableStream<Uint8Array> };

/**
 * Reads a body while it stays within `cap` bytes. Past the cap it gives up buffering and answers
 * a stream of everything: the chunks read so far, then the rest.
 */
export async function readUpTo(body: ReadableStream<Uint8Array>, cap: number): Promise<ReadUpTo> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return { complete: true, bytes: concat(chunks, size) };
    chunks.push(value);
    size += value.byteLength;
    if (size > cap) break;
  }
  const stream = new ReadableStream<Uint8Array>({
    pull: async (controller) => {
      const next = chunks.shift();
      if (next) return controller.enqueue(next);
      const { done, value } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel: (reason) => reader.cancel(reason),
  });
  return { complete: false, stream };
}

function concat(chunks: Uint8Array[], size: number): ArrayBuffer {
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out.buffer;
}
