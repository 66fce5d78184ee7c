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
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out.buffer;
}
