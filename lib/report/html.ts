/**
 * Building blocks of fraudlab's static HTML pages: escaping, tables and one
 * self-contained page shell (inline CSS, no scripts, no external assets).
 * @module
 */

/** Escapes text for HTML content and attribute values. */
export function escapeHtml(text: unknown): string {
  return String(text).replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
  );
}

/** A table; cells are escaped unless wrapped by {@linkcode raw}. */
export function htmlTable(header: string[], rows: (string | number | Raw)[][]): string {
  const cell = (v: string | number | Raw, tag: string) =>
    `<${tag}>${v instanceof Raw ? v.html : escapeHtml(v)}</${tag}>`;
  return `<table><thead><tr>${header.map((h) => cell(h, "th")).join("")}</tr></thead><tbody>${
    rows.map((r) => `<tr>${r.map((v) => cell(v, "td")).join("")}</tr>`).join("")
  }</tbody></table>`;
}

/** Trusted HTML that {@linkcode htmlTable} must not escape. */
export class Raw {
  constructor(readonly html: string) {}
}

/** Marks trusted HTML. */
export function raw(html: string): Raw {
  return new Raw(html);
}

/** Formats a number for reports: 4 decimals, thousands separators for counts. */
export function fmt(v: number | null | undefined, digits = 4): string {
  if (v === null || v === undefined || Number.isNaN(v)) return "–";
  if (!Number.isFinite(v)) return v > 0 ? "∞" : "−∞";
  if (Number.isInteger(v) && Math.abs(v) >= 1000) return v.toLocaleString("en-US");
  if (Number.isInteger(v)) return String(v);
  return v.toFixed(digits);
}

const CSS = `
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#1b1b1b}
h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.2em;margin-top:1.8em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.6em 0;font-size:.9em}
td,th{border:1px solid #ddd;padding:.25em .6em;text-align:left}th{background:#f4f4f4}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(480px,1fr));gap:1em}
.figure{border:1px solid #eee;padding:.5em}.figure h3{font-size:1em;margin:.2em 0 .5em}
.muted{color:#666}.big{font-size:1.3em;font-weight:600}
.verdict-ok{color:#17612e}.verdict-bad{color:#a1131b}
code{background:#f4f4f4;padding:0 .2em}`;

/** A complete self-contained HTML page. */
export function page(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)}</title><style>${CSS}</style></head>
<body>
${body}
</body></html>
`;
}

/** A titled figure box. */
export function figure(title: string, svg: string, note = ""): string {
  return `<div class="figure"><h3>${escapeHtml(title)}</h3>${svg}${
    note ? `<p class="muted">${escapeHtml(note)}</p>` : ""
  }</div>`;
}
