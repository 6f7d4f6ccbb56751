/** Bad input on the command line (unknown group, malformed range, missing flag): exit code 2. */
export class DlqUsageError extends Error {
  override readonly name = 'DlqUsageError';
}

/**
 * The command understood its input but will not do it as asked (a purge that is not a prefix, a purge
 * without --yes, a DLQ topic that was never provisioned): also exit code 2, nothing was changed.
 */
export class DlqRefusedError extends Error {
  override readonly name = 'DlqRefusedError';
}
