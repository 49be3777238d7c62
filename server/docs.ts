/**
 * `/docs`: Swagger UI served from the locally installed `swagger-ui-dist`
 * package (no CDN). Only a fixed list of asset names is served; nothing in
 * a request becomes a file path.
 * @module
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

// Resolved, not imported: the package's entry point would load the whole UI
// bundle into the server. Null when the package is not installed (`deno install`).
let dist: string | null | undefined;
function distDir(): string | null {
  if (dist === undefined) {
    try {
      dist = dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));
    } catch {
      dist = null;
    }
  }
  return dist;
}

const ASSETS: Record<string, string> = {
  "swagger-ui.css": "text/css; charset=utf-8",
  "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
  "swagger-ui-standalone-preset.js": "text/javascript; charset=utf-8",
  "favicon-32x32.png": "image/png",
};

const cache = new Map<string, Uint8Array<ArrayBuffer>>();

/**
 * Headers of every `/docs` answer: scripts, styles and images from this
 * server only (no inline script; Swagger UI's own inline styles allowed),
 * no framing by other sites, no content sniffing.
 */
export const DOCS_HEADERS: Record<string, string> = {
  "content-security-policy":
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
};

/** Swagger UI's start-up, served as a file so the page needs no inline script. */
const INIT_JS = `window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  layout: "StandaloneLayout",
  validatorUrl: "none",
});
`;

/** One Swagger UI asset by name, or null when the name is not on the list. */
export async function docsAsset(
  name: string,
): Promise<{ body: Uint8Array<ArrayBuffer>; type: string } | null> {
  if (name === "init.js") {
    return { body: new TextEncoder().encode(INIT_JS), type: "text/javascript; charset=utf-8" };
  }
  const type = Object.hasOwn(ASSETS, name) ? ASSETS[name] : undefined;
  if (!type) return null;
  let body = cache.get(name);
  if (!body) {
    const dir = distDir();
    if (!dir) return null;
    body = await Deno.readFile(join(dir, name));
    cache.set(name, body);
  }
  return { body, type };
}

/** The Swagger UI page, pointed at `/openapi.json`. */
export function docsPage(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>fraudlab scoring API</title>
<link rel="icon" type="image/png" href="/docs/favicon-32x32.png">
<link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/swagger-ui-standalone-preset.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
`;
}
