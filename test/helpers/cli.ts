/** Running the `bptt` command in a child process, and the shape of its one-line errors. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

export const BIN = fileURLToPath(new URL("../../../bin/bptt.js", import.meta.url));

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function bptt(args: string[], options: { input?: string; env?: Record<string, string> } = {}): CliResult {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: "utf8",
    ...(options.input !== undefined ? { input: options.input } : {}),
    env: { ...process.env, ...options.env },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Exit code 2 and one line on stderr, "bptt: …", matching `pattern`, without a stack trace. */
export function assertOneLineError(r: CliResult, pattern: RegExp): void {
  assert.equal(r.status, 2, `exit ${r.status}, stderr: ${r.stderr}`);
  assert.match(r.stderr, /^bptt: [^\n]+\n$/, `not one line: ${JSON.stringify(r.stderr)}`);
  assert.match(r.stderr, pattern);
}

/**
 * The error `bptt ARGS` stops with, run in this process (no start-up cost): the message its one line
 * would print. Fails unless it is a user error (shown as one line, exit 2) whose message is one line.
 */
export async function cliError(args: string[], env: Record<string, string> = {}): Promise<string> {
  const { program } = await import("../../src/cli/main.js");
  const { isUserError } = await import("../../src/cli/errors.js");
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    await program().parseAsync(args, { from: "user" });
  } catch (error) {
    assert.ok(isUserError(error), `not a user error: ${(error as Error)?.stack ?? String(error)}`);
    assert.doesNotMatch((error as Error).message, /\n/, "one line");
    return (error as Error).message;
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
  throw new assert.AssertionError({ message: `bptt ${args.join(" ")} did not fail` });
}
