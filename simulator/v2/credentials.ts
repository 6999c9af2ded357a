/**
 * The v2 secrets of the simulated panel: the HOP passphrase (shown in the SPAN app) and the broker
 * passwords handed out by POST /api/v2/auth/register. As on the real panel (SPAN README), the broker
 * password currently equals the passphrase; the broker accepts any password it has handed out.
 * Nothing here is ever logged or put in an error message.
 */
import { randomBytes } from 'node:crypto';

export class SimV2Credentials {
  private currentPassphrase: string;
  private readonly brokerPasswords = new Set<string>();

  constructor(passphrase?: string) {
    this.currentPassphrase = passphrase ?? randomPassphrase();
  }

  get passphrase(): string {
    return this.currentPassphrase;
  }

  passphraseMatches(candidate: string): boolean {
    return candidate === this.currentPassphrase;
  }

  /** The broker password for a newly registered client (recorded as valid). */
  issueBrokerPassword(): string {
    const password = this.currentPassphrase;
    this.brokerPasswords.add(password);
    return password;
  }

  isValidBrokerPassword(password: string | undefined): boolean {
    return password !== undefined && this.brokerPasswords.has(password);
  }

  /**
   * Rotates the passphrase (PUT /api/v2/auth/passphrase on a real panel): every broker password handed out
   * so far stops working. Returns the new passphrase.
   */
  rotate(newPassphrase: string = randomPassphrase()): string {
    this.currentPassphrase = newPassphrase;
    this.brokerPasswords.clear();
    return newPassphrase;
  }
}

function randomPassphrase(): string {
  return randomBytes(12).toString('base64url');
}
