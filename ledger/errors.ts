/** Errors the store raises for caller mistakes and impossible transitions; each has a stable `code`. */

export class LedgerError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'LedgerError';
  }
}

export class ReservationNotFoundError extends LedgerError {
  constructor(readonly reservationId: string) {
    super('reservation_not_found', `no reservation ${JSON.stringify(reservationId)}`);
    this.name = 'ReservationNotFoundError';
  }
}

/** The reservation's state does not allow the operation (e.g. settle after release). */
export class ReservationStateError extends LedgerError {
  constructor(
    readonly reservationId: string,
    readonly state: string,
    operation: string,
    detail = '',
  ) {
    super(
      'reservation_state',
      `cannot ${operation} reservation ${JSON.stringify(reservationId)} in state ${state}${detail ? `: ${detail}` : ''}`,
    );
    this.name = 'ReservationStateError';
  }
}

/** The same reservation id was used again with different parameters: a caller bug, never silently merged. */
export class ReservationMismatchError extends LedgerError {
  constructor(
    readonly reservationId: string,
    detail: string,
  ) {
    super(
      'reservation_mismatch',
      `reservation ${JSON.stringify(reservationId)} already exists with ${detail}`,
    );
    this.name = 'ReservationMismatchError';
  }
}

export class GatewayKeyNotFoundError extends LedgerError {
  constructor(readonly keyId: string) {
    super('gateway_key_not_found', `no gateway key ${JSON.stringify(keyId)}`);
    this.name = 'GatewayKeyNotFoundError';
  }
}
