// Errors for users: every bad input names the flag or file, what was expected and what came.

/** An error the CLI prints as one line, without a stack trace. */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UserError";
  }
}

/** Describes a received value with its type, for "expected X, received Y" messages. */
export function describeValue(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (typeof value === "string") return `"${value}" (string)`;
  if (Array.isArray(value)) return `${JSON.stringify(value)} (array)`;
  if (typeof value === "object") return `${JSON.stringify(value)} (object)`;
  return `${String(value)} (${typeof value})`;
}

/** The one builder of bad-input messages: `--seeds: expected ..., received ...`. */
export function badInput(
  name: string,
  expected: string,
  received: unknown,
): UserError {
  const shown =
    typeof received === "string" ? received : describeValue(received);
  return new UserError(`${name}: expected ${expected}, received ${shown}`);
}
