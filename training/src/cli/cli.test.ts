/**
 * The training CLIs' command-line layer (cli.ts) in-process: the generated help lists every
 * flag of every CLI with its help line and default, and a wrong command line is a UsageError
 * naming the flag. The exit codes of the real processes: training-clis.e2e.test.ts.
 */
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { PIPELINE_FLAGS } from "../pipeline/pipeline-options";
import {
  type Cli,
  type FlagTable,
  helpText,
  parseCommandLine,
  switchFlag,
  UsageError,
  valueFlag,
} from "./cli";
import { CONVERT_LSNR_CLI } from "./convert-lsnr";
import { DEPLOY_CLI } from "./deploy";
import { PIPELINE_CLI } from "./pipeline";
import { SAMPLE_CLI } from "./sample";
import { TRAIN_CLI } from "./train";

const CLIS: [string, Cli<FlagTable>][] = [
  ["pipeline", PIPELINE_CLI as Cli<FlagTable>],
  ["train", TRAIN_CLI as Cli<FlagTable>],
  ["sample", SAMPLE_CLI as Cli<FlagTable>],
  ["deploy", DEPLOY_CLI as Cli<FlagTable>],
  ["convert-lsnr", CONVERT_LSNR_CLI as Cli<FlagTable>],
];

/** Help with its wrapped lines joined, so a description can be searched as one string. */
const flatHelp = (cli: Cli<FlagTable>) => helpText(cli).replace(/\s+/g, " ");

describe("generated --help", () => {
  it.each(CLIS)("%s lists every flag with its value name and help line", (_name, cli) => {
    const help = flatHelp(cli);
    expect(help).toContain(`Usage: ${cli.usage} [flags]`);
    for (const [flag, spec] of Object.entries(cli.flags)) {
      expect(help).toContain(spec.value ? `--${flag} <${spec.value}>` : `--${flag} `);
      expect(help).toContain(spec.help);
    }
    expect(help).toContain("Exit status: 0 done, 2 a wrong command line");
  });

  it("shows the defaults the schema applies", () => {
    const help = flatHelp(PIPELINE_CLI as Cli<FlagTable>);
    expect(help).toContain("noise seeds per prompt and step count (default: 4)");
    expect(help).toContain("(default: 25,25,50)");
    expect(flatHelp(TRAIN_CLI as Cli<FlagTable>)).toContain("LSTM hidden size (default: 64)");
  });
});

describe("parseCommandLine", () => {
  const spec = {
    name: "t",
    usage: "t",
    summary: "test",
    flags: {
      count: valueFlag("N", "how many", z.coerce.number().int().positive().default(3)),
      name: valueFlag("NAME", "a name", z.string().optional()),
      fast: switchFlag("go fast"),
      "no-upload": switchFlag("keep it local"),
    },
  };
  const parse = (...argv: string[]) => parseCommandLine(spec, argv);

  it("validates and coerces values, records which flags were given", () => {
    const cli = parse("--count", "7", "--fast", "--no-upload");
    expect(cli?.args).toEqual({ count: 7, name: undefined, fast: true, "no-upload": true });
    expect([...(cli?.explicit ?? [])].sort()).toEqual(["count", "fast", "no-upload"]);
    expect(parse()?.args).toEqual({ count: 3, name: undefined, fast: false, "no-upload": false });
    expect(parse()?.explicit.size).toBe(0);
  });

  it.each([
    [["--bogus"], /unknown option '--bogus'/],
    [["--count", "x"], /^--count: /],
    [["--count", "-1"], /^--count: /],
    [["--count"], /--count <N>' argument missing/],
    [["stray"], /too many arguments/],
  ])("%j is a UsageError naming the flag", (argv, message) => {
    expect(() => parse(...argv)).toThrow(UsageError);
    expect(() => parse(...argv)).toThrow(message);
  });

  it("the pipeline's presets see only the flags given", () => {
    const cli = parseCommandLine(PIPELINE_CLI, ["--smoke", "--fixtures", "/fx", "--seeds", "3"]);
    expect([...(cli?.explicit ?? [])].sort()).toEqual(["fixtures", "seeds", "smoke"]);
    expect(cli?.args.seeds).toBe(3);
    expect(cli?.args.threshold).toBe(PIPELINE_FLAGS.threshold.schema.parse(undefined));
    expect(cli?.args.model).toBeUndefined();
  });
});
