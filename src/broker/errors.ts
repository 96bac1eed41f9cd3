/** The broker's share of docs/API.md's error table; the API maps each code to its status. */
export type BrokerErrorCode =
  | 'validation_failed'
  | 'not_found'
  | 'forbidden'
  | 'conflict'
  | 'payload_too_large'
  /** A per-user quota (quotas.ts) would be exceeded; nothing was changed. */
  | 'quota_exceeded';

export interface BrokerErrorBody {
  code: BrokerErrorCode;
  message: string;
  details?: unknown;
}

/** Thrown inside the broker and turned into a failed CommandResult by `apply`. */
export class BrokerError extends Error {
  constructor(
    readonly code: BrokerErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'BrokerError';
  }

  toBody(): BrokerErrorBody {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }
}
