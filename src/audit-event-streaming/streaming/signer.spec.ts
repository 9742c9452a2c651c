import { Webhook } from 'standardwebhooks';
import { generateSigningSecret } from '../destinations/destination-defaults';
import { signatureHeaders } from './signer';

describe('signatureHeaders', () => {
  const body = JSON.stringify({ id: '42', event_type: 'group_created' });

  it('is verified by the standardwebhooks reference implementation', () => {
    const secret = generateSigningSecret();
    const headers = signatureHeaders('42', body, [secret]);
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
  });

  it('signs with every secret during a rotation, so either verifies', () => {
    const [oldSecret, newSecret] = [generateSigningSecret(), generateSigningSecret()];
    const headers = signatureHeaders('42', body, [newSecret, oldSecret]);
    expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
    expect(new Webhook(newSecret).verify(body, headers)).toEqual(JSON.parse(body));
    expect(new Webhook(oldSecret).verify(body, headers)).toEqual(JSON.parse(body));
  });

  it('fails verification for a tampered body', () => {
    const secret = generateSigningSecret();
    const headers = signatureHeaders('42', body, [secret]);
    expect(() => new Webhook(secret).verify(body.replace('42', '43'), headers)).toThrow();
  });
});
