/**
 * The OpenAPI 3.1 document of the scoring API, with the transaction schema
 * of the model being served.
 * @module
 */
import { jsonSchemaOf } from "../lib/serving/schema.ts";
import type { ServedModel } from "../lib/serving/scorer.ts";

const ERROR = { $ref: "#/components/schemas/Error" };

function jsonContent(schema: unknown) {
  return { "application/json": { schema } };
}

function errors(...codes: number[]) {
  const what: Record<number, string> = {
    400: "the body is not valid JSON or not an object, or the connection ended mid-body",
    401: "API key missing or wrong (when the server has keys)",
    403: "the key lacks the route's scope (score, feedback or admin)",
    404: "feedback for a transaction id the prediction log does not hold",
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
            is_fraud: { type: "boolean", description: "score ≥ threshold" },
            threshold: {
              type: "number",
              description: "chosen on validation rows at training time",
            },
            reasons: {
              type: "array",
              maxItems: 3,
              items: { $ref: "#/components/schemas/Reason" },
              description: "the three fields contributing most, largest first",
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
    paths: {
      "/v1/score": {
        post: {
          summary: "Score one transaction",
          security,
          requestBody: {
            required: true,
            content: jsonContent({ $ref: "#/components/schemas/Transaction" }),
          },
          responses: {
            "200": {
              description: "scored",
              content: jsonContent({ $ref: "#/components/schemas/Score" }),
            },
            ...errors(400, 401, 403, 408, 413, 415, 422, 429, 503),
          },
        },
      },
      "/v1/score/batch": {
        post: {
          summary:
            "Score many transactions (JSON array or NDJSON); streamed answer in the same format",
          security,
          requestBody: {
            required: true,
            content: {
              "application/json": {
                schema: { type: "array", items: { $ref: "#/components/schemas/Transaction" } },
              },
              "application/x-ndjson": { schema: { type: "string" } },
            },
          },
          responses: {
            "200": {
              description: "one Score per transaction, in order",
              content: {
                "application/json": {
                  schema: { type: "array", items: { $ref: "#/components/schemas/Score" } },
                },
                "application/x-ndjson": { schema: { type: "string" } },
              },
            },
            ...errors(400, 401, 403, 408, 413, 415, 422, 429, 503),
          },
        },
      },
      "/v1/feedback": {
        post: {
          summary: "Report a late label (chargeback, investigation outcome)",
          security,
          requestBody: {
            required: true,
            content: jsonContent({ $ref: "#/components/schemas/Feedback" }),
          },
          responses: {
            "200": {
              description: "recorded; `known` says whether the transaction was scored here",
            },
            ...errors(400, 401, 403, 404, 408, 413, 415, 422, 429, 503),
          },
        },
      },
      "/v1/model": {
        get: {
          summary: "The served model: metadata, input schema, threshold, metrics",
          responses: { "200": { description: "model card" }, ...errors(401, 403, 503) },
        },
      },
      "/healthz": { get: { summary: "Liveness", responses: { "200": { description: "alive" } } } },
      "/readyz": {
        get: {
          summary: "Readiness (a model is loaded)",
          responses: { "200": { description: "ready" }, ...errors(503) },
        },
      },
      "/metrics": {
        get: {
          summary: "Prometheus metrics",
          responses: { "200": { description: "text exposition format 0.0.4" } },
        },
      },
    },
  };
}
