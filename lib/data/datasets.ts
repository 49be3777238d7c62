/**
 * Built-in dataset specs and the `--spec NAME | path.json` lookup every task uses.
 * @module
 */
import { type DatasetSpec, validateSpec } from "./spec.ts";
import { UserError } from "../util/errors.ts";

/** The simulator's schema (see simulate.ts). */
export const TXSIM_SPEC: DatasetSpec = {
  name: "txsim",
  label: "is_fraud",
  id: "tx_id",
  time: "tx_time",
  amount: "amount",
  entities: ["customer_id", "terminal_id"],
  numeric: ["amount", "device_risk", "distance_from_home"],
  categorical: ["channel", "merchant_category"],
  drop: ["fraud_scenario"],
  version: 1,
};

/** The ULB credit card dataset: Time (seconds from the first row), V1..V28 (PCA), Amount, Class. */
export const CREDITCARD_SPEC: DatasetSpec = {
  name: "creditcard",
  label: "Class",
  time: "Time",
  amount: "Amount",
  numeric: [...Array.from({ length: 28 }, (_, i) => `V${i + 1}`), "Amount"],
  categorical: [],
  version: 1,
};

/** Online payment fraud: the original six columns, plus Category and isWeekend where a copy has them. */
export const PAYMENT_FRAUD_SPEC: DatasetSpec = {
  name: "payment_fraud",
  label: "label",
  numeric: ["accountAgeDays", "numItems", "localTime", "paymentMethodAgeDays"],
  categorical: ["paymentMethod"],
  optional: ["Category", "isWeekend"],
  version: 1,
};

/**
 * The Fraud Detection Handbook's file format (its simulated data, or
 * `deno task generate --profile handbook`): the scenario code gives the
 * label away and the time columns repeat TX_DATETIME, so they are dropped.
 */
export const HANDBOOK_SPEC: DatasetSpec = {
  name: "handbook",
  label: "TX_FRAUD",
  id: "TRANSACTION_ID",
  time: "TX_DATETIME",
  amount: "TX_AMOUNT",
  entities: ["CUSTOMER_ID", "TERMINAL_ID"],
  numeric: ["TX_AMOUNT"],
  categorical: [],
  drop: ["TX_FRAUD_SCENARIO", "TX_TIME_SECONDS", "TX_TIME_DAYS"],
  version: 1,
};

/** Built-in specs by name. */
export const BUILTIN_SPECS: Readonly<Record<string, DatasetSpec>> = {
  txsim: TXSIM_SPEC,
  creditcard: CREDITCARD_SPEC,
  payment_fraud: PAYMENT_FRAUD_SPEC,
  handbook: HANDBOOK_SPEC,
};

/**
 * Returns the spec a `--spec` flag names: a built-in name, or a path to a JSON
 * spec file (anything ending in .json or containing a slash).
 *
 * @param nameOrPath `txsim`, `creditcard`, `payment_fraud`, `handbook`, or a spec file
 * @returns the spec as written (resolved against a file when loaded)
 *
 * @example
 * ```ts
 * import { loadSpec } from "./datasets.ts";
 * const spec = await loadSpec("creditcard");
 * console.log(spec.label); // Class
 * ```
 */
export async function loadSpec(nameOrPath: string): Promise<DatasetSpec> {
  const builtin = BUILTIN_SPECS[nameOrPath];
  if (builtin) return structuredClone(builtin);
  if (!nameOrPath.endsWith(".json") && !nameOrPath.includes("/")) {
    throw new UserError(
      `--spec: unknown spec "${nameOrPath}" (built-in: ${Object.keys(BUILTIN_SPECS).join(", ")}; ` +
        `or pass a path to a .json spec)`,
    );
  }
  let text: string;
  try {
    text = await Deno.readTextFile(nameOrPath);
  } catch (e) {
    throw new UserError(`${nameOrPath}: cannot read spec file (${(e as Error).name})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new UserError(`${nameOrPath}: spec is not valid JSON (${(e as Error).message})`);
  }
  return validateSpec(json, nameOrPath);
}
