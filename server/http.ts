/**
 * HTTP for the scoring app: the error every refused request answers with
 * (status, code, field, detail), what validation's {@linkcode InvalidInput}
 * maps to, media types, and request bodies parsed as JSON or as a batch
 * (a JSON array or NDJSON).
 * @module
 */
import { InvalidInput } from "../lib/serving/schema.ts";

/** A request that cannot be answered: HTTP status, machine code, field and detail. */
export class RequestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly field: string | null,
    readonly detail: string,
  ) {
    super(detail);
  }

  /** The JSON body the server answers with. */
  toJSON(): { error: string; field: string | null; detail: string } {
    return { error: this.code, field: this.field, detail: this.detail };
  }
}

/**
 * The answer to invalid input: 400 when the body as a whole is not what the
 * route takes, 422 for a field (or a batch record) that is wrong.
 */
export function requestErrorOf(e: InvalidInput): RequestError {
  const status = e.code === "invalid_body" && e.field === null ? 400 : 422;
  return new RequestError(status, e.code, e.field, e.detail);
}

/** The media type of a Content-Type header, lower-cased, without parameters. */
export function mediaType(header: string | undefined): string {
  if (!header) return "";
  const semi = header.indexOf(";");
  return (semi < 0 ? header : header.slice(0, semi)).trim().toLowerCase();
}

/** Parses a request body as JSON, or a 400 naming the problem. */
export function parseJson(text: string): unknown {
  if (text.length === 0) throw emptyBody();
  try {
    return JSON.parse(text);
  } catch (e) {
    throw invalidJson(e as Error);
  }
}

/** The 400 answer for an empty body where JSON was expected. */
export function emptyBody(): RequestError {
  return new RequestError(400, "invalid_json", null, "the request body is empty");
}

/** The 400 answer for a body that failed to parse as JSON (`e` is the parser's error). */
export function invalidJson(e: Error): RequestError {
  return new RequestError(
    400,
    "invalid_json",
    null,
    `the body is not valid JSON: ${e.message}`,
  );
}

/**
 * Parses a batch body: NDJSON (by Content-Type, or any body not starting
 * with `[` without a JSON type) or a JSON array. Stops reading past
 * `maxRecords` + 1 lines so an oversized batch is refused cheaply; a line
 * that is not JSON is a 400 naming it.
 */
export function parseBatch(
  text: string,
  contentType: string,
  maxRecords: number,
): { ndjson: boolean; values: unknown[] } {
  const ndjson = contentType.includes("ndjson") || contentType.includes("jsonl") ||
    (!contentType.includes("json") && !text.trimStart().startsWith("["));
  let values: unknown[];
  if (ndjson) {
    values = [];
    const lines = text.split("\n");
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i].trim();
      if (!line) continue;
      try {
        values.push(JSON.parse(line));
      } catch (e) {
        throw new RequestError(
          400,
          "invalid_json",
          `line ${i + 1}`,
          `line ${i + 1} is not valid JSON: ${(e as Error).message}`,
        );
      }
      if (values.length > maxRecords) break;
    }
  } else {
    const v = parseJson(text);
    if (!Array.isArray(v)) {
      throw new RequestError(
        400,
        "invalid_body",
        null,
        "a JSON batch must be an array of transactions (or send NDJSON with Content-Type application/x-ndjson)",
      );
    }
    values = v;
  }
  if (values.length === 0) {
    throw new RequestError(400, "invalid_body", null, "the batch is empty");
  }
  return { ndjson, values };
}
