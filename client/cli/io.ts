/** Where a CLI command writes. Commands take one so tests can capture what a person would see. */
export interface CliIO {
  stdout(text: string): void;
  stderr(text: string): void;
}

export const processIO: CliIO = {
  stdout: (text) => process.stdout.write(text.endsWith('\n') ? text : text + '\n'),
  stderr: (text) => process.stderr.write(text.endsWith('\n') ? text : text + '\n'),
};

/** A CLI command: parses its own arguments and returns the process exit code. */
export type CliCommand = (argv: string[], io: CliIO) => Promise<number>;
