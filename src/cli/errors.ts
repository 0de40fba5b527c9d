/**
 * Errors the command line reports as one line, without a stack trace: bad flags, bad files, bad
 * configurations (UsageError, and the library's RangeErrors, which name what was wrong). The JavaScript
 * engine's own RangeErrors ("Invalid array length", "Maximum call stack size exceeded", …) are not the
 * user's to fix: they are bugs, shown with their stack.
 */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

const ENGINE_MESSAGES = new RegExp(`^(${[
  "Invalid (typed )?array( buffer)? length", "Invalid string length", "Array buffer allocation failed",
  "Maximum call stack size exceeded", "Invalid count value", "Invalid code point", "Invalid DataView", "Start offset",
  "Offset is outside", "offset is out of bounds", "toFixed\\(\\)", "toPrecision\\(\\)", "Division by zero", "BigInt",
].join("|")})`);

/** Whether a RangeError was thrown by the engine itself rather than by bptt's checks. */
export function isEngineError(error: unknown): boolean {
  return error instanceof RangeError && ENGINE_MESSAGES.test(error.message);
}

/** Whether an error is the user's to fix (shown as one line) rather than a bug in bptt. */
export function isUserError(error: unknown): error is Error {
  if (error instanceof UsageError) return true;
  if (error instanceof RangeError) return !isEngineError(error);
  const code = error instanceof Error && "code" in error ? (error as { code: unknown }).code : undefined;
  return typeof code === "string" && code.startsWith("E"); // a file-system error (ENOENT, EACCES, …)
}

/** A message on one line: line breaks and other control characters as spaces, at most `max` characters. */
export function oneLine(message: string, max = 300): string {
  const flat = message.replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, " ");
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}
