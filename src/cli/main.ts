/**
 * The `bptt` command line. Errors a user can fix (bad flags, bad files, bad configurations) are printed
 * as one line ("bptt: …") with exit code 2, never a stack trace; anything else is a bug and keeps its stack.
 */
import { readFileSync } from "node:fs";
import { Command, CommanderError, Option } from "commander";
import { setUpBackend } from "./backend.js";
import { runDemo } from "./demo.js";
import { UsageError, isUserError } from "./errors.js";
import { registerEval } from "./eval.js";
import { registerExperiment } from "./experiment.js";
import { registerExport } from "./export.js";
import { exitQuietlyOnBrokenPipe } from "./inference.js";
import { registerGenerate } from "./generate.js";
import { registerInfo } from "./info.js";
import { registerPredict } from "./predict.js";
import { Progress, type ReportMode } from "./progress.js";
import { applyThreads, parseThreads, threadsOption } from "./threads.js";
import { DEFAULT_SETTINGS, FLAG_KEYS, type TrainSettings, isBooleanSetting, resolveSettings } from "./settings.js";
import { resumeSettings, runTraining } from "./train.js";

const TRAIN_FLAGS: Array<[string, string]> = [
  ["task", "lm | classify | label | regress"],
  ["data", "training data: text (lm), JSONL or CSV (classify), JSONL (label), CSV (regress); none: the built-in demo"],
  ["val", "validation data (default: hold out --val-fraction of --data)"],
  ["val-fraction", "fraction held out for validation when there is no --val"],
  ["cell", "rnn | rnn_relu | lstm | gru"],
  ["hidden", "hidden units per layer"],
  ["layers", "stacked recurrent layers"],
  ["bidirectional", "a second stack reads each sequence backwards (whole sequences only: --mode full)"],
  ["dropout", "dropout between stacked layers"],
  ["embedding", "embedding size for token inputs"],
  ["tokenizer", "char | word (lm, classify)"],
  ["lowercase", "lower-case the text before tokenizing"],
  ["min-count", "drop tokens seen fewer times (they become <unk>)"],
  ["max-vocab", "largest vocabulary, <pad> and <unk> included"],
  ["optimizer", "sgd | adam | adamw | rmsprop | adagrad"],
  ["lr", "learning rate"],
  ["weight-decay", "weight decay (L2 for adam/sgd, decoupled for adamw)"],
  ["momentum", "momentum (sgd, rmsprop)"],
  ["clip", "clip the global gradient norm to this value before each update"],
  ["clip-value", "clip every gradient element to ±this value"],
  ["k1", "steps between updates (an integer or inf)"],
  ["k2", "steps the gradient flows back (an integer or inf; default k1)"],
  ["mode", "full (k1 = k2 = sequence) | online (k1 = 1, k2 = inf) | truncated (k1 = k2 = --k1)"],
  ["loss-every-chunk", "classify: also score the label at the end of every k1-chunk"],
  ["batch", "sequences (lm: parallel strips) per batch"],
  ["epochs", "passes over the training data"],
  ["seed", "random seed: the same seed gives bit-identical training"],
  ["out", "run directory (model.safetensors, config.json, checkpoint.safetensors, metrics.json)"],
  ["init", "start from these weights (safetensors with PyTorch state_dict names)"],
  ["checkpoint-every", "save a checkpoint after this many updates (and after every epoch)"],
  ["diagnostics", "write the gradient norm against the lag (diagnostics.csv, diagnostics.json)"],
  ["bucket", "batch sequences of similar length together (less padding)"],
  ["input-columns", "regress: CSV columns read as inputs (comma-separated)"],
  ["target-columns", "regress: CSV columns to predict (comma-separated)"],
  ["horizon", "regress: predict the targets this many rows ahead"],
  ["window", "regress: steps per training sequence"],
  ["max-updates", "stop after this many updates (0: no limit)"],
];

function trainCommand(): Command {
  const command = new Command("train").description("train a model with TBPTT(k1, k2) (with no --data: a built-in demo)");
  for (const [flag, help] of TRAIN_FLAGS) {
    const key = FLAG_KEYS.get(flag)!;
    const boolean = isBooleanSetting(key);
    const fallback = DEFAULT_SETTINGS[key];
    const shown = fallback === null ? "" : ` (default: ${Array.isArray(fallback) ? fallback.join(",") : String(fallback)})`;
    command.addOption(new Option(boolean ? `--${flag}` : `--${flag} <value>`, `${help}${boolean ? "" : shown}`));
  }
  command
    .option("--config <file>", "JSON file of settings (keys as the flags or camelCase); flags override it")
    .option("--resume <dir>", "continue the run in this directory from its checkpoint")
    .option("--json", "machine-readable events, one JSON object per line")
    .action(async (options: Record<string, string | boolean | undefined>) => {
      const flags = new Map<keyof TrainSettings, string | boolean>();
      for (const [flag] of TRAIN_FLAGS) {
        const value = options[camel(flag)];
        if (value !== undefined) flags.set(FLAG_KEYS.get(flag)!, value);
      }
      const mode: ReportMode = options.json ? "json" : process.stdout.isTTY ? "bar" : "lines";
      const progress = new Progress(mode);
      const resume = typeof options.resume === "string" ? options.resume : null;
      if (resume) {
        if (options.config) throw new UsageError("--resume takes the settings from the run's config.json: drop --config");
        const overrides = Object.fromEntries([...flags].map(([k, v]) => [k, v])) as Partial<TrainSettings>;
        const parsed = resolveSettings(overrides, "flags", new Map());
        const given = Object.fromEntries([...flags.keys()].map((k) => [k, parsed[k]])) as Partial<TrainSettings>;
        await runTraining({ settings: resumeSettings(resume, given), resume, progress });
        return;
      }
      const config = typeof options.config === "string" ? readJsonFile(options.config) : null;
      const settings = resolveSettings(config, typeof options.config === "string" ? options.config : null, flags);
      if (settings.data === null) {
        if (flags.size > 0 && ![...flags.keys()].every((k) => k === "epochs" || k === "seed")) {
          throw new UsageError("no --data: the built-in demo takes only --epochs and --seed (give --data FILE to train on your own data)");
        }
        runDemo({ epochs: flags.has("epochs") ? settings.epochs : 8, seed: settings.seed, log: (line) => progress.info(line) });
        return;
      }
      await runTraining({ settings, resume: null, progress });
    });
  return command;
}

function camel(flag: string): string {
  return flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

function readJsonFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new UsageError(`${path}: cannot read the config file (${(error as NodeJS.ErrnoException).code ?? "error"})`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${path}: not valid JSON (${(error as Error).message})`);
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
      process.stderr.write(`bptt: ${error.message}\n`);
      process.exitCode = 2;
    } else {
      throw error;
    }
  }
}
