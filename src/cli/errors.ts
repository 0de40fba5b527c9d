/**
 * Errors the command line reports as one line, without a stack trace: bad flags, bad files, bad
 * configurations. Anything else is a bug and keeps its stack.
 */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** Whether an error is the user's to fix (shown as one line) rather than a bug in bptt. */
export function isUserError(error: unknown): error is Error {
  return error instanceof UsageError || error instanceof RangeError || (error instanceof Error && "code" in error && typeof (error as { code: unknown }).code === "string" && String((error as { code: string }).code).startsWith("E"));
}
