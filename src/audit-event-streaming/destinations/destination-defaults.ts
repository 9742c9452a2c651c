import { randomBytes, randomInt, randomUUID } from 'node:crypto';

const BASE58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';

/** GitLab's default verification token: 24 random base58 characters. */
export function generateVerificationToken(): string {
  return Array.from({ length: 24 }, () => BASE58[randomInt(BASE58.length)]).join('');
}

/** GitLab's default destination name. */
export function defaultDestinationName(): string {
  return `Destination_${randomUUID()}`;
}

/** A Standard Webhooks signing secret: `whsec_` + base64 of 32 random bytes. */
export function generateSigningSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}
