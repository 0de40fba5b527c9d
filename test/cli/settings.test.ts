/**
 * The settings table of `bptt train`: flags, config keys, defaults, choices and help all derive from
 * it, and the choices are the library's own constants.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { program } from "../../src/cli/main.js";
import {
  DEFAULT_SETTINGS, FLAG_KEYS, RESUMABLE_SETTINGS, flagOf, resolveSettings, savedSettings, trainFlags,
} from "../../src/cli/settings.js";
import { TOKENIZER_KINDS } from "../../src/data/tokenizer.js";
import { OPTIMIZER_NAMES } from "../../src/optim/index.js";
import { CELL_NAMES } from "../../src/train/model.js";

describe("the settings table", () => {
  it("registers one flag per setting, named after its key, with its default in the help", () => {
    const train = program().commands.find((c) => c.name() === "train")!;
    const registered = new Set(train.options.map((o) => o.long));
    for (const key of Object.keys(DEFAULT_SETTINGS) as Array<keyof typeof DEFAULT_SETTINGS>) {
      assert.ok(registered.has(flagOf(key)), `${flagOf(key)} is registered`);
      assert.equal(FLAG_KEYS.get(flagOf(key).slice(2)), key);
    }
    assert.equal(flagOf("valFraction"), "--val-fraction");
    assert.equal(flagOf("k1"), "--k1");
    const help = new Map(trainFlags().map((f) => [f.key, f.help]));
    assert.match(help.get("hidden")!, /\(default: 128\)$/);
    assert.doesNotMatch(help.get("bidirectional")!, /default/);
  });

  it("takes its choices from the library's constants", () => {
    const help = new Map(trainFlags().map((f) => [f.key, f.help]));
    assert.ok(help.get("cell")!.startsWith(CELL_NAMES.join(" | ")));
    assert.ok(help.get("optimizer")!.startsWith(OPTIMIZER_NAMES.join(" | ")));
    assert.ok(help.get("tokenizer")!.startsWith(TOKENIZER_KINDS.join(" | ")));
    for (const cell of CELL_NAMES) assert.equal(resolveSettings({ cell }, "c.json", new Map()).cell, cell);
    for (const optimizer of OPTIMIZER_NAMES) assert.equal(resolveSettings({ optimizer }, "c.json", new Map()).optimizer, optimizer);
  });

  it("accepts a config key in camelCase or as the flag's name, and no inherited name", () => {
    assert.equal(resolveSettings({ "val-fraction": 0.2 }, "c.json", new Map()).valFraction, 0.2);
    assert.equal(resolveSettings({ valFraction: 0.3 }, "c.json", new Map()).valFraction, 0.3);
    for (const key of ["constructor", "toString", "__proto__", "hasOwnProperty", "valueOf"]) {
      assert.throws(() => resolveSettings(JSON.parse(`{"${key}": 1}`), "c.json", new Map()), new RegExp(`c\\.json: unknown setting "${key}"`));
    }
  });

  it("says which settings a resumed run may change", () => {
    assert.deepEqual([...RESUMABLE_SETTINGS].sort(), ["checkpointEvery", "epochs", "maxUpdates"]);
  });

  it("reads saved settings back with \"inf\" as Infinity where a setting is a number, and nowhere else", () => {
    const saved = savedSettings({ ...DEFAULT_SETTINGS, k1: "inf", k2: 30, data: "inf", out: "inf", note: "inf" });
    assert.equal(saved.k1, Infinity);
    assert.equal(saved.k2, 30);
    assert.deepEqual([saved.data, saved.out, (saved as Record<string, unknown>)["note"]], ["inf", "inf", "inf"]);
  });
});
