/**
 * `npm run deps:audit`: fails on any high or critical advisory in the production dependencies. An
 * advisory service that cannot be asked (unreachable, or refusing the bulk endpoint, as on machines
 * that reach only the registry's package API) is reported as SKIPPED, visibly: never as a pass.
 */
import { spawnSync } from 'node:child_process';
import { auditVerdict, type AuditReport } from './audit-verdict.js';

const run = spawnSync('npm', ['audit', '--omit=dev', '--json'], { encoding: 'utf8' });
let report: AuditReport | undefined;
try {
  report = JSON.parse(run.stdout) as AuditReport;
} catch {
  report = undefined;
}
const verdict = auditVerdict(report, `npm audit exited ${run.status}: ${run.stderr.trim().split('\n').pop() ?? ''}`);
(verdict.status === 'failed' ? console.error : console.log)(verdict.summary);
process.exitCode = verdict.status === 'failed' ? 1 : 0;
