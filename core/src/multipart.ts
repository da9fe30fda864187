/**
 * Form data encoded as `multipart/form-data` (RFC 7578, framed as the WHATWG fetch standard
 * frames it) without reading it into memory: its length is known beforehand (the framing, each
 * text field encoded, each file's `size`), and its files are streamed from their own `stream()`,
 * so a file-backed `Blob` (`fs.openAsBlob`) is read from the disk while it is sent, never copied
 * whole. Web APIs only (`TextEncoder`, `Blob`, `ReadableStream`, `crypto`).
 *
 * @internal
 */

/** @internal */
export interface Multipart {
  /** `multipart/form-data; boundary=…` */
  readonly contentType: string
  /** The length of `body`, in bytes. */
  readonly contentLength: number
  /**
   * The encoded form, chunk by chunk. It can be read once; stopping early (`return`) cancels the
   * file being read.
   */
  readonly body: AsyncIterable<Uint8Array>
}

const encoder = new TextEncoder()
const crlf = encoder.encode("\r\n")

/** A boundary no field is likely to contain: 32 random hexadecimal digits after a fixed prefix. */
const makeBoundary = (): string => {
  const random = new Uint8Array(16)
  crypto.getRandomValues(random)
  let hex = ""
  for (let i = 0; i < random.length; i++) hex += random[i]!.toString(16).padStart(2, "0")
  return `----effect-resilience-${hex}`
}

/** A name or file name in a header: line breaks and quotes percent-encoded, as browsers send them. */
const escapeName = (name: string): string => name.replace(/\n/g, "%0A").replace(/\r/g, "%0D").replace(/"/g, "%22")

/** A text field's line breaks, all made CRLF (as the standard encodes them). */
const normaliseLineBreaks = (value: string): string => value.replace(/\r(?!\n)|(?<!\r)\n/g, "\r\n")

type Part =
  | { readonly head: Uint8Array; readonly text: Uint8Array }
  | { readonly head: Uint8Array; readonly file: Blob }

/**
 * `formData` as `multipart/form-data`: its content type, its length and its bytes, computed
 * without reading any file.
 *
 * @internal
 */
export const encodeMultipart = (formData: FormData): Multipart => {
  const boundary = makeBoundary()
  const parts: Array<Part> = []
  let contentLength = 0
  formData.forEach((value, name) => {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${escapeName(name)}"`
    if (typeof value === "string") {
      const text = encoder.encode(normaliseLineBreaks(value))
      const headBytes = encoder.encode(`${head}\r\n\r\n`)
      parts.push({ head: headBytes, text })
      contentLength += headBytes.length + text.length + crlf.length
    } else {
      const fileName = (value as Blob & { readonly name?: unknown }).name
      head += `; filename="${escapeName(typeof fileName === "string" ? fileName : "blob")}"\r\n`
      head += `Content-Type: ${value.type === "" ? "application/octet-stream" : value.type}\r\n\r\n`
      const headBytes = encoder.encode(head)
      parts.push({ head: headBytes, file: value })
      contentLength += headBytes.length + value.size + crlf.length
    }
  })
  const closing = encoder.encode(`--${boundary}--\r\n`)
  contentLength += closing.length
  return {
    contentType: `multipart/form-data; boundary=${boundary}`,
    contentLength,
    body: chunks(parts, closing)
  }
}

async function* chunks(parts: ReadonlyArray<Part>, closing: Uint8Array): AsyncGenerator<Uint8Array> {
  for (const part of parts) {
    yield part.head
    if ("text" in part) {
      if (part.text.length > 0) yield part.text
    } else {
      yield* fileChunks(part.file)
    }
    yield crlf
  }
  yield closing
}

/** A file's bytes from its own stream (read through a reader: not every runtime iterates streams). */
async function* fileChunks(file: Blob): AsyncGenerator<Uint8Array> {
  const reader = file.stream().getReader()
  let done = false
  try {
    while (true) {
      const read = await reader.read()
      if (read.done) {
        done = true
        return
      }
      yield read.value
    }
  } finally {
    // stopped early (the request ended): the file is read no further
    if (!done) await reader.cancel().catch(() => undefined)
  }
}
