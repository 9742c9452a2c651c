import { circuitStateValue } from './delivery-metrics';

describe('circuitStateValue', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');

  it('is 0 (closed) without a next probe time', () => {
    expect(circuitStateValue({ circuitRetryAt: null }, now)).toBe(0);
  });

  it('is 2 (open) while deliveries are held until the next probe', () => {
    expect(circuitStateValue({ circuitRetryAt: new Date(now + 1) }, now)).toBe(2);
  });

  it('is 1 (half-open) once the next probe may go', () => {
    expect(circuitStateValue({ circuitRetryAt: new Date(now) }, now)).toBe(1);
    expect(circuitStateValue({ circuitRetryAt: new Date(now - 1000) }, now)).toBe(1);
  });
});
