// Server-Sent Events parser (https://html.spec.whatwg.org/multipage/server-sent-events.html).
// Pure: no DOM, no network. Feed it the bytes of a response body as they arrive and it
// returns the events completed so far. Works in the browser and in Node.

const LF = "\n";
const CR = "\r";
const DEFAULT_EVENT = "message";

/** Incremental parser for a `text/event-stream` body. */
export class SseParser {
  constructor() {
    // One decoder for the whole stream, so a multi-byte character split across two
    // chunks is decoded once both halves have arrived. It also drops a leading BOM.
    this.decoder = new TextDecoder("utf-8");
    this.line = "";
    // A CR ended the previous chunk: an LF at the start of the next one belongs to it.
    this.afterCR = false;
    this.eventType = "";
    this.data = [];
    this.lastEventId = "";
    this.retry = null;
  }

  /**
   * Parse the next chunk of the body.
   * @param {Uint8Array|string} chunk bytes from the network (or text, for tests)
   * @returns {{event: string, data: string, id: string}[]} events completed by this chunk
   */
  push(chunk) {
    const text = typeof chunk === "string" ? chunk : this.decoder.decode(chunk, { stream: true });
    return this.parseText(text);
  }

  /**
   * The body has ended. An incomplete trailing frame (no blank line after it) is
   * discarded, as the spec says.
   * @returns {{event: string, data: string, id: string}[]} always empty; kept for symmetry
   */
  end() {
    const events = this.parseText(this.decoder.decode());
    this.line = "";
    this.afterCR = false;
    this.eventType = "";
    this.data = [];
    return events;
  }

  parseText(text) {
    const events = [];
    let start = 0;
    if (this.afterCR && text.length > 0) {
      if (text[0] === LF) start = 1;
      this.afterCR = false;
    }
    for (let i = start; i < text.length; i++) {
      const ch = text[i];
      if (ch !== LF && ch !== CR) continue;
      this.line += text.slice(start, i);
      this.processLine(this.line, events);
      this.line = "";
      if (ch === CR) {
        if (i + 1 < text.length) {
          if (text[i + 1] === LF) i += 1;
        } else {
          this.afterCR = true;
        }
      }
      start = i + 1;
    }
    this.line += text.slice(start);
    return events;
  }

  processLine(line, events) {
    if (line === "") {
      this.dispatch(events);
      return;
    }
    if (line[0] === ":") return; // comment, e.g. ": ping"
    const colon = line.indexOf(":");
    let field = line;
    let value = "";
    if (colon !== -1) {
      field = line.slice(0, colon);
      value = line.slice(colon + 1);
      if (value[0] === " ") value = value.slice(1);
    }
    switch (field) {
      case "event":
        this.eventType = value;
        break;
      case "data":
        this.data.push(value);
        break;
      case "id":
        if (!value.includes("\0")) this.lastEventId = value;
        break;
      case "retry":
        if (/^\d+$/.test(value)) this.retry = Number(value);
        break;
      default:
        break; // unknown fields are ignored
    }
  }

  dispatch(events) {
    const eventType = this.eventType;
    const data = this.data;
    this.eventType = "";
    this.data = [];
    if (data.length === 0) return; // a frame without data dispatches nothing
    events.push({
      event: eventType === "" ? DEFAULT_EVENT : eventType,
      data: data.join(LF),
      id: this.lastEventId,
    });
  }
}

/**
 * Parse a whole body at once (chunks in order). Handy for tests and small bodies.
 * @param {Iterable<Uint8Array|string>} chunks
 */
export function parseSse(chunks) {
  const parser = new SseParser();
  const events = [];
  for (const chunk of chunks) events.push(...parser.push(chunk));
  events.push(...parser.end());
  return events;
}
