// Explains how a child process ended, in words a user can act on.
import os from "node:os";

const SIGNAL_MEANINGS: Record<string, string> = {
  SIGKILL: "killed (out of host memory, or kill -9)",
  SIGTERM: "asked to stop",
  SIGINT: "interrupted",
  SIGSEGV: "crashed (segmentation fault)",
  SIGABRT: "aborted",
  SIGBUS: "crashed (bus error)",
};

/** "exit code 3" or "signal SIGKILL: killed (...)" for an exit code or signal. */
export function describeExit(
  code: number | null,
  signal: string | null,
): string {
  if (signal) {
    return `signal ${signal}: ${SIGNAL_MEANINGS[signal] ?? "terminated"}`;
  }
  if (code !== null && code > 128) {
    const name = Object.entries(os.constants.signals).find(
      ([, number]) => number === code - 128,
    )?.[0];
    if (name) return `exit code ${code} (${describeExit(null, name)})`;
  }
  return `exit code ${code}`;
}

/** The last `lines` non-empty lines of a text, for error messages. */
export function tail(text: string, lines = 8): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}
