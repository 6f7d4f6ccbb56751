/** What `npm audit --omit=dev --json` said, judged: only high and critical advisories fail. */
export interface AuditReport {
  metadata?: { vulnerabilities?: Record<string, number> };
  vulnerabilities?: Record<string, { severity: string }>;
  statusCode?: number;
  message?: string;
}

export interface AuditVerdict {
  status: 'passed' | 'failed' | 'skipped';
  summary: string;
}

export function auditVerdict(report: AuditReport | undefined, fallback = 'no report'): AuditVerdict {
  const counts = report?.metadata?.vulnerabilities;
  // Without metadata no audit was made: the advisory service did not answer. Never a pass.
  if (!report || !counts) {
    const why = report ? `${report.statusCode ?? '?'} ${report.message ?? ''}`.trim() : fallback;
    return { status: 'skipped', summary: `dependency audit SKIPPED: the advisory service did not answer (${why})` };
  }
  const serious = Object.entries(report.vulnerabilities ?? {}).filter(([, v]) => v.severity === 'high' || v.severity === 'critical');
  if (serious.length > 0) {
    return {
      status: 'failed',
      summary: `dependency audit FAILED: ${serious.map(([name, v]) => `${name} (${v.severity})`).join(', ')}`,
    };
  }
  const found = Object.entries(counts).filter(([, n]) => n > 0);
  return { status: 'passed', summary: `dependency audit passed: ${found.length ? found.map(([s, n]) => `${n} ${s}`).join(', ') : 'no advisories'}` };
}
