/**
 * The training CLIs' one command-line layer (pipeline, train, sample, deploy): each CLI declares
 * its flags once, in a table of help text + zod schema; commander parses argv and generates
 * `--help` from that table, zod validates and coerces the values.
 *
 * Exit codes, the same for every training CLI (docs/training.md "Command-line tools"):
 *   0  success, or --help
 *   2  the command line is wrong: an unknown or malformed flag, a missing or invalid value, flags
 *      that conflict with each other or with what the run directory records. One line on
 *      stderr, `<cli>: <message>`, naming the flag.
 *   1  a failure while running (a model that does not load, I/O, the edge refusing, a bug): one
 *      line `<cli>: <message>`, followed by the stack when the error is not a domain error.
 * A domain error (shared/src/errors.ts) whose `field` is a flag (`--name`) counts as a wrong
 * command line, so a stage can reject a flag it can only check once it has read its inputs.
 */
import { realpathSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { BudgetFusionError, ValidationError } from "@budgetfusion/shared/errors";
import { Command, CommanderError, Option } from "commander";
import { z } from "zod";

const EXIT_OK = 0;
const EXIT_FAILURE = 1;
const EXIT_USAGE = 2;
const EXIT_CODES_HELP =
  "Exit status: 0 done, 2 a wrong command line (the message names the flag), 1 a failure.";

interface FlagSpec<S extends z.ZodType = z.ZodType> {
  /** One line of help. The default, when the schema has one, is appended. */
  help: string;
  /** The value's name in the help (`DIR`, `N`); absent for a switch. */
  value?: string;
  schema: S;
}

export type FlagTable = Record<string, FlagSpec>;

/** A flag taking a value (`--name VALUE`), parsed from its string by `schema`. */
export function valueFlag<S extends z.ZodType>(value: string, help: string, schema: S) {
  return { value, help, schema };
}

/** A switch (`--name`), false unless given. */
export function switchFlag(help: string) {
  return { help, schema: z.boolean().default(false) };
}

/** The zod object that validates a table's values, keyed by flag name. */
export function flagsSchema<T extends FlagTable>(table: T) {
  return z.object(
    Object.fromEntries(Object.entries(table).map(([k, f]) => [k, f.schema])) as {
      [K in keyof T]: T[K]["schema"];
    },
  );
}

/** A wrong command line (exit 2); the message names the flag. */
export class UsageError extends Error {}

/** Validates `values` (flag name -> raw value); a UsageError naming the first bad flag. */
function parseFlags<S extends z.ZodType>(schema: S, values: unknown): z.output<S> {
  const parsed = schema.safeParse(values);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const flag = `--${issue.path.join(".")}`;
    throw new UsageError(
      issue.message.startsWith(flag) ? issue.message : `${flag}: ${issue.message}`,
    );
  }
  return parsed.data;
}

function defaultOf(schema: z.ZodType): unknown {
  return schema instanceof z.ZodDefault ? schema.def.defaultValue : undefined;
}

function helpLine(flag: FlagSpec): string {
  const d = defaultOf(flag.schema);
  if (d === undefined || d === false) return flag.help;
  return `${flag.help} (default: ${Array.isArray(d) ? d.join(",") : String(d)})`;
}

export interface CliSpec<T extends FlagTable> {
  /** The command as users type it, e.g. `npm run pipeline --`. */
  usage: string;
  /** The name errors are prefixed with. */
  name: string;
  summary: string;
  flags: T;
  /** Extra help text after the flag list (examples, where the docs are). */
  epilog?: string;
}

/** The validated values of a table's flags. */
export type FlagValues<T extends FlagTable> = z.output<ReturnType<typeof flagsSchema<T>>>;

export interface ParsedCommandLine<T extends FlagTable> {
  args: FlagValues<T>;
  /** The flags given on the command line (presets fill only the others). */
  explicit: ReadonlySet<string>;
}

