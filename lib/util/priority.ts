/**
 * Thread priority: a worker doing background work (reading ahead, scoring
 * a part while the caller prepares the next) lowers its own priority, so
 * that on a machine with few cores the thread everything waits on runs
 * first and the background threads take the time left.
 * @module
 */
import os from "node:os";

/** The niceness background threads take (0 normal, 19 lowest). */
export const BACKGROUND_NICE = 10;

/**
 * Lowers the calling thread's priority to `nice` (Linux; elsewhere, or
 * when the system refuses, nothing changes).
 *
 * @param nice the niceness, 0 to 19
 * @returns whether the priority was set
 *
 * @example
 * ```ts
 * import { lowerThreadPriority } from "./priority.ts";
 * console.log(typeof lowerThreadPriority(0)); // boolean
 * ```
 */
export function lowerThreadPriority(nice: number = BACKGROUND_NICE): boolean {
  try {
    // /proc/thread-self names this thread: PID/task/TID; setpriority on a TID sets that thread.
    const tid = Number(Deno.readLinkSync("/proc/thread-self").split("/").pop());
    if (!Number.isInteger(tid) || tid <= 0) return false;
    os.setPriority(tid, Math.max(os.getPriority(tid), nice));
    return true;
  } catch {
    return false;
  }
}
