/**
 * The `bptt` command line. Errors a user can fix (bad flags, bad files, bad configurations) are printed
 * as one line ("bptt: …") with exit code 2, never a stack trace; anything else is a bug and keeps its stack.
 */
import { Command, CommanderError, Option } from "commander";
import { setUpBackend } from "./backend.js";
import { runDemo } from "./demo.js";
import { readFileChecked } from "../io/atomic-write.js";
import { UsageError, isUserError, oneLine } from "./errors.js";
import { CONFIG_FILE_LIMIT } from "./limits.js";
import { registerEval } from "./eval.js";
import { registerExperiment } from "./experiment.js";
import { registerExport } from "./export.js";
import { exitQuietlyOnBrokenPipe } from "./inference.js";
import { registerGenerate } from "./generate.js";
import { registerInfo } from "./info.js";
import { registerPredict } from "./predict.js";
import { Progress, type ReportMode } from "./progress.js";
import { applyThreads, parseThreads, threadsOption } from "./threads.js";
import { type SettingKey, type TrainSettings, resolveSettings, trainFlags } from "./settings.js";
import { resumeSettings, runTraining } from "./train.js";

function trainCommand(): Command {
  const command = new Command("train").description("train a model with TBPTT(k1, k2) (with no --data: a built-in demo)");
  const flags = trainFlags();
  for (const { flag, takesValue, help } of flags) command.addOption(new Option(takesValue ? `${flag} <value>` : flag, help));
  command
    .option("--config <file>", "JSON file of settings (keys as the flags or camelCase); flags override it")
    .option("--resume <dir>", "continue the run in this directory from its checkpoint")
    .option("--json", "machine-readable events, one JSON object per line")
    .action(async (options: Record<string, string | boolean | undefined>) => {
      const given = new Map<SettingKey, string | boolean>();
      for (const { key } of flags) {
        const value = options[key]; // commander names a flag's option in camelCase, as the settings' keys
        if (value !== undefined) given.set(key, value);
      }
      const mode: ReportMode = options.json ? "json" : process.stdout.isTTY ? "bar" : "lines";
      const progress = new Progress(mode);
      const resume = typeof options.resume === "string" ? options.resume : null;
      if (resume) {
        if (options.config) throw new UsageError("--resume takes the settings from the run's config.json: drop --config");
        const parsed = resolveSettings(null, null, given);
        const overrides = Object.fromEntries([...given.keys()].map((k) => [k, parsed[k]])) as Partial<TrainSettings>;
        await runTraining({ settings: resumeSettings(resume, overrides), resume, progress });
        return;
      }
      const config = typeof options.config === "string" ? readJsonFile(options.config) : null;
      const settings = resolveSettings(config, typeof options.config === "string" ? options.config : null, given);
      if (settings.data === null) {
        if (given.size > 0 && ![...given.keys()].every((k) => k === "epochs" || k === "seed")) {
          throw new UsageError("no --data: the built-in demo takes only --epochs and --seed (give --data FILE to train on your own data)");
        }
        runDemo({ epochs: given.has("epochs") ? settings.epochs : 8, seed: settings.seed, log: (line) => progress.info(line) });
        return;
      }
      await runTraining({ settings, resume: null, progress });
    });
  return command;
}

/** A --config file: a regular file of at most 1 MiB, UTF-8, JSON. */
export function readJsonFile(path: string): unknown {
  const bytes = readFileChecked(path, "config file", CONFIG_FILE_LIMIT);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new UsageError(`${path}: not valid UTF-8`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${path}: not valid JSON (${oneLine((error as Error).message, 160)})`);
  }
}

export function program(): Command {
  const root = new Command("bptt")
    .description("train recurrent networks (RNN, LSTM, GRU) with exact and truncated backpropagation through time")
    .exitOverride()
    .configureOutput({ writeErr: () => {} });
  root.addCommand(trainCommand());
  registerGenerate(root);
  registerEval(root);
  registerPredict(root);
  for (const command of root.commands) command.addOption(threadsOption());
  // Every command but experiment (whose runs set their own threads, experiment.ts) applies --threads first.
  root.hook("preAction", (_root, action) => applyThreads(parseThreads(action.opts()["threads"])));
  registerExperiment(root);
  registerInfo(root);
  registerExport(root);
  for (const command of root.commands) command.exitOverride().configureOutput({ writeErr: () => {} });
  return root;
}

/** Runs the CLI as a process: one-line errors, exit codes. */
export async function run(argv: string[]): Promise<void> {
  exitQuietlyOnBrokenPipe();
  setUpBackend();
  if (argv.length === 0) {
    process.stderr.write(program().helpInformation());
    process.exitCode = 2;
    return;
  }
  try {
    await program().parseAsync(argv, { from: "user" });
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === "commander.helpDisplayed" || error.code === "commander.version") return;
      if (error.code === "commander.help") {
        process.exitCode = 0;
        return;
      }
      process.stderr.write(`bptt: ${error.message.replace(/^error: /, "").replace(/\s*\n\s*/g, " ").trim()}\n`);
      process.exitCode = 2;
    } else if (isUserError(error)) {
      process.stderr.write(`bptt: ${oneLine(error.message, 2000)}\n`);
      process.exitCode = 2;
    } else {
      throw error;
    }
  }
}
