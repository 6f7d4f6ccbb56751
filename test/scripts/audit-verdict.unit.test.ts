import { describe, expect, it } from 'vitest';
import { auditVerdict } from '../../scripts/audit-verdict.js';

const counts = (high = 0, critical = 0, moderate = 0) => ({ info: 0, low: 0, moderate, high, critical, total: high + critical + moderate });

describe('auditVerdict', () => {
  it('fails on a high or a critical advisory, naming the package', () => {
    const high = auditVerdict({ metadata: { vulnerabilities: counts(1) }, vulnerabilities: { nodemailer: { severity: 'high' } } });
    expect(high).toEqual({ status: 'failed', summary: expect.stringContaining('nodemailer (high)') });
    const critical = auditVerdict({ metadata: { vulnerabilities: counts(0, 1) }, vulnerabilities: { x: { severity: 'critical' } } });
    expect(critical.status).toBe('failed');
  });

  it('passes with only lower advisories, saying how many', () => {
    const verdict = auditVerdict({ metadata: { vulnerabilities: counts(0, 0, 2) }, vulnerabilities: { y: { severity: 'moderate' } } });
    expect(verdict).toEqual({ status: 'passed', summary: 'dependency audit passed: 2 moderate, 2 total' });
  });

  it('reports an advisory service that did not answer as skipped, never as passed', () => {
    const refused = auditVerdict({ statusCode: 405, message: '405 Method Not Allowed' });
    expect(refused.status).toBe('skipped');
    expect(refused.summary).toMatch(/SKIPPED.*405/);
    expect(auditVerdict(undefined, 'npm audit exited 1').summary).toMatch(/SKIPPED.*exited 1/);
  });
});
