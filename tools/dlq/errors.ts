import { PermanentError } from '../../shared/errors.js';

/** Bad input on the command line (unknown option, malformed range, missing flag): exit code 2. */
export class DlqUsageError extends PermanentError {
  override readonly code = 'USAGE';
}
