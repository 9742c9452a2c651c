import { AUDIT_TEXT_LIMIT, cutAuditText } from './audit-events.service';

describe('cutAuditText (GitLab cuts entity_path and target_details to 5,500 characters)', () => {
  it('keeps text up to the limit as it is', () => {
    const text = 'a'.repeat(AUDIT_TEXT_LIMIT);
    expect(cutAuditText(text)).toBe(text);
    expect(cutAuditText(null)).toBeNull();
    expect(cutAuditText(undefined)).toBeNull();
  });

  it('counts characters, so an emoji at the boundary is kept whole, not split into U+FFFD', () => {
    const text = 'a'.repeat(AUDIT_TEXT_LIMIT - 1) + '🎉' + 'tail';
    const cut = cutAuditText(text)!;
    expect(Array.from(cut)).toHaveLength(AUDIT_TEXT_LIMIT);
    expect(cut.endsWith('🎉')).toBe(true);
    expect(Buffer.from(cut, 'utf8').toString('utf8')).toBe(cut);
  });
});
