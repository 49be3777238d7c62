/**
 * A minimal WebAssembly assembler: the instructions fraudlab's hand-built
 * walks use (the Isolation Forest's serving walk, the tree ensembles'
 * batch walk), with LEB128 encoding, sections and a few structured forms.
 * The modules are assembled at run time from these instructions, so the
 * repository holds no binary and needs no toolchain.
 * @module
 */

/** Value types. */
export const I32 = 0x7f, F64 = 0x7c, V128 = 0x7b;
/** Opcodes. */
export const OP = {
  block: 0x02,
  loop: 0x03,
  br: 0x0c,
  brIf: 0x0d,
  brTable: 0x0e,
  end: 0x0b,
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  i32Load: 0x28,
  f32Load: 0x2a,
  f64Load: 0x2b,
  f64Store: 0x39,
  i32Const: 0x41,
  i32Eqz: 0x45,
  i32GeS: 0x4e,
  i32GtS: 0x4a,
  f32Le: 0x5f,
  f32Ge: 0x60,
  i32Add: 0x6a,
  i32Sub: 0x6b,
  i32Mul: 0x6c,
  i32And: 0x71,
  i32Or: 0x72,
  i32Xor: 0x73,
  i32Shl: 0x74,
  i32ShrS: 0x75,
  f64Add: 0xa0,
  f64PromoteF32: 0xbb,
  i32Load8U: 0x2d,
  i32Load16U: 0x2f,
  i32Store: 0x36,
  select: 0x1b,
  if: 0x04,
  else: 0x05,
  i32LtS: 0x48,
  i32Eq: 0x46,
  i32LeU: 0x4d,
  i32ShrU: 0x76,
  f32Lt: 0x5d,
  f32Ne: 0x5c,
  f64Sub: 0xa1,
  f64Mul: 0xa2,
  f64Neg: 0x9a,
} as const;

/** SIMD instructions (the 0xFD prefix, then the opcode's LEB128). */
export const SIMD = {
  v128Load: [0xfd, 0x00],
  v128Store: [0xfd, 0x0b],
  f64x2Splat: [0xfd, 0x14],
  f64x2ReplaceLane: [0xfd, 0x22],
  f64x2Add: [0xfd, 0xf0, 0x01],
  f64x2Sub: [0xfd, 0xf1, 0x01],
  f64x2Mul: [0xfd, 0xf2, 0x01],
  f64x2Div: [0xfd, 0xf3, 0x01],
  /** `b < a ? b : a` (x86's minpd; f64x2.min's NaN and −0 rules cost V8 a long sequence). */
  f64x2Pmin: [0xfd, 0xf6, 0x01],
  /** `a < b ? b : a`. */
  f64x2Pmax: [0xfd, 0xf7, 0x01],
  f64x2Nearest: [0xfd, 0x94, 0x01],
  f64x2Eq: [0xfd, 0x47],
  f64x2ConvertLowI32x4S: [0xfd, 0xfe, 0x01],
  i32x4TruncSatF64x2SZero: [0xfd, 0xfc, 0x01],
  i32x4Splat: [0xfd, 0x11],
  i16x8ExtendLowI8x16S: [0xfd, 0x87, 0x01],
  i32x4ExtendLowI16x8S: [0xfd, 0xa7, 0x01],
  i64x2ExtendLowI32x4S: [0xfd, 0xc7, 0x01],
  i64x2Add: [0xfd, 0xce, 0x01],
  i64x2Shl: [0xfd, 0xcb, 0x01],
  v128Bitselect: [0xfd, 0x52],
  /** Followed by 16 lane indices. */
  i8x16Shuffle: [0xfd, 0x0d],
} as const;

/** `v128.const` of two int64 lanes. */
export function i64x2Const(a: number, b = a): number[] {
  const bytes = new Uint8Array(new BigInt64Array([BigInt(a), BigInt(b)]).buffer);
  return [0xfd, 0x0c, ...bytes];
}

/** `v128.const` of two float64 lanes. */
export function f64x2Const(a: number, b = a): number[] {
  const bytes = new Uint8Array(new Float64Array([a, b]).buffer);
  return [0xfd, 0x0c, ...bytes];
}
/** The empty block type. */
export const EMPTY = 0x40;

/** Unsigned LEB128. */
export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}

/** Signed LEB128. */
export function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

/** A vector: its length, then its items. */
export const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
/** A section: id, byte length, body. */
export const section = (
  id: number,
  body: number[],
): number[] => [id, ...uleb(body.length), ...body];
/** A name (ASCII). */
export const wasmName = (s: string): number[] => vec([...s].map((c) => [c.charCodeAt(0)]));
/** `local.get i`. */
export const get = (i: number): number[] => [OP.localGet, ...uleb(i)];
/** `local.set i`. */
export const set = (i: number): number[] => [OP.localSet, ...uleb(i)];
/** `local.tee i`. */
export const tee = (i: number): number[] => [OP.localTee, ...uleb(i)];
/** `i32.const v`. */
export const i32 = (v: number): number[] => [OP.i32Const, ...sleb(v)];
/** `body` repeated until `exit` (an i32 condition) holds, tested before each pass. */
export const loop = (exit: number[], body: number[]): number[] => [
  OP.block,
  EMPTY,
  OP.loop,
  EMPTY,
  ...exit,
  OP.brIf,
  1,
  ...body,
  OP.br,
  0,
  OP.end,
  OP.end,
];
/** A load or store with its alignment (log2 bytes) and constant offset. */
export const mem = (op: number, align: number, offset: number): number[] => [
  op,
  align,
  ...uleb(offset),
];

/**
 * A module of one function `name` taking `params` i32 parameters, with
 * i32 and f64 locals, importing its memory as `env.mem`.
 *
 * @param fn the function: name, parameter count, locals, body (without the final `end`) and result type (or none)
 * @returns the module's bytes
 */
export function oneFunctionModule(fn: {
  name: string;
  params: number;
  i32Locals: number;
  f64Locals: number;
  /** v128 locals, after the f64 ones. */
  v128Locals?: number;
  body: number[];
  result: number | null;
  /** Import a shared memory of this many 64 KiB pages at most (threads share it). */
  sharedPages?: number;
}): Uint8Array<ArrayBuffer> {
  const v128 = fn.v128Locals ?? 0;
  const locals = [
    ...uleb(v128 ? 3 : 2),
    ...uleb(fn.i32Locals),
    I32,
    ...uleb(fn.f64Locals),
    F64,
    ...(v128 ? [...uleb(v128), V128] : []),
  ];
  const limits = fn.sharedPages === undefined
    ? [0x00, ...uleb(1)]
    : [0x03, ...uleb(1), ...uleb(fn.sharedPages)];
  const body = [...locals, ...fn.body, OP.end];
  const params = Array.from({ length: fn.params }, () => [I32]);
  const results = fn.result === null ? [] : [[fn.result]];
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0],
    ...section(1, vec([[0x60, ...vec(params), ...vec(results)]])),
    ...section(2, vec([[...wasmName("env"), ...wasmName("mem"), 0x02, ...limits]])),
    ...section(3, vec([[0]])),
    ...section(7, vec([[...wasmName(fn.name), 0x00, 0]])),
    ...section(10, vec([[...uleb(body.length), ...body]])),
  ]);
}