/** The commander command of a table, for `--help` and parsing. */
function commandOf<T extends FlagTable>(spec: CliSpec<T>): Command {
  const cmd = new Command()
    .name(spec.usage)
    .description(spec.summary)
    .usage("[flags]")
    .helpOption("-h, --help", "show this help and exit")
    .allowExcessArguments(false)
    .exitOverride()
    .configureOutput({ outputError: () => {} })
    .configureHelp({ sortOptions: false });
  for (const [name, flag] of Object.entries(spec.flags)) {
    cmd.addOption(
      new Option(flag.value ? `--${name} <${flag.value}>` : `--${name}`, helpLine(flag)),
    );
  }
  cmd.addHelpText("after", `\n${spec.epilog ? `${spec.epilog}\n` : ""}${EXIT_CODES_HELP}`);
  return cmd;
}

/** The generated help text (what `--help` prints). */
export function helpText<T extends FlagTable>(spec: CliSpec<T>): string {
  let text = "";
  commandOf(spec)
    .configureOutput({ writeOut: (s) => (text += s) })
    .outputHelp();
  return text;
}

/**
 * Parses argv against the table: undefined after printing the help, else the validated values.
 * Throws UsageError for any wrong command line.
 */
export function parseCommandLine<T extends FlagTable>(
  spec: CliSpec<T>,
  argv: readonly string[],
): ParsedCommandLine<T> | undefined {
  const cmd = commandOf(spec);
  try {
    cmd.parse([...argv], { from: "user" });
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.exitCode === 0) return undefined; // --help, already printed
      throw new UsageError(e.message.replace(/^error: /, ""));
    }
    throw e;
  }
  const raw: Record<string, unknown> = {};
  const explicit = new Set<string>();
  for (const option of cmd.options) {
    const name = option.long?.slice(2) ?? "";
    if (!(name in spec.flags) || cmd.getOptionValueSource(option.attributeName()) !== "cli")
      continue;
    // A `--no-x` switch stores false under x; the table knows it as the switch `no-x`.
    raw[name] = option.negate ? true : cmd.getOptionValue(option.attributeName());
    explicit.add(name);
  }
  return { args: parseFlags(flagsSchema(spec.flags), raw), explicit };
}

/** Whether `err` is a wrong command line (exit 2) under the policy of the module header. */
function isUsageError(err: unknown): err is Error {
  return (
    err instanceof UsageError ||
    (err instanceof BudgetFusionError && (err.field?.startsWith("--") ?? false))
  );
}

/** A ValidationError naming `flag`: for checks a CLI makes after parsing. */
export function flagError(flag: string, message: string): ValidationError {
  return new ValidationError(`--${flag}: ${message}`, { field: `--${flag}` });
}

export interface Cli<T extends FlagTable> extends CliSpec<T> {
  main(cli: ParsedCommandLine<T>): Promise<void>;
}

/** Whether the module at `moduleUrl` is the script node was started with (not an import). */
export function isEntryPoint(moduleUrl: string): boolean {
  const script = process.argv[1];
  return script !== undefined && pathToFileURL(realpathSync(script)).href === moduleUrl;
}

/**
 * Runs a CLI: parses process.argv, runs `main`, and exits by the policy of the module header.
 */
export function runCli<T extends FlagTable>(
  spec: Cli<T>,
  argv: readonly string[] = process.argv.slice(2),
): void {
  const fail = (err: unknown) => {
    const message = (err instanceof Error ? err.message : String(err)).replace(/\s*\n\s*/g, " ");
    process.stderr.write(`${spec.name}: ${message}\n`);
    if (isUsageError(err)) return process.exit(EXIT_USAGE);
    if (!(err instanceof BudgetFusionError) && err instanceof Error && err.stack)
      process.stderr.write(`${err.stack}\n`);
    process.exit(EXIT_FAILURE);
  };
  let cli: ParsedCommandLine<T> | undefined;
  try {
    cli = parseCommandLine(spec, argv);
  } catch (err) {
    fail(err);
    return;
  }
  if (cli === undefined) process.exit(EXIT_OK);
  // Success exits when the work is done (nothing left open), failure at once.
  spec.main(cli).then(() => {
    process.exitCode = EXIT_OK;
  }, fail);
}
