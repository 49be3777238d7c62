/**
 * The OpenAPI 3.1 document of the scoring API, with the transaction schema
 * of the model being served.
 * @module
 */
import { jsonSchemaOf } from "../lib/serving/schema.ts";
import type { ServedModel } from "../lib/serving/scorer.ts";
import { openApiPath, type Route, ROUTE_TABLE } from "./routes.ts";

const ERROR = { $ref: "#/components/schemas/Error" };

function jsonContent(schema: unknown) {
  return { "application/json": { schema } };
}

function errors(...codes: number[]) {
  const what: Record<number, string> = {
    400: "the body is not valid JSON or not an object, or the connection ended mid-body",
    401: "API key missing or wrong (when the server has keys)",
    403: "the key lacks the route's scope (score, feedback or admin)",
    404: "a transaction id the prediction log does not hold (feedback), or no such asset",
    408: "the body did not arrive within the body timeout",
    413: "the body (or batch) is too large",
    415: "the body is not declared as application/json (or application/x-ndjson for batches)",
    422:
      "a field is missing, unknown, of the wrong type, not finite, too large for the model, too long, or its time lies outside the window the server accepts",
    429: "over the key's rate; Retry-After says when to try again",
    503:
      "no model loaded yet, the prediction log cannot be written (readiness; scoring under --on-log-failure refuse; a label not written in time), or the server is shutting down",
  };
  return Object.fromEntries(
    codes.map((c) => [String(c), { description: what[c], content: jsonContent(ERROR) }]),
  );
}

/** The OpenAPI document (the transaction schema comes from `model`, when one is loaded). */
export function openApiDocument(model: ServedModel | null): Record<string, unknown> {
  const transaction = model
    ? jsonSchemaOf(model.schema)
    : { type: "object", description: "no model loaded yet" };
  const security = [{ bearer: [] }, { apiKey: [] }];
  return {
    openapi: "3.1.0",
    info: {
      title: "fraudlab scoring API",
      version: "1",
      description: model
        ? `Serving ${model.name} v${model.version} (run ${model.run.id}, ${model.run.config.model}).`
        : "No model loaded yet.",
    },
    components: {
      securitySchemes: {
        bearer: { type: "http", scheme: "bearer" },
        apiKey: { type: "apiKey", in: "header", name: "X-API-Key" },
      },
      schemas: {
        Transaction: transaction,
        Reason: {
          type: "object",
          required: ["feature", "contribution", "value"],
          properties: {
            feature: { type: "string", description: "input field or derived velocity feature" },
            contribution: {
              type: "number",
              description: "its share of the score (model-specific units), to 4 significant digits",
            },
            value: {
              type: ["number", "string", "null"],
              description: "its value for this transaction",
            },
          },
        },
        Score: {
          type: "object",
          required: ["transaction_id", "score", "is_fraud", "threshold", "reasons", "model"],
          properties: {
            transaction_id: {
              type: "string",
              description:
                "the transaction's own id, or a ULID the server generated when it had none",
            },
            score: {
              type: "number",
              description:
                "higher = more suspicious; the model's float32 score at its shortest exact form",
            },
            probability: {
              type: "number",
              minimum: 0,
              maximum: 1,
              description:
                "the calibrated probability of fraud (present when the run was trained with --calibration platt or isotonic)",
            },
            is_fraud: { type: "boolean", description: "score ≥ threshold" },
            threshold: {
              type: "number",
              description: "chosen on validation rows at training time",
            },
            reasons: {
              type: "array",
              maxItems: 3,
              items: { $ref: "#/components/schemas/Reason" },
              description:
                "the three fields contributing most, largest first; empty when reasons_skipped",
            },
            reasons_skipped: {
              type: "boolean",
              const: true,
              description:
                "present when the server runs with --reasons flagged and this pass's reasons were not computed (ask with ?explain=true)",
            },
            model: {
              type: "object",
              properties: {
                name: { type: "string" },
                version: { type: "integer" },
                run_id: { type: "string" },
              },
            },
          },
        },
        Feedback: {
          type: "object",
          additionalProperties: false,
          required: ["transaction_id", "label"],
          properties: {
            transaction_id: { type: ["string", "integer"] },
            label: { type: ["integer", "boolean"], enum: [0, 1, true, false] },
            labeled_at: {
              type: ["string", "number", "null"],
              description: "when the label became known: ISO 8601 or epoch seconds (default: now)",
            },
          },
        },
        Error: {
          type: "object",
          required: ["error", "field", "detail"],
          properties: {
            error: { type: "string", description: "machine-readable code" },
            field: { type: ["string", "null"], description: "the offending field, when one" },
            detail: { type: "string" },
          },
        },
      },
    },
    paths: openApiPaths(security),
  };
}

/** The `paths` object, one operation per entry of the route table. */
function openApiPaths(security: unknown[]): Record<string, Record<string, unknown>> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of ROUTE_TABLE as readonly Route[]) {
    const path = openApiPath(r.path);
    const params: Record<string, unknown>[] = [...r.path.matchAll(/:([A-Za-z_]+)/g)].map((m) => ({
      name: m[1],
      in: "path",
      required: true,
      schema: { type: "string" },
    }));
    for (const q of r.query ?? []) {
      params.push({
        name: q.name,
        in: "query",
        description: q.description,
        schema: { type: "boolean" },
      });
    }
    (paths[path] ??= {})[r.method.toLowerCase()] = {
      summary: r.summary,
      ...(r.access === "open" ? {} : { security }),
      ...(params.length ? { parameters: params } : {}),
      ...(r.request ? { requestBody: { required: true, content: r.request } } : {}),
      responses: { "200": r.ok, ...errors(...r.errors) },
    };
  }
  return paths;
}
