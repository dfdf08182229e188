/**
 * Expected failures carry a stable code and the exit status the CLI should use. Anything else reaching the CLI is a
 * bug in lineprof and is reported as such.
 */
export class LineprofError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Bad input from the user: a missing script, a malformed flag, nothing marked. */
export class UsageError extends LineprofError {
  constructor(message: string, code = 'usage') {
    super(message, code, 2);
  }
}

/** The target could not be started, connected to, or ended before it could be profiled. */
export class TargetError extends LineprofError {
  /** `exitCode`: the script's own status, when its end is what failed (see core/exit-status.ts). */
  constructor(message: string, code = 'target', exitCode = 1) {
    super(message, code, exitCode);
  }
}

/** A saved result that cannot be read or is of another schema. */
export class ResultFileError extends LineprofError {
  constructor(message: string) {
    super(message, 'result-file', 2);
  }
}
