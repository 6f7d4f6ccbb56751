/** Bad input on the command line (unknown option, malformed range, missing flag): exit code 2. */
export class DlqUsageError extends Error {
  override readonly name = 'DlqUsageError';
}
